/**
 * Sending one request: attempts with retries before the first byte, a headers time-out per
 * attempt, manual redirects that never carry credentials to another origin, and error
 * answers turned into typed errors. Everything after the headers of a 2xx answer belongs
 * to the caller.
 * @module
 */
import { abortError, followSignal, sleep, untilAborted } from '../abort.js';
import { ConfigError, ConnectionError, ResponseTooLargeError, SluiceError, TimeoutError } from '../errors.js';
import { errorFromResponse } from '../protocol/errors.js';
import { isLimit, SECRET_HEADERS } from './options.js';
import { type RetryPolicy, retryDelayMs, shouldRetryResponse } from './retry.js';

/** Redirect hops followed per attempt; a real API needs one at most. */
export const MAX_REDIRECTS = 5;
/** Bytes of an error body read for its message; Azure's are a few hundred. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** One HTTP call, ready to send (and re-send). */
export interface HttpPlan {
  url: string;
  /** The JSON body, serialized once. */
  body: string;
  /** Headers without credentials. */
  headers: Record<string, string>;
  /** Credentials for one attempt (a token provider is called each time; a key is returned as it is). */
  auth: () => Record<string, string> | Promise<Record<string, string>>;
  /** Default POST (with `body`); GET sends no body (a stream resumed from a Sluice gateway). */
  method?: 'GET' | 'POST';
}

export interface SendOptions {
  fetch: typeof fetch;
  /** Cancels everything: attempts, back-off, redirects. */
  signal: AbortSignal;
  /** Per attempt, until the headers (and, for error answers, their body); 0 = none. */
  headersMs: number;
  policy: RetryPolicy;
}

/** A 2xx answer whose body is still unread. */
export interface Sent {
  response: Response;
  /** 1 + retries. */
  attempts: number;
  /** The URL that answered (after redirects). */
  url: string;
  /**
   * Stops the per-attempt headers timer. Streams call it once the headers are in; `create()`
   * calls it after reading the body, so the limit covers the whole non-streaming answer.
   */
  settled(): void;
}

/**
 * Sends `plan`, retrying network failures, headers time-outs, 408/409/429/5xx (or what
 * `x-should-retry` says) up to `policy.maxRetries` times with the policy's delays. Resolves
 * with the first 2xx answer; rejects with ConnectionError, TimeoutError('headers'), the
 * ApiError subclass of the last error answer, or the abort reason.
 */
export async function send(plan: HttpPlan, o: SendOptions): Promise<Sent> {
  const { signal, policy } = o;
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw abortError(signal);
    const pending = credentials(plan);
    const auth = pending instanceof Promise ? await untilAborted(pending, signal) : pending;
    // An attempt has a signal of its own only when its headers are timed: untimed (a gateway's
    // router times its attempts itself), the caller's signal is the attempt's.
    let attemptSignal = signal;
    let unlink = NOTHING;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (isLimit(o.headersMs)) {
      const attemptController = new AbortController();
      unlink = followSignal(attemptController, signal);
      attemptSignal = attemptController.signal;
      timer = setTimeout(() => attemptController.abort(new TimeoutError('headers', o.headersMs)), o.headersMs);
    }
    const settled = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };

    let failure: SluiceError;
    let retryHeaders: Headers | undefined;
    let retryable: boolean;
    try {
      // (Object.assign, not a spread: see the headers in server/generation.ts.)
      const { response, url } = await fetchFollowing(
        plan,
        Object.assign({}, plan.headers, auth),
        attemptSignal,
        o.fetch,
      );
      if (response.ok) {
        // The body stream still listens to the attempt signal, so the caller's abort keeps working.
        return { response, attempts: attempt + 1, url, settled };
      }
      const text = await readCapped(response, MAX_ERROR_BODY_BYTES);
      settled();
      unlink();
      failure = errorFromResponse(response.status, response.headers, text);
      retryable = shouldRetryResponse(response.status, response.headers);
      retryHeaders = response.headers;
    } catch (err) {
      settled();
      unlink();
      if (signal.aborted) throw abortError(signal);
      const attemptReason: unknown = attemptSignal.reason;
      if (attemptSignal.aborted && attemptReason instanceof TimeoutError) failure = attemptReason;
      else if (err instanceof SluiceError) failure = err;
      else failure = connectionError(err, plan.url);
      retryable = !NOT_RETRIED.has(failure);
    }
    if (!retryable || attempt >= policy.maxRetries) throw failure;
    await sleep(retryDelayMs(attempt, retryHeaders, policy), signal);
  }
}

