/**
 * Client settings: what the caller passes, the defaults (with units and reasons), and how a
 * call becomes a URL plus headers. Pure: no I/O, so every rule here is unit-tested.
 * @module
 */
import { ConfigError } from '../errors.js';
import type { ApiKind } from '../types.js';

/**
 * Time limits, in milliseconds. `0` (or `Infinity`) switches one off.
 *
 * - `headersMs`: per attempt, from sending the request to receiving the response headers.
 *   A headers time-out is retried like a network error (nothing has been received yet).
 * - `firstTokenMs`: from the response headers (for a backend: from the start of the stream)
 *   to the first chunk that carries text, a refusal or a tool-call delta. Azure's
 *   prompt-filter and role chunks do not count.
 * - `idleMs`: the longest silence between two SSE events (a `: heartbeat` comment counts as a
 *   sign of life), or from the headers to the first event. The gap official SDKs leave open.
 * - `totalMs`: the whole call, retries and back-off included.
 */
export interface Timeouts {
  headersMs?: number;
  firstTokenMs?: number;
  idleMs?: number;
  totalMs?: number;
}

/**
 * Whether a time-out value sets a limit: 0, a negative or a non-finite number means none.
 * @example
 * isLimit(120_000) // true
 * isLimit(0)       // false: switched off
 */
export function isLimit(ms: number | undefined): ms is number {
  return ms !== undefined && ms > 0 && Number.isFinite(ms);
}

/**
 * Streaming defaults. Why these numbers:
 * - headers 60 s: Azure answers a streaming request's headers as soon as the prompt passed
 *   its filter (usually well under a second; 429s at once); a minute means something is wrong.
 * - first token: off. Reasoning models can think silently for minutes; `idleMs` already
 *   bounds the silence, so a second default would only add a way to fail.
 * - idle 120 s: longer than any silent phase we expect, shorter than Node's own 300 s body
 *   time-out and the 4-minute idle cut of Azure's load balancers, so a stalled stream ends
 *   with a clear TimeoutError('idle') instead of hanging.
 * - total: off. Long generations are legitimate; set one per call when you have a deadline.
 */
export const DEFAULT_STREAM_TIMEOUTS: Readonly<Required<Timeouts>> = Object.freeze({
  headersMs: 60_000,
  firstTokenMs: 0,
  idleMs: 120_000,
  totalMs: 0,
});

/**
 * Non-streaming (`create()`) defaults: the server sends headers only once the whole
 * completion is ready, so the headers limit is the generation limit: 10 minutes, like the
 * official SDKs. First-token and idle do not apply.
 */
export const DEFAULT_CREATE_TIMEOUTS: Readonly<Required<Timeouts>> = Object.freeze({
  headersMs: 600_000,
  firstTokenMs: 0,
  idleMs: 0,
  totalMs: 0,
});

/** The latest GA api-version for Azure deployment routes. */
export const DEFAULT_API_VERSION = '2024-10-21';
/** Retries after the first attempt (so up to 3 attempts). */
export const DEFAULT_MAX_RETRIES = 2;
/** Cap on any wait, including a server's retry-after: 60 s (as recent official SDKs do). */
export const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;
/**
 * Largest non-streaming answer read, in bytes: 64 MiB. A real completion is a few KiB to a
 * few MiB (even `n: 128` long answers with logprobs stay far below); the cap keeps a broken
 * or hostile server from filling memory. Streams are bounded per event by the SSE decoder.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface ClientOptions {
  /** Azure resource endpoint, e.g. `https://x.openai.azure.com` (deployment or v1 routes). */
  endpoint?: string;
  /** Azure route: `deployments` (default, needs a deployment and api-version) or `v1`. */
  route?: 'deployments' | 'v1';
  /** OpenAI-compatible base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`. */
  baseURL?: string;
  /** Azure: sent as `api-key`; OpenAI-compatible: sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** A fixed bearer token (Entra ID). */
  token?: string;
  /** Called before every attempt (retries included) for a fresh bearer token. */
  tokenProvider?: () => string | Promise<string>;
  /** Azure deployment name (deployment route), or the `model` for v1 / OpenAI-compatible. */
  deployment?: string;
  /** Azure api-version for deployment routes; default `2024-10-21`. */
  apiVersion?: string;
  /** Retries before the first byte; default 2. */
  maxRetries?: number;
  /** Cap on each back-off or server-requested delay, ms; default 60 000. */
  maxRetryDelayMs?: number;
  /**
   * Largest non-streaming (`create()`) answer, in bytes; default 64 MiB. A larger one fails
   * with ResponseTooLargeError (`SLUICE_RESPONSE_TOO_LARGE`) and is never read past the cap.
   */
  maxResponseBytes?: number;
  timeouts?: Timeouts;
  /** Extra request headers (sent to the origin only; see redirects). */
  headers?: Record<string, string>;
  /**
   * A fetch implementation. Default: in Node, node:http over a shared keep-alive pool, unless
   * the global fetch was replaced or given a proxy or mock dispatcher (then the global fetch).
   */
  fetch?: typeof fetch;
  /**
   * Resume a stream from a Sluice gateway when its connection drops mid-answer: default
   * true. The gateway names the stream (`x-sluice-stream-id`); the client asks
   * `/sluice/v1/streams/{id}` for the events after the last one it got, so the answer goes
   * on unbroken. Other servers never send the header, so nothing changes for them.
   */
  resume?: boolean;
}

