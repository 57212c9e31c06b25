import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  type RetryPolicy,
  retryDelayMs,
  shouldRetryResponse,
} from './retry.js';

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({ ...DEFAULT_RETRY_POLICY, ...over });

describe('which answers are retried', () => {
  test('408, 409, 429 and every 5xx are retried', () => {
    for (const s of [408, 409, 429, 500, 502, 503, 504, 599]) assert.equal(isRetryableStatus(s), true, String(s));
  });
  test('other 4xx (400 content_filter, 401, 403, 404, 422) are not', () => {
    for (const s of [400, 401, 403, 404, 413, 422]) assert.equal(isRetryableStatus(s), false, String(s));
  });
  test('x-should-retry overrides the status rule both ways', () => {
    assert.equal(shouldRetryResponse(400, new Headers({ 'x-should-retry': 'true' })), true);
    assert.equal(shouldRetryResponse(503, new Headers({ 'x-should-retry': 'false' })), false);
    assert.equal(shouldRetryResponse(503, new Headers()), true);
  });
});

describe('retryDelayMs', () => {
  test('full jitter: random in [0, min(max, base * 2^retry)]', () => {
    const p = policy({ random: () => 1 - Number.EPSILON });
    const ceilings = [0, 1, 2, 3, 4, 5, 6].map((r) => Math.round(retryDelayMs(r, undefined, p)));
    assert.deepEqual(ceilings, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(retryDelayMs(3, undefined, policy({ random: () => 0.25 })), 1000);
    assert.equal(retryDelayMs(3, undefined, policy({ random: () => 0 })), 0);
  });
  test('a server delay is used as is, capped at maxRetryDelayMs', () => {
    assert.equal(retryDelayMs(0, new Headers({ 'retry-after-ms': '20' }), policy({ random: () => 0.9 })), 20);
    assert.equal(retryDelayMs(0, new Headers({ 'retry-after': '3600' }), policy()), 60_000);
    assert.equal(retryDelayMs(0, new Headers({ 'retry-after': '30' }), policy({ maxRetryDelayMs: 1000 })), 1000);
  });
  test('the computed back-off is capped too', () => {
    assert.equal(retryDelayMs(9, undefined, policy({ random: () => 0.999, maxRetryDelayMs: 100 })), 100);
  });
});
