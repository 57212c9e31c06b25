/**
 * The credential a request presents (`api-key`, else `Authorization: Bearer`) and the one
 * SHA-256 digest every comparison and stored hash of it uses: the server's key check, the
 * gateway's key table and a resumable stream's owner all read a key the same way.
 * @module
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

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
