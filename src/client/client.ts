/**
 * `createClient`: streaming and non-streaming calls to Azure OpenAI (deployment and v1
 * routes), OpenAI and OpenAI-compatible servers.
 * @module
 */
import { AbortError, ProtocolError, TimeoutError } from '../errors.js';
import { errorFromResponse } from '../protocol/errors.js';
import { excerpt } from '../protocol/excerpt.js';
import type { ApiKind, ApiTypes, ChatCompletionRequest, CompletionRequest } from '../types.js';
import { type HttpPlan, type Sent, send } from './http.js';
import { httpSource, metaOf } from './http-source.js';
import {
  authHeaders,
  buildUrl,
  type CallOptions,
  type ClientOptions,
  DEFAULT_CREATE_TIMEOUTS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_STREAM_TIMEOUTS,
  mergeTimeouts,
  resolveTarget,
  type Target,
} from './options.js';
import { type ResponseMeta, ResponseStream } from './response-stream.js';
import { abortReason, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';

/** A non-streaming response with the answer's metadata (non-enumerable: JSON stays the wire shape). */
export type WithMeta<T> = T & { readonly meta: ResponseMeta };

/** Calls for one API kind. */
export interface ApiCalls<K extends ApiKind> {
  /**
   * Starts a streaming call at once (`stream: true` is set for you) and returns its stream.
   * Throws ConfigError synchronously when the call cannot be addressed (no deployment).
   */
  stream(body: ApiTypes[K]['request'], options?: CallOptions): ResponseStream<K>;
  /** A non-streaming call (`stream: false`), with the same retries and errors. */
  create(body: ApiTypes[K]['request'], options?: CallOptions): Promise<WithMeta<ApiTypes[K]['response']>>;
}

export interface SluiceClient {
  readonly chat: ApiCalls<'chat'>;
  readonly completions: ApiCalls<'completions'>;
  /** Either kind by name (what backends use). */
  stream<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], options?: CallOptions): ResponseStream<K>;
  create<K extends ApiKind>(
    kind: K,
    body: ApiTypes[K]['request'],
    options?: CallOptions,
  ): Promise<WithMeta<ApiTypes[K]['response']>>;
  /** Where requests go: `azure-deployments`, `azure-v1` or `openai`, and the base URL. */
  readonly target: Readonly<Target>;
}

/** Advanced: the back-off steps (mainly for tests). */
export interface RetryTuning {
  /** First back-off step, ms (default 500). */
  baseDelayMs?: number;
  /** Largest computed back-off, ms (default 8 000). */
  maxBackoffMs?: number;
  /** [0, 1) source for jitter (default Math.random). */
  random?: () => number;
}

const USER_AGENT = 'sluice';

/**
 * Creates a client. Throws ConfigError when neither `endpoint` nor `baseURL` is set (or both).
 *
 * @example
 * // The Azure tutorial, streamed: Completions on a deployment, each text printed as it arrives.
 * import { createClient } from 'sluice';
 * const client = createClient({
 *   endpoint: process.env.AZURE_OPENAI_ENDPOINT,
 *   apiKey: process.env.AZURE_OPENAI_API_KEY,
 *   deployment: 'gpt-35-turbo-instruct',
 * });
 * const stream = client.completions.stream({ prompt: 'Once upon a time', max_tokens: 100 });
 * for await (const { text } of stream.textDeltas()) process.stdout.write(text);
 * console.log('\n', (await stream.final()).end);
 */
