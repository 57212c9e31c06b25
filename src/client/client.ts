/**
 * `createClient`: streaming and non-streaming calls to Azure OpenAI (deployment and v1
 * routes), OpenAI and OpenAI-compatible servers.
 * @module
 */
import { abortError, linkSignals } from '../abort.js';
import {
  AbortError,
  ConnectionError,
  isSluiceError,
  ProtocolError,
  type SluiceError,
  TimeoutError,
} from '../errors.js';
import {
  checkEmbeddingsResponse,
  decodeEmbedding,
  type EmbeddingsRequest,
  type EmbeddingsResponse,
  embeddingInputs,
  type FloatEmbeddingsResponse,
} from '../protocol/embeddings.js';
import { errorFromResponse } from '../protocol/errors.js';
import { excerpt } from '../protocol/excerpt.js';
import { checkResponseObject } from '../protocol/responses/events.js';
import type { ResponseCreateRequest, ResponseObject } from '../protocol/responses/types.js';
import { redactError } from '../protocol/secrets.js';
import { checkResponse, shapeLimitsFor } from '../protocol/shape.js';
import type { ApiKind, ApiTypes, ChatCompletionRequest, CompletionRequest } from '../types.js';
import { ChunkRelay } from './chunk-relay.js';
import { type HttpPlan, readBodyWithin, type Sent, send } from './http.js';
import { defaultFetch } from './http-fetch.js';
import { httpSource, metaOf, type Resumer, sseSource } from './http-source.js';
import {
  authHeaders,
  buildUrl,
  type CallOptions,
  type ClientOptions,
  credentialsIn,
  DEFAULT_CREATE_TIMEOUTS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_STREAM_TIMEOUTS,
  fixedAuthHeaders,
  isLimit,
  mergeTimeouts,
  type Route,
  resolveTarget,
  type Target,
  type Timeouts,
} from './options.js';
import { type ResponseMeta, ResponseStream } from './response-stream.js';
import { ResponsesStream, responsesItems } from './responses-stream.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';

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

/** Calls to the Responses API: `POST {baseURL}/responses`, on Azure `POST {endpoint}/openai/v1/responses`. */
export interface ResponsesCalls {
  /**
   * Starts a streaming call at once (`stream: true` is set for you) and returns its stream of
   * typed events. On Azure, `model` is the deployment (the client's `deployment` by default).
   * @example
   * const stream = client.responses.stream({ input: 'Say hi', max_output_tokens: 50 });
   * for await (const { text } of stream.textDeltas()) process.stdout.write(text);
   */
  stream(body: ResponseCreateRequest, options?: CallOptions): ResponsesStream;
  /**
   * A non-streaming call (`stream: false`), with the same retries and errors. Its end state:
   * `endStateOfResponseObject` (`sluice/protocol`); its text: `outputText`.
   */
  create(body: ResponseCreateRequest, options?: CallOptions): Promise<WithMeta<ResponseObject>>;
}

/** The options of `embeddings.create`: the wire body, with `input` required and `model` optional. */
export type EmbeddingsCreateBody = EmbeddingsRequest;

/** Calls to the Embeddings API: Azure `…/deployments/{d}/embeddings` or `…/v1/embeddings`, OpenAI `{baseURL}/embeddings`. */
export interface EmbeddingsCalls {
  /**
   * Embeds `input` (a string, strings, or token arrays). Without `encoding_format` the vectors
   * travel as base64 (a quarter of the JSON) and come back as numbers; `encoding_format:
   * 'base64'` returns the base64 strings as sent, `'float'` asks for numbers on the wire.
   * Same retries, time-outs, size cap and errors as `chat.create`.
   * @example
   * const { data } = await client.embeddings.create({ input: ['a cat', 'a dog'] });
   * data[1].embedding; // number[]
   */
  create(
    body: EmbeddingsCreateBody & { encoding_format?: 'float' },
    options?: CallOptions,
  ): Promise<WithMeta<FloatEmbeddingsResponse>>;
  create(body: EmbeddingsCreateBody, options?: CallOptions): Promise<WithMeta<EmbeddingsResponse>>;
}