/** Per-call overrides. */
export interface CallOptions {
  signal?: AbortSignal;
  timeouts?: Timeouts;
  /** Overrides the client's deployment for this call. */
  deployment?: string;
  maxRetries?: number;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
  /**
   * A streamed call whose chunks will be forwarded as SSE (a server relaying an upstream):
   * each chunk's JSON text is kept beside it so the relay writes the upstream's exact bytes.
   * `toSSE()` does this by itself; leave it off otherwise (it costs memory per chunk).
   */
  relay?: boolean;
}

/** Where requests go and how they are authenticated, decided once per client. */
export type Target =
  | { kind: 'azure-deployments'; base: string; apiVersion: string }
  | { kind: 'azure-v1'; base: string }
  | { kind: 'openai'; base: string };

/**
 * Validates the options into a target. Throws ConfigError naming the setting to fix.
 * @example
 * resolveTarget({ endpoint: 'https://x.openai.azure.com/' }).base // 'https://x.openai.azure.com'
 */
export function resolveTarget(options: ClientOptions): Target {
  const { endpoint, baseURL } = options;
  if (endpoint && baseURL) {
    throw new ConfigError(
      'Set either `endpoint` (Azure OpenAI) or `baseURL` (OpenAI-compatible), not both.',
      'endpoint',
    );
  }
  if (baseURL) return { kind: 'openai', base: checkUrl(baseURL, 'baseURL') };
  if (!endpoint) {
    throw new ConfigError(
      'No endpoint: set `endpoint` (Azure OpenAI, e.g. https://x.openai.azure.com) or `baseURL` (OpenAI-compatible, e.g. https://api.openai.com/v1).',
      'endpoint',
    );
  }
  const base = checkUrl(endpoint, 'endpoint');
  const route = options.route ?? 'deployments';
  if (route === 'v1') return { kind: 'azure-v1', base };
  if (route !== 'deployments') {
    throw new ConfigError(`Unknown route ${JSON.stringify(route)}. Expected one of: deployments, v1.`, 'route');
  }
  const apiVersion = options.apiVersion ?? DEFAULT_API_VERSION;
  if (apiVersion.trim() === '') throw new ConfigError('`apiVersion` is empty.', 'apiVersion');
  return { kind: 'azure-deployments', base, apiVersion };
}

function checkUrl(value: string, setting: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`\`${setting}\` is not a URL (expected e.g. https://host/...).`, setting);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`\`${setting}\` must be an http(s) URL, got ${url.protocol}`, setting);
  }
  if (url.search || url.hash) {
    throw new ConfigError(`\`${setting}\` must not have a query or fragment.`, setting);
  }
  // Trailing slashes would double up when the path is appended.
  return url.href.replace(/\/+$/, '');
}

/** What a call addresses: one of the chunk APIs (`ApiKind`), the Responses API or embeddings. */
export type Route = ApiKind | 'responses' | 'embeddings';

const PATHS: Record<Route, string> = {
  chat: 'chat/completions',
  completions: 'completions',
  responses: 'responses',
  embeddings: 'embeddings',
};

/**
 * The request URL and the `model` to put in the body (undefined = leave the body's own).
 * Deployment names are percent-encoded: `a/../../x` must stay one path segment.
 * @example
 * buildUrl({ kind: 'azure-deployments', base: 'https://x.openai.azure.com', apiVersion: '2024-10-21' }, 'chat', 'gpt 4o')
 * // { url: 'https://x.openai.azure.com/openai/deployments/gpt%204o/chat/completions?api-version=2024-10-21' }
 * buildUrl({ kind: 'azure-deployments', base: 'https://x.openai.azure.com', apiVersion: '2024-10-21' }, 'responses', 'gpt-4o')
 * // { url: 'https://x.openai.azure.com/openai/v1/responses', model: 'gpt-4o' }
 */
