/**
 * The retry policy, pure: which failures are retried and how long to wait. The HTTP layer
 * asks; random numbers, the clock and sleeping are injected so tests are exact.
 *
 * Retries happen only before the first byte of a response body: a stream that has begun is
 * never replayed (the caller may already have shown its text).
 * @module
 */
import { retryAfterMs } from '../protocol/retry-after.js';

export interface RetryPolicy {
  /** Retries after the first attempt. Default 2. */
  maxRetries: number;
  /** Cap on any single wait, server-requested or computed, ms. Default 60 000. */
  maxRetryDelayMs: number;
  /** First back-off step, ms. Default 500: long enough for a 1-second RPM window to roll. */
  baseDelayMs: number;
  /** Largest computed back-off, ms. Default 8 000 (before jitter). */
  maxBackoffMs: number;
  /** Returns [0, 1); Math.random by default. */
  random: () => number;
  /** Wall clock for HTTP-date `retry-after`; Date.now by default. */
  now: () => number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 2,
  maxRetryDelayMs: 60_000,
  baseDelayMs: 500,
  maxBackoffMs: 8_000,
  random: Math.random,
  now: Date.now,
});

/**
 * 408 (request time-out), 409 (conflict, e.g. a lock), 429 (rate limit) and every 5xx are
 * transient. Any other 4xx (400 content_filter, 401, 404 ...) would fail the same way again.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Whether an HTTP answer should be retried. `x-should-retry: true|false` (sent by OpenAI's
 * API) overrides the status rule.
 */
export function shouldRetryResponse(status: number, headers: Headers): boolean {
  const hint = headers.get('x-should-retry');
  if (hint === 'true') return true;
  if (hint === 'false') return false;
  return isRetryableStatus(status);
}

/**
 * How long to wait before retry number `retry` (0 for the first retry): the server's delay if
 * it gave one (`retryAfterMs` from `sluice/protocol` reads it), else exponential back-off
 * with full jitter (random in [0, min(max, base*2^n)]), which spreads a crowd of clients
 * instead of having them retry in lock-step. Both capped at `maxRetryDelayMs`.
 * @example
 * retryDelayMs(0, undefined, { ...DEFAULT_RETRY_POLICY, random: () => 0.5 }) // 250
 */
export function retryDelayMs(retry: number, headers: Headers | undefined, policy: RetryPolicy): number {
  const requested = headers === undefined ? undefined : retryAfterMs(headers, policy.now());
  const delay =
    requested !== undefined
      ? requested
      : policy.random() * Math.min(policy.maxBackoffMs, policy.baseDelayMs * 2 ** Math.max(0, retry));
  return Math.min(delay, policy.maxRetryDelayMs);
}