export interface SluiceClient {
  readonly chat: ApiCalls<'chat'>;
  readonly completions: ApiCalls<'completions'>;
  readonly responses: ResponsesCalls;
  readonly embeddings: EmbeddingsCalls;
  /** Either kind by name (what backends use). */
  stream<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], options?: CallOptions): ResponseStream<K>;
  create<K extends ApiKind>(
    kind: K,
    body: ApiTypes[K]['request'],
    options?: CallOptions,
  ): Promise<WithMeta<ApiTypes[K]['response']>>;
  /**
   * Either kind, streamed to be forwarded (a server or gateway relaying this upstream): the
   * chunks as they came, each with its JSON text kept, and failures thrown as typed errors;
   * no `final()` or metrics (see `ChunkRelay`). Starts at once, like `stream`.
   * @example
   * const relay = client.relay('chat', { messages }, { signal });
   * for await (const chunk of relay) res.write(chunkFrame(chunk)); // the upstream's own JSON text
   */
  relay<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], options?: CallOptions): ChunkRelay<K>;
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
  const fetchImpl = options.fetch ?? defaultFetch();
  if (typeof fetchImpl !== 'function') throw new TypeError('No fetch: pass `fetch` in the options (Node 20 has one).');
  const basePolicy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
    ...(options.retry?.baseDelayMs !== undefined ? { baseDelayMs: options.retry.baseDelayMs } : {}),
    ...(options.retry?.maxBackoffMs !== undefined ? { maxBackoffMs: options.retry.maxBackoffMs } : {}),
    ...(options.retry?.random !== undefined ? { random: options.retry.random } : {}),
  };
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  // Every credential this client sends: scrubbed from every error before the caller sees it
  // (an upstream or a proxy that echoes the request must not hand the key on).
  const secrets = new Set<string>();
  const remember = (headers: Record<string, string> | undefined) => {
    for (const value of credentialsIn(headers)) secrets.add(value);
  };
  for (const value of [options.apiKey, options.token]) if (value) secrets.add(value);
  remember(options.headers);
  // A key or a fixed token: the same headers every attempt, with no promise to wait on.
  const fixedAuth = fixedAuthHeaders(target, options);
  if (fixedAuth !== undefined) remember(fixedAuth);
  const auth =
    fixedAuth !== undefined
      ? () => fixedAuth
      : async () => {
          const headers = await authHeaders(target, options);
          remember(headers);
          return headers;
        };

  function plan(kind: Route, body: { model?: unknown }, call: CallOptions, streaming: boolean): HttpPlan {
    const bodyModel = typeof body.model === 'string' && body.model !== '' ? body.model : undefined;
    // Azure: the configured deployment names the route; OpenAI-compatible: the body's model wins.
    const deployment =
      target.kind === 'openai'
        ? (call.deployment ?? bodyModel ?? options.deployment)
        : (call.deployment ?? options.deployment ?? bodyModel);
    const { url, model } = buildUrl(target, kind, deployment);
    remember(call.headers);
    // Embeddings have no `stream` field (OpenAI refuses unknown arguments there).
    const wire: Record<string, unknown> = kind === 'embeddings' ? { ...body } : { ...body, stream: streaming };
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

  /** Starts sending `p` when the stream's source asks (with the stream's signal). */
  function sender(p: HttpPlan, call: CallOptions, timeouts: Required<Timeouts>) {
    const policy = policyFor(call);
    return (signal: AbortSignal) => send(p, { fetch: fetchImpl, signal, headersMs: timeouts.headersMs, policy });
  }

  /** Reopens a dropped stream at the Sluice gateway that named it (ClientOptions.resume). */
  function resumer(p: HttpPlan, call: CallOptions, timeouts: Required<Timeouts>): Resumer {
    const policy = policyFor(call);
    // What a resumption needs of `p`, not `p`: the stream keeps this function as long as it is
    // open, and `p.body` is the whole request serialized (a long conversation: many KB).
    const { headers: sentHeaders, auth } = p;
    const headersMs = timeouts.headersMs;
    return ({ url, streamId, lastEventId }, signal) => {
      const { 'content-type': _type, ...headers } = sentHeaders;
      const again: HttpPlan = {
        method: 'GET',
        url: new URL(`/sluice/v1/streams/${encodeURIComponent(streamId)}`, url).href,
        body: '',
        headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastEventId },
        auth,
      };
      return send(again, { fetch: fetchImpl, signal, headersMs, policy });
    };
  }

  /** A streamed call's source (sent at once) and limits: one for `stream` and `relay`. */
  function chunkCall<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], call: CallOptions) {
    const timeouts = mergeTimeouts(DEFAULT_STREAM_TIMEOUTS, options.timeouts, call.timeouts);
    const p = plan(kind, body, call, true);
    const source = httpSource<K>(
      sender(p, call, timeouts),
      options.resume === false ? undefined : resumer(p, call, timeouts),
    );
    return { source, timeouts, limits: shapeLimitsFor(kind, body) };
  }

  function stream<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], call: CallOptions = {}): ResponseStream<K> {
    const { source, timeouts, limits } = chunkCall(kind, body, call);
    return new ResponseStream(kind, source, { signal: call.signal, timeouts, limits, secrets, relay: call.relay });
  }

  function relay<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], call: CallOptions = {}): ChunkRelay<K> {
    const { source, timeouts, limits } = chunkCall(kind, body, call);
    return new ChunkRelay(kind, source, { signal: call.signal, timeouts, limits, secrets });
  }

  function streamResponses(body: ResponseCreateRequest, call: CallOptions = {}): ResponsesStream {
    const timeouts = mergeTimeouts(DEFAULT_STREAM_TIMEOUTS, options.timeouts, call.timeouts);
    const source = sseSource(sender(plan('responses', body, call, true), call, timeouts), responsesItems);
    return new ResponsesStream(source, { signal: call.signal, timeouts, secrets, relay: call.relay });
  }

  /** A non-streaming call: the answer read within the size cap, then `parse`d. */
  async function fetchWhole<R extends object>(
    kind: Route,
    body: { model?: unknown },
    call: CallOptions,
    parse: (sent: Sent, text: string) => R,
  ): Promise<WithMeta<R>> {
    const p = plan(kind, body, call, false);
    const timeouts = mergeTimeouts(DEFAULT_CREATE_TIMEOUTS, options.timeouts, call.timeouts);
    const deadline = new AbortController();
    const link = call.signal ? linkSignals(call.signal, deadline.signal) : undefined;
    const signal = link?.signal ?? deadline.signal;
    const total = timeouts.totalMs;
    const timer = isLimit(total)
      ? setTimeout(() => deadline.abort(new TimeoutError('total', total)), total)
      : undefined;
    let sent: Sent | undefined;
    try {
      sent = await send(p, { fetch: fetchImpl, signal, headersMs: timeouts.headersMs, policy: policyFor(call) });
      const text = await readBodyWithin(sent.response, maxResponseBytes);
      sent.settled();
      return withMeta(parse(sent, text), metaOf(sent));
    } catch (err) {
      sent?.settled();
      throw redactError(callError(err, signal), secrets);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      link?.dispose();
    }
  }

  function create<K extends ApiKind>(
    kind: K,
    body: ApiTypes[K]['request'],
    call: CallOptions = {},
  ): Promise<WithMeta<ApiTypes[K]['response']>> {
    const limits = shapeLimitsFor(kind, body);
    return fetchWhole(kind, body, call, (sent, text) => {
      const parsed = parseJsonAnswer(sent, text, 'choices');
      return checkResponse(parsed as ApiTypes[K]['response'], limits);
    });
  }

  function createResponse(body: ResponseCreateRequest, call: CallOptions = {}): Promise<WithMeta<ResponseObject>> {
    return fetchWhole('responses', body, call, (sent, text) =>
      checkResponseObject(parseJsonAnswer(sent, text, 'output') as ResponseObject),
    );
  }

  function createEmbeddings(body: EmbeddingsRequest, call: CallOptions = {}): Promise<WithMeta<EmbeddingsResponse>> {
    // Numbers asked (or nothing said): base64 on the wire, numbers for the caller.
    const decode = body.encoding_format !== 'base64';
    const wire: EmbeddingsRequest = { ...body, encoding_format: 'base64' };
    if (body.encoding_format === 'float') wire.encoding_format = 'float';
    const inputs = Array.isArray(body.input) ? Math.max(1, embeddingInputs(body.input).length) : 1;
    return fetchWhole('embeddings', wire, call, (sent, text) => {
      const answer = checkEmbeddingsResponse(parseJsonAnswer(sent, text, 'data'), inputs);
      if (decode) {
        for (const item of answer.data) {
          if (typeof item.embedding === 'string') item.embedding = decodeEmbedding(item.embedding);
        }
      }
      return answer;
    });
  }

  return {
    target,
    stream,
    relay,
    create,
    embeddings: { create: createEmbeddings } as EmbeddingsCalls,
    chat: {
      stream: (body: ChatCompletionRequest, o?: CallOptions) => stream('chat', body, o),
      create: (body: ChatCompletionRequest, o?: CallOptions) => create('chat', body, o),
    },
    completions: {
      stream: (body: CompletionRequest, o?: CallOptions) => stream('completions', body, o),
      create: (body: CompletionRequest, o?: CallOptions) => create('completions', body, o),
    },
    responses: { stream: streamResponses, create: createResponse },
  };
}

