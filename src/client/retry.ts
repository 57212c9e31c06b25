/**
 * The retry policy, pure: which failures are retried and how long to wait. The HTTP layer
 * asks; random numbers, the clock and sleeping are injected so tests are exact.
 *
 * Retries happen only before the first byte of a response body: a stream that has begun is
 * never replayed (the caller may already have shown its text).
 * @module
 */
import { AbortError, SluiceError } from '../errors.js';

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
 * The delay the server asked for, in ms, or undefined: `retry-after-ms` (Azure, OpenAI),
 * else `retry-after` as seconds or an HTTP date.
 * @example
 * serverDelayMs(new Headers({ 'retry-after': '2' }), Date.now) // 2000
 */
export function serverDelayMs(headers: Headers | undefined, now: () => number): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const after = headers.get('retry-after');
  if (after === null || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now());
}

/**
 * How long to wait before retry number `retry` (0 for the first retry): the server's delay if
 * it gave one, else exponential back-off with full jitter (random in [0, min(max, base*2^n)]),
 * which spreads a crowd of clients instead of having them retry in lock-step. Both capped at
 * `maxRetryDelayMs`.
 * @example
 * retryDelayMs(0, undefined, { ...DEFAULT_RETRY_POLICY, random: () => 0.5 }) // 250
 */
export function retryDelayMs(retry: number, headers: Headers | undefined, policy: RetryPolicy): number {
  const requested = serverDelayMs(headers, policy.now);
  const delay =
    requested !== undefined
      ? requested
      : policy.random() * Math.min(policy.maxBackoffMs, policy.baseDelayMs * 2 ** Math.max(0, retry));
  return Math.min(delay, policy.maxRetryDelayMs);
}

/**
 * Waits `ms`, or rejects at once when `signal` aborts (with the signal's reason if it is an
 * Error, else an AbortError): an abort never waits out a back-off.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The error an aborted signal stands for: a SluiceError reason (our own time-outs) as is,
 * anything else wrapped in an AbortError whose `cause` is the caller's reason.
 */
export function abortReason(signal: AbortSignal): SluiceError {
  const reason: unknown = signal.reason;
  if (reason instanceof SluiceError) return reason;
  return new AbortError('The request was aborted', { cause: reason });
}
