/**
 * API key check: `api-key: <key>` (Azure) or `Authorization: Bearer <key>` (OpenAI, Azure
 * v1). Compared in constant time over SHA-256 digests, so neither the key's content nor its
 * length leaks through timing.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

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

/**
 * The key a request presents: `api-key` first, else the `Authorization: Bearer` token.
 *
 * @example
 * presentedKey({ authorization: 'Bearer abc' }) // 'abc'
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const key = headers['api-key'];
  if (typeof key === 'string' && key !== '') return key;
  return bearerToken(headers);
}

/**
 * The token of `Authorization: Bearer <token>`, if the request sends one.
 *
 * @example
 * bearerToken({ authorization: 'Bearer s3cret' }); // 's3cret'
 */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    return auth.slice(7).trim();
  }
  return undefined;
}

/**
 * SHA-256 of a presented key: the one digest every key comparison and stored key hash uses
 * (the server's key check, the gateway's key table, a stream's owner).
 *
 * @example
 * keyDigest('s3cret').toString('hex'); // '…64 hex digits…'
 */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