export function createClient(options: ClientOptions & { retry?: RetryTuning }): SluiceClient {
  const target = resolveTarget(options);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('No fetch: pass `fetch` in the options (Node 20 has one).');
  const basePolicy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
    ...(options.retry?.baseDelayMs !== undefined ? { baseDelayMs: options.retry.baseDelayMs } : {}),
    ...(options.retry?.maxBackoffMs !== undefined ? { maxBackoffMs: options.retry.maxBackoffMs } : {}),
    ...(options.retry?.random !== undefined ? { random: options.retry.random } : {}),
  };
  const auth = () => authHeaders(target, options);

  function plan(kind: ApiKind, body: ApiTypes[ApiKind]['request'], call: CallOptions, streaming: boolean): HttpPlan {
    const bodyModel = typeof body.model === 'string' && body.model !== '' ? body.model : undefined;
    // Azure: the configured deployment names the route; OpenAI-compatible: the body's model wins.
    const deployment =
      target.kind === 'openai'
        ? (call.deployment ?? bodyModel ?? options.deployment)
        : (call.deployment ?? options.deployment ?? bodyModel);
    const { url, model } = buildUrl(target, kind, deployment);
    const wire: Record<string, unknown> = { ...body, stream: streaming };
    if (model !== undefined) wire.model = model;
    if (!streaming) delete wire.stream_options;
    return {
      url,
      body: JSON.stringify(wire),
      headers: {
        'content-type': 'application/json',
        accept: streaming ? 'text/event-stream' : 'application/json',
        'user-agent': USER_AGENT,
        ...options.headers,
        ...call.headers,
      },
      auth,
    };
  }

  function policyFor(call: CallOptions): RetryPolicy {
    return call.maxRetries === undefined ? basePolicy : { ...basePolicy, maxRetries: call.maxRetries };
  }

  function stream<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], call: CallOptions = {}): ResponseStream<K> {
    const p = plan(kind, body, call, true);
    const timeouts = mergeTimeouts(DEFAULT_STREAM_TIMEOUTS, options.timeouts, call.timeouts);
    const policy = policyFor(call);
    const source = httpSource<K>((signal) =>
      send(p, { fetch: fetchImpl, signal, headersMs: timeouts.headersMs, policy }),
    );
    return new ResponseStream(kind, source, { signal: call.signal, timeouts });
  }

  async function create<K extends ApiKind>(
    kind: K,
    body: ApiTypes[K]['request'],
    call: CallOptions = {},
  ): Promise<WithMeta<ApiTypes[K]['response']>> {
    const p = plan(kind, body, call, false);
    const timeouts = mergeTimeouts(DEFAULT_CREATE_TIMEOUTS, options.timeouts, call.timeouts);
    const controller = new AbortController();
    const callerSignal = call.signal;
    const onAbort = () => controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) onAbort();
    else callerSignal?.addEventListener('abort', onAbort, { once: true });
    const total = timeouts.totalMs;
    const timer =
      total > 0 && Number.isFinite(total)
        ? setTimeout(() => controller.abort(new TimeoutError('total', total)), total)
        : undefined;
    let sent: Sent | undefined;
    try {
      sent = await send(p, {
        fetch: fetchImpl,
        signal: controller.signal,
        headersMs: timeouts.headersMs,
        policy: policyFor(call),
      });
      const text = await sent.response.text();
      sent.settled();
      return withMeta(parseResponse<K>(sent, text), metaOf(sent));
    } catch (err) {
      sent?.settled();
      if (controller.signal.aborted) throw abortReason(controller.signal);
      if (err instanceof Error && err.name === 'AbortError' && !(err instanceof AbortError)) {
        throw new AbortError('The request was aborted', { cause: err });
      }
      throw err;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    target,
    stream,
    create,
    chat: {
      stream: (body: ChatCompletionRequest, o?: CallOptions) => stream('chat', body, o),
      create: (body: ChatCompletionRequest, o?: CallOptions) => create('chat', body, o),
    },
    completions: {
      stream: (body: CompletionRequest, o?: CallOptions) => stream('completions', body, o),
      create: (body: CompletionRequest, o?: CallOptions) => create('completions', body, o),
    },
  };
}

/** A 2xx non-streaming body -> the response, or a ProtocolError saying what came instead. */
function parseResponse<K extends ApiKind>(sent: Sent, text: string): ApiTypes[K]['response'] {
  const { response } = sent;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    const type = response.headers.get('content-type') ?? 'no content-type';
    throw new ProtocolError('invalid-json', `Expected a JSON response, got ${type}: ${excerpt(text)}`, { cause });
  }
  const record = parsed as Record<string, unknown> | null;
  if (record === null || typeof record !== 'object' || !Array.isArray(record.choices)) {
    if (record && typeof record === 'object' && record.error !== undefined && record.error !== null) {
      const cause = errorFromResponse(response.status, response.headers, text);
      throw new ProtocolError('unexpected-shape', `HTTP ${response.status} carried an error: ${cause.message}`, {
        cause,
      });
    }
    throw new ProtocolError('unexpected-shape', `The response has no choices: ${excerpt(text)}`);
  }
  return parsed as ApiTypes[K]['response'];
}

function withMeta<T extends object>(value: T, meta: ResponseMeta): WithMeta<T> {
  Object.defineProperty(value, 'meta', { value: meta, enumerable: false });
  return value as WithMeta<T>;
}
