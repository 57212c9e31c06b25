/**
 * Client keys: the gateway's own keys (never the upstreams'), stored in the configuration
 * file as hashes, and the lookup that names the caller of a request. A key is a random
 * 32-byte secret (`sk-sluice-` + base64url), so one round of SHA-256 is enough: a slow
 * password hash protects guessable secrets, and nobody can guess 256 random bits from their
 * hash. Every stored hash is compared in constant time, all of them on every lookup, so
 * neither a key's content nor which key matched leaks through timing.
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { keyDigest, presentedKey } from '../util/credentials.js';

/** The prefix of a stored hash: the scheme is named, so another can follow. */
export const KEY_HASH_PREFIX = 'sha256:';

/** What one client key may do. */
export interface KeyLimits {
  /** Requests per minute. */
  rpm?: number;
  /** Tokens per minute (prompt + completion, reserved at the start, settled at the end). */
  tpm?: number;
  /** Requests running at once. */
  concurrent?: number;
  /** Tokens per UTC day or month. */
  budget?: { tokens: number; per: 'day' | 'month' };
}

/** One client key as configured (`keys:` in the gateway file). */
export interface ClientKeyConfig {
  /** Shown in logs, metrics and the ledger; the key itself never is. */
  name: string;
  /** `sha256:<64 hex digits>`, as `sluice keys hash` prints it. */
  keyHash: string;
  /** The model names it may use; undefined = all. */
  models?: string[];
  /** May read the usage ledger (`GET /sluice/v1/usage`). */
  admin: boolean;
  limits: KeyLimits;
  /** Completion tokens reserved when a request sets no `max_tokens`. */
  defaultMaxTokens?: number;
}

/** The caller of one request, once identified. */
export interface ClientKey extends ClientKeyConfig {}

/**
 * The stored form of a key.
 *
 * @example
 * hashKey('sk-sluice-abc') // 'sha256:…64 hex digits…'
 */
export function hashKey(key: string): string {
  return KEY_HASH_PREFIX + keyDigest(key).toString('hex');
}

/** True for a well-formed stored hash. */
export function isKeyHash(value: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(value);
}

/**
 * A new random key, for `sluice keys hash --new`.
 *
 * @example
 * newKey() // 'sk-sluice-3q2…' (43 base64url characters after the prefix)
 */
export function newKey(): string {
  return `sk-sluice-${randomBytes(32).toString('base64url')}`;
}

/**
 * Finds the key a request carries (`api-key` or `Authorization: Bearer`).
 *
 * @example
 * ```ts
 * const table = createKeyTable([{ name: 'team-a', keyHash: hashKey(secret), admin: false, limits: {} }]);
 * table.identify({ 'api-key': secret })?.name; // 'team-a'
 * ```
 */
export function createKeyTable(keys: readonly ClientKeyConfig[]): {
  identify(headers: IncomingHttpHeaders): ClientKey | undefined;
} {
  const entries = keys.map((key) => ({ key, digest: Buffer.from(key.keyHash.slice(KEY_HASH_PREFIX.length), 'hex') }));
  return {
    identify(headers) {
      const presented = presentedKey(headers);
      if (presented === undefined) return undefined;
      const digest = keyDigest(presented);
      let found: ClientKey | undefined;
      // Every entry is compared, whatever matched: no early exit to time.
      for (const entry of entries) {
        if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry.key;
      }
      return found;
    },
  };
}