export function buildUrl(
  target: Target,
  kind: Route,
  deployment: string | undefined,
): { url: string; model: string | undefined } {
  const path = PATHS[kind];
  switch (target.kind) {
    case 'azure-deployments': {
      // Azure serves the Responses API on the v1 route only (`model` = the deployment).
      if (kind === 'responses') return azureV1Url(target.base, path, deployment);
      if (!deployment) {
        throw new ConfigError(
          'No deployment: Azure deployment routes need `deployment` (client or call option) or `model` in the body.',
          'deployment',
        );
      }
      const v = encodeURIComponent(target.apiVersion);
      return {
        url: `${target.base}/openai/deployments/${encodeURIComponent(deployment)}/${path}?api-version=${v}`,
        model: undefined,
      };
    }
    case 'azure-v1':
      return azureV1Url(target.base, path, deployment);
    case 'openai':
      return { url: `${target.base}/${path}`, model: deployment };
  }
}

function azureV1Url(base: string, path: string, deployment: string | undefined): { url: string; model: string } {
  if (!deployment) {
    throw new ConfigError('No deployment: the Azure v1 route needs `deployment` or `model`.', 'deployment');
  }
  return { url: `${base}/openai/v1/${path}`, model: deployment };
}

/** Header names that carry credentials: never sent to another origin. */
export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'api-key',
  'authorization',
  'proxy-authorization',
  'ocp-apim-subscription-key',
  'cookie',
]);

/**
 * The auth header for one attempt. Azure with a key: `api-key`; a token or token provider:
 * `Authorization: Bearer`; OpenAI-compatible with a key: `Authorization: Bearer <key>`.
 * A token (provider) wins over a key on Azure, since Entra ID is the stronger credential.
 */
export async function authHeaders(target: Target, options: ClientOptions): Promise<Record<string, string>> {
  const provider = options.tokenProvider;
  if (!provider) return fixedAuthHeaders(target, options) ?? {};
  const token = await provider();
  if (typeof token !== 'string' || token === '') {
    throw new ConfigError('`tokenProvider` returned no token.', 'tokenProvider');
  }
  return { authorization: `Bearer ${token}` };
}

/**
 * The auth header when it is the same for every attempt (a key, a token, or none), built
 * once per client; undefined when a `tokenProvider` is asked each time (`authHeaders`).
 *
 * @example
 * fixedAuthHeaders(target, { apiKey: 'k' }) // { 'api-key': 'k' } on Azure
 */
export function fixedAuthHeaders(target: Target, options: ClientOptions): Record<string, string> | undefined {
  if (options.tokenProvider) return undefined;
  if (options.token) return { authorization: `Bearer ${options.token}` };
  if (options.apiKey) {
    return target.kind === 'openai' ? { authorization: `Bearer ${options.apiKey}` } : { 'api-key': options.apiKey };
  }
  return {};
}

/**
 * The credential values in a set of headers (those named in SECRET_HEADERS), with the
 * token alone as well for `Bearer` / `Basic` values: what the client scrubs from errors.
 * @example
 * credentialsIn({ authorization: 'Bearer abc123', accept: 'x' }) // ['Bearer abc123', 'abc123']
 */
export function credentialsIn(headers: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADERS.has(name.toLowerCase()) || typeof value !== 'string' || value === '') continue;
    out.push(value);
    const scheme = /^(?:Bearer|Basic)\s+(\S+)$/i.exec(value);
    if (scheme?.[1] !== undefined) out.push(scheme[1]);
  }
  return out;
}

/** Merges timeouts: call overrides client overrides defaults. */
export function mergeTimeouts(
  defaults: Readonly<Required<Timeouts>>,
  client: Timeouts | undefined,
  call: Timeouts | undefined,
): Required<Timeouts> {
  return {
    headersMs: call?.headersMs ?? client?.headersMs ?? defaults.headersMs,
    firstTokenMs: call?.firstTokenMs ?? client?.firstTokenMs ?? defaults.firstTokenMs,
    idleMs: call?.idleMs ?? client?.idleMs ?? defaults.idleMs,
    totalMs: call?.totalMs ?? client?.totalMs ?? defaults.totalMs,
  };
}
