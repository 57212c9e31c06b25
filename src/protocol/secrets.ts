/**
 * Keeping credentials out of everything Sluice reports: error messages, error bodies relayed
 * from upstreams, partial results. The one scrubber; the client, the CLI and the server call it.
 * @module
 */
import { SluiceError } from '../errors.js';
import { isUnsafeKey } from './safe-keys.js';

/** What a removed secret is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Known secrets shorter than this are not replaced: a key of one or two characters would
 * shred every message it appears in, and is no secret worth the name anyway.
 */
export const MIN_SECRET_LENGTH = 4;

/**
 * `text` without credentials: first every known secret (the exact values the caller holds:
 * its API key, its bearer token, also in URL-encoded form), then anything that looks like
 * one (`api-key: …`, `key=…`, `Bearer …`, SAS `sig=…`, `sk-…` keys, JSON web tokens). After the
 * everyday words `key:` and `token:`, only a value shaped like a credential goes (six or more
 * characters with a digit, or sixteen or more): prose such as `token: did you mean` stays.
 *
 * The known values are what matter: an upstream, or a proxy in between, that echoes the
 * request back puts the caller's own key into its error body, and patterns alone cannot
 * recognize a bare key. The patterns are a safety net for credentials the caller did not
 * name (an upstream's own, echoed headers or URLs).
 *
 * @example
 * redactSecrets('bad url ?api-key=abc123&x=1'); // -> 'bad url ?api-key=[redacted]&x=1'
 * redactSecrets('echo: 0123456789abcdef', ['0123456789abcdef']); // -> 'echo: [redacted]'
 */
export function redactSecrets(text: string, knownSecrets?: Iterable<string>): string {
  let out = text;
  if (knownSecrets !== undefined) {
    for (const secret of knownSecrets) {
      if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
      out = replaceAll(out, secret);
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret) out = replaceAll(out, encoded);
    }
  }
  return (
    out
      .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`)
      .replace(
        /\b(api[-_]?key|subscription[-_]?key|ocp-apim-subscription-key|access[-_]?token|secret|password|sig|authorization)(["']?\s*[:=]\s*["']?)(?!\[redacted\]|(?:Bearer|Basic)\s)[^\s"'&,;]+/gi,
        `$1$2${REDACTED}`,
      )
      // `key` and `token` are also everyday words: after them, a value in a URL (`=`) goes, and
      // after `:` only one shaped like a credential, so "token: did you mean" stays readable.
      .replace(/\b(key|token)(["']?\s*=\s*["']?)(?!\[redacted\])[^\s"'&,;]+/gi, `$1$2${REDACTED}`)
      .replace(
        /\b(key|token)(["']?\s*:\s*["']?)(?!\[redacted\]|(?:Bearer|Basic)\s)(?=[^\s"'&,;]*\d|[^\s"'&,;]{16})[^\s"'&,;]{6,}/gi,
        `$1$2${REDACTED}`,
      )
      .replace(/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED)
      .replace(/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED)
  );
}

/**
 * A copy of a JSON-like value (an error body, a partial response) with every string passed
 * through `redactSecrets`. Objects and arrays are copied, other values kept; `__proto__`,
 * `constructor` and `prototype` keys are dropped, so the copy cannot carry a prototype
 * change. Depth is bounded (what lies deeper is dropped): the value may come from an upstream.
 *
 * @example
 * redactSecretsDeep({ error: { message: 'key=abc123' } }); // -> { error: { message: 'key=[redacted]' } }
 */
export function redactSecretsDeep<T>(value: T, knownSecrets?: Iterable<string>): T {
  const known = knownSecrets === undefined ? undefined : [...knownSecrets];
  return redactValue(value, known, 0) as T;
}

/**
 * Scrubs an error in place, and returns it: `message` and `stack`, the error body an
 * upstream sent (`body`, content-filter `results`), the `partial` result, and the same for a
 * SluiceError `cause`. The client calls it on every error before the caller sees it, with
 * the credentials it sends, so an upstream that echoes the key cannot hand it on.
 *
 * @example
 * catch (err) { throw isSluiceError(err) ? redactError(err, [apiKey]) : err; }
 */
export function redactError<E extends SluiceError>(error: E, knownSecrets?: Iterable<string>): E {
  const known = knownSecrets === undefined ? undefined : [...knownSecrets];
  let current: SluiceError | undefined = error;
  for (let depth = 0; current !== undefined && depth < MAX_CAUSES; depth++) {
    redactOne(current, known);
    current = current.cause instanceof SluiceError ? current.cause : undefined;
  }
  return error;
}

// --- internal ---------------------------------------------------------------------------

/** Nesting deeper than this is dropped; Azure's bodies and responses are a few levels deep. */
const MAX_DEPTH = 32;

/** Causes followed by `redactError`; ours nest one or two deep. */
const MAX_CAUSES = 8;

function redactOne(error: SluiceError, known: string[] | undefined): void {
  error.message = redactSecrets(error.message, known);
  if (typeof error.stack === 'string') error.stack = redactSecrets(error.stack, known);
  if (error.partial !== undefined) error.partial = redactSecretsDeep(error.partial, known);
  // `body` (ApiError, StreamErrorFrame) and `results` (ContentFilterError) are upstream data.
  const fields = error as unknown as Record<string, unknown>;
  for (const field of UPSTREAM_FIELDS) {
    if (fields[field] !== undefined && fields[field] !== null) fields[field] = redactSecretsDeep(fields[field], known);
  }
}

const UPSTREAM_FIELDS = ['body', 'results'] as const;

function redactValue(value: unknown, known: string[] | undefined, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value, known);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, known, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (isUnsafeKey(key)) continue;
    out[key] = redactValue((value as Record<string, unknown>)[key], known, depth + 1);
  }
  return out;
}

function replaceAll(text: string, secret: string): string {
  return text.includes(secret) ? text.split(secret).join(REDACTED) : text;
}
