import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retryAfterMs } from './retry-after.js';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('retryAfterMs', () => {
  test('retry-after-ms wins over retry-after, fractions kept', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '1234.5', 'retry-after': '9' }), now), 1234.5);
  });
  test('retry-after in seconds', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '3' }), now), 3000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '0.5' }), now), 500);
  });
  test('retry-after as an HTTP date, relative to the given clock; a past date is 0', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now), 5000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }), now), 0);
  });
  test('garbage, empty and negative values count as not said', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': 'soon', 'retry-after': 'later' }), now), undefined);
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '', 'retry-after': ' ' }), now), undefined);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '-4' }), now), undefined);
    assert.equal(retryAfterMs(new Headers(), now), undefined);
  });
  test('a bad retry-after-ms falls back to retry-after', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '-1', 'retry-after': '2' }), now), 2000);
  });
  test('the message sentence is read only when given, and only when the headers say nothing', () => {
    const message = 'Requests ... have exceeded token rate limit. Please retry after 7 seconds.';
    assert.equal(retryAfterMs(new Headers(), now), undefined);
    assert.equal(retryAfterMs(new Headers(), now, message), 7000);
    assert.equal(retryAfterMs(new Headers(), now, 'Please retry after 1 second.'), 1000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' }), now, message), 2000);
    assert.equal(retryAfterMs(new Headers(), now, 'no hint here'), undefined);
  });
  test('any { get(name) } works, not only Headers', () => {
    const plain = { get: (name: string) => (name === 'retry-after-ms' ? '250' : null) };
    assert.equal(retryAfterMs(plain, now), 250);
  });
});
