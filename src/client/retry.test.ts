import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortError, TimeoutError } from '../errors.js';
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  type RetryPolicy,
  retryDelayMs,
  serverDelayMs,
  shouldRetryResponse,
  sleep,
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

describe('server-requested delays', () => {
  const now = () => Date.parse('2026-01-01T00:00:00Z');
  test('retry-after-ms wins over retry-after', () => {
    assert.equal(serverDelayMs(new Headers({ 'retry-after-ms': '1234.5', 'retry-after': '9' }), now), 1234.5);
  });
  test('retry-after in seconds', () => {
    assert.equal(serverDelayMs(new Headers({ 'retry-after': '3' }), now), 3000);
  });
  test('retry-after as an HTTP date, relative to the injected clock', () => {
    assert.equal(serverDelayMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now), 5000);
    assert.equal(serverDelayMs(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }), now), 0);
  });
  test('garbage and negative values are ignored', () => {
    assert.equal(serverDelayMs(new Headers({ 'retry-after-ms': 'soon', 'retry-after': 'later' }), now), undefined);
    assert.equal(serverDelayMs(new Headers({ 'retry-after': '-4' }), now), undefined);
    assert.equal(serverDelayMs(undefined, now), undefined);
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

describe('sleep', () => {
  test('resolves after the delay', async () => {
    const t = performance.now();
    await sleep(20);
    assert.ok(performance.now() - t >= 15);
  });
  test('an abort cancels a pending back-off at once, with an AbortError', async () => {
    const ac = new AbortController();
    const t = performance.now();
    const p = sleep(60_000, ac.signal);
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(p, AbortError);
    assert.ok(performance.now() - t < 5_000, 'did not wait out the back-off');
  });
  test('a SluiceError reason (our own time-out) is passed through; an already-aborted signal rejects', async () => {
    const ac = new AbortController();
    const timeout = new TimeoutError('total', 10);
    ac.abort(timeout);
    await assert.rejects(sleep(1000, ac.signal), (e) => e === timeout);
    const ac2 = new AbortController();
    ac2.abort('because');
    await assert.rejects(sleep(1000, ac2.signal), (e: unknown) => e instanceof AbortError && e.cause === 'because');
  });
});
