/**
 * How long a server asked us to wait before retrying: the one parser of `retry-after-ms`
 * and `retry-after`, for the client's back-off, the errors' rate-limit info and the web page.
 * @module
 */

/** Anything headers can be read from: `Headers`, or a plain lookup. */
export interface HeaderLookup {
  get(name: string): string | null;
}

/** Matches Azure's "Please retry after 12 seconds." in a 429 message. */
const RETRY_SENTENCE = /\bretry after (\d+(?:\.\d+)?) seconds?\b/i;

/**
 * The wait the server asked for, in ms, or undefined when it did not say:
 * 1. `retry-after-ms` (Azure, OpenAI): milliseconds, fractions allowed;
 * 2. else `retry-after` as seconds (`"2"`, `"0.5"`);
 * 3. else `retry-after` as an HTTP date, relative to `now` (a date in the past means 0);
 * 4. else, only when `message` is given, the "retry after N seconds" sentence Azure writes
 *    into its 429 messages (for callers that only have the body, such as a relayed error).
 * Negative or unreadable values count as not said, so the caller's own back-off applies.
 *
 * @example
 * retryAfterMs(new Headers({ 'retry-after-ms': '1500', 'retry-after': '2' })); // 1500
 * retryAfterMs(new Headers({ 'retry-after': '2' })); // 2000
 * retryAfterMs(new Headers(), Date.now(), 'Please retry after 3 seconds.'); // 3000
 */
export function retryAfterMs(headers: HeaderLookup, now: number = Date.now(), message?: string): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const after = headers.get('retry-after');
  if (after !== null && after.trim() !== '') {
    const seconds = Number(after);
    if (Number.isFinite(seconds)) {
      if (seconds >= 0) return seconds * 1000;
    } else {
      const date = Date.parse(after);
      if (!Number.isNaN(date)) return Math.max(0, date - now);
    }
  }
  const match = message === undefined ? null : RETRY_SENTENCE.exec(message);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1000;
}