/** What a failed `create()` throws: the abort reason once aborted, any other error as a SluiceError. */
function callError(err: unknown, signal: AbortSignal): SluiceError {
  if (signal.aborted) return abortError(signal);
  if (isSluiceError(err)) return err;
  if (err instanceof Error && err.name === 'AbortError')
    return new AbortError('The request was aborted', { cause: err });
  // The body failed mid-read (connection reset): the answer never arrived whole.
  const message = err instanceof Error ? err.message : String(err);
  return new ConnectionError(`The answer could not be read: ${message}`, { cause: err });
}

/**
 * A 2xx non-streaming body -> its JSON object, which must have the array `field` (`choices`,
 * `output` for Responses, `data` for embeddings), or a ProtocolError saying what came instead.
 */
function parseJsonAnswer(sent: Sent, text: string, field: 'choices' | 'output' | 'data'): unknown {
  const { response } = sent;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    const type = response.headers.get('content-type') ?? 'no content-type';
    throw new ProtocolError('invalid-json', `Expected a JSON response, got ${type}: ${excerpt(text)}`, { cause });
  }
  const record = parsed as Record<string, unknown> | null;
  if (record === null || typeof record !== 'object' || !Array.isArray(record[field])) {
    if (record && typeof record === 'object' && record.error !== undefined && record.error !== null) {
      const cause = errorFromResponse(response.status, response.headers, text);
      throw new ProtocolError('unexpected-shape', `HTTP ${response.status} carried an error: ${cause.message}`, {
        cause,
      });
    }
    throw new ProtocolError('unexpected-shape', `The response has no ${field}: ${excerpt(text)}`);
  }
  return parsed;
}

function withMeta<T extends object>(value: T, meta: ResponseMeta): WithMeta<T> {
  Object.defineProperty(value, 'meta', { value: meta, enumerable: false });
  return value as WithMeta<T>;
}