const NOTHING = (): void => {};

/** Failures that retrying cannot fix (bad redirects). */
const NOT_RETRIED = new WeakSet<object>();

function redirectError(message: string): ConnectionError {
  const err = new ConnectionError(message);
  NOT_RETRIED.add(err);
  return err;
}

/** The attempt's credentials; a failing token provider is a ConfigError (not retried). */
function credentials(plan: HttpPlan): Record<string, string> | Promise<Record<string, string>> {
  try {
    const got = plan.auth();
    return got instanceof Promise ? got.catch(providerFailed) : got;
  } catch (err) {
    return providerFailed(err);
  }
}

function providerFailed(err: unknown): never {
  if (err instanceof SluiceError) throw err;
  const message = err instanceof Error ? err.message : String(err);
  throw new ConfigError(`\`tokenProvider\` failed: ${message}`, 'tokenProvider', { cause: err });
}

/**
 * One attempt: POST, following redirects by hand. Same-origin hops keep every header; from
 * the first hop to another origin on, credentials (and cookies) are dropped for good, so a
 * key is never sent to a redirect target.
 */
async function fetchFollowing(
  plan: HttpPlan,
  headers: Record<string, string>,
  signal: AbortSignal,
  fetchImpl: typeof fetch,
): Promise<{ response: Response; url: string }> {
  let url = plan.url;
  // Parsed at the first redirect only: most answers are not one.
  let origin: string | undefined;
  let current = headers;
  for (let hop = 0; ; hop++) {
    const response = await fetchImpl(url, {
      method: plan.method ?? 'POST',
      headers: current,
      ...(plan.method === 'GET' ? {} : { body: plan.body }),
      signal,
      redirect: 'manual',
    });
    if (!REDIRECTS.has(response.status)) return { response, url };
    const location = response.headers.get('location');
    if (location === null) return { response, url };
    await discard(response);
    origin ??= new URL(plan.url).origin;
    if (hop >= MAX_REDIRECTS) {
      throw redirectError(`Too many redirects: more than ${MAX_REDIRECTS} hops from ${origin}; giving up`);
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw redirectError(`Redirect to an invalid location from ${origin}`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw redirectError(`Redirect to a non-HTTP location (${next.protocol}) from ${origin}`);
    }
    if (next.origin !== origin && current === headers) current = withoutSecrets(headers);
    url = next.href;
  }
}

/** The headers minus anything that carries a credential. */
export function withoutSecrets(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADERS.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

/** A failed fetch as a ConnectionError naming the origin and the system error code. */
function connectionError(err: unknown, url: string): ConnectionError {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const detail =
    code ?? (typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : 'unknown error');
  return new ConnectionError(`Could not reach ${new URL(url).origin}: ${detail}`, { cause: err });
}

/** Reads at most `max` bytes of a body as text, then lets the rest go. */
export async function readCapped(response: Response, max: number): Promise<string> {
  const body = response.body;
  if (!body) return '';
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.byteLength;
    }
  } finally {
    if (size >= max) reader.cancel().catch(() => {});
    else reader.releaseLock();
  }
  const all = new Uint8Array(Math.min(size, max));
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p.byteLength, all.byteLength - at);
    all.set(p.subarray(0, take), at);
    at += take;
  }
  return new TextDecoder().decode(all);
}

/**
 * Reads a whole body as text, but never more than `maxBytes`: a larger body (declared by
 * `content-length` or found while reading) throws ResponseTooLargeError and is cancelled,
 * so memory stays within the cap. Decodes as it reads, holding no second copy in bytes.
 */
export async function readBodyWithin(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body?.cancel().catch(() => {});
    throw new ResponseTooLargeError(maxBytes);
  }
  const body = response.body;
  if (!body) return '';
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw new ResponseTooLargeError(maxBytes);
      parts.push(decoder.decode(value, { stream: true }));
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  }
  parts.push(decoder.decode());
  return parts.join('');
}

/** Drops a body we do not need (a redirect's), so the connection can be reused. */
async function discard(response: Response): Promise<void> {
  try {
    await readCapped(response, MAX_ERROR_BODY_BYTES);
  } catch {
    // nothing to keep
  }
}
