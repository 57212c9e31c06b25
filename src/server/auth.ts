/**
 * API key check: `api-key: <key>` (Azure) or `Authorization: Bearer <key>` (OpenAI, Azure
 * v1). Compared in constant time over SHA-256 digests, so neither the key's content nor its
 * length leaks through timing.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken, keyDigest } from '../util/credentials.js';

/**
 * Returns a checker for `apiKey`, or undefined when no key is configured (auth off).
 *
 * @example
 * ```ts
 * const allowed = createKeyCheck('s3cret');
 * allowed?.(req.headers); // true when either header carries the key
 * ```
 */
export function createKeyCheck(apiKey: string | undefined): ((headers: IncomingHttpHeaders) => boolean) | undefined {
  if (apiKey === undefined || apiKey === '') return undefined;
  const expected = keyDigest(apiKey);
  const matches = (candidate: string) => timingSafeEqual(keyDigest(candidate), expected);
  return (headers) => {
    const key = headers['api-key'];
    if (typeof key === 'string' && matches(key)) return true;
    const token = bearerToken(headers);
    return token !== undefined && matches(token);
  };
}
