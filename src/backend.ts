/**
 * The one seam. A backend takes a normalized request and an AbortSignal and yields
 * OpenAI-shaped chunks. The HTTP client to Azure/OpenAI is a backend, the local model is a
 * backend; the server exposes any backend over HTTP; the CLI and the web UI consume any.
 * A backend's iterator may also be a `PullIterator` (below): read without a promise per chunk.
 * @module
 */
import type { EmbeddingsRequest, EmbeddingsResponse } from './protocol/embeddings.js';
import type { RequestCapabilities } from './protocol/request.js';
import type { ResponseCreateRequest, ResponseObject, ResponseStreamEvent } from './protocol/responses/types.js';
import type { ApiKind, ApiTypes } from './types.js';

/** A request as a backend sees it: the API kind plus the wire body. */
export interface BackendRequest<K extends ApiKind = ApiKind> {
  kind: K;
  /** The wire body; `stream` is ignored (a backend always streams). */
  body: ApiTypes[K]['request'];
  /** The deployment or model name the caller addressed, if any. */
  deployment?: string;
  /**
   * Filled by a backend that routes (the gateway's router) once it commits to a target,
   * before it yields the first chunk or throws; the server writes it as `x-sluice-target`.
   */
  meta?: BackendMeta;
}

/** What a routing backend reports about a request (ids only: never a key or a URL's secrets). */
export interface BackendMeta {
  /** The id of the target that served the request (or whose error is answered). */
  target?: string;
  /** Upstream attempts made for the request. */
  attempts?: number;
  /** The serving target's time to its response headers, ms (the server's `server-timing: upstream`). */
  headersMs?: number;
}

/** A Responses API request as a backend that speaks it natively (an upstream) sees it. */
export interface ResponsesBackendRequest {
  /** The wire body, as the client sent it; `stream` is ignored (`responses()` always streams). */
  body: ResponseCreateRequest;
  /** The deployment or model name the caller addressed, if any. */
  deployment?: string;
  /** As on BackendRequest: filled by a routing backend. */
  meta?: BackendMeta;
}

/** An embeddings request as a backend sees it: the wire body, as the client sent it. */
export interface EmbeddingsBackendRequest {
  body: EmbeddingsRequest;
  /** The deployment or model name the caller addressed, if any. */
  deployment?: string;
  /** As on BackendRequest: filled by a routing backend. */
  meta?: BackendMeta;
}

export interface ModelInfo {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface Backend {
  /** Short, human-readable: `local:tinyllamas-stories-260k`, `azure:https://x.openai.azure.com`. */
  readonly name: string;
  /**
   * Yields chunks exactly as they would cross the wire (Azure filter chunks included),
   * ending after the last chunk; `[DONE]` is implied by normal completion of the iterator.
   * Errors are thrown as SluiceErrors. Aborting `signal` stops generation promptly and
   * ends the iterator by throwing an AbortError. A chunk parsed from an upstream carries
   * its JSON text on the side (protocol/source-json.ts), which the server relays as it is:
   * whoever changes a yielded chunk in place calls `forgetSourceJson(chunk)` first.
   */
  stream<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): AsyncIterable<ApiTypes[K]['chunk']>;
  /**
   * Optional: the non-streaming call, for backends that can forward a request as asked (an
   * upstream keeps its usage and its error statuses this way). Without it, callers
   * accumulate `stream()`. Errors and aborts as for `stream()`.
   */
  create?<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): Promise<ApiTypes[K]['response']>;
  /**
   * What this backend can honour; fields it cannot (tools on a small local model) are
   * refused with a 400 naming them. Absent: everything, passed on unchanged (an upstream).
   */
  readonly capabilities?: RequestCapabilities;
  /**
   * Optional: the Responses API spoken natively (an upstream): yields its typed events as
   * they came (the terminal one included; a failure after it is not thrown again). Without
   * it, the server builds Responses answers from `stream({ kind: 'chat' })`
   * (protocol/responses/from-chat.ts). Errors and aborts as for `stream()`.
   */
  responses?(request: ResponsesBackendRequest, signal: AbortSignal): AsyncIterable<ResponseStreamEvent>;
  /** Optional, with `responses`: the non-streaming Responses call, forwarded as asked. */
  createResponse?(request: ResponsesBackendRequest, signal: AbortSignal): Promise<ResponseObject>;
  /**
   * Optional: embeddings (`/embeddings`). Answers in the wire shape, with the vectors in the
   * body's `encoding_format` (`float` by default, `base64` as OpenAI encodes it). Without it,
   * the server answers that the deployment serves no embeddings. Errors and aborts as for
   * `stream()`; an input longer than the model reads is a 400 naming `input`.
   */
  embed?(request: EmbeddingsBackendRequest, signal: AbortSignal): Promise<EmbeddingsResponse>;
  /** Models or deployments this backend serves, for `/v1/models`. */
  models?(): Promise<ModelInfo[]>;
  /** Releases sockets, model memory, worker threads. */
  close?(): Promise<void>;
}

/** What `take()` returns when no item is ready without waiting (`PullIterator`, and the client's sources). */
export const NOT_READY: unique symbol = Symbol('not ready');

/**
 * What a backend's iterator may also offer: being pulled without a promise per item, `take()`
 * what is here, `wait()` for news. Optional, part of the seam: a consumer that finds it (the
 * server's relay loop) relays each chunk from the callback that brought it; any other
 * iterator is read with `next()`. The client's streams offer it when their source does (the
 * HTTP sources); the gateway's router passes it on.
 */
export interface PullIterator<Item> extends AsyncIterator<Item, undefined, undefined> {
  /** The next item if it is here now, else `NOT_READY`; throws what `next()` would reject with. */
  take(): Item | typeof NOT_READY;
  /** `wake` is called once when `take()` (or else `next()`) has news. */
  wait(wake: () => void): void;
}

/**
 * An iterator step's item, or undefined at the end. A consumer that may wait long after a step
 * (a relay while its upstream is silent) reads `itemOf(await it.next())` rather than keeping the
 * step in a variable: a suspended async function keeps what its variables last held.
 */
export function itemOf<Item>(step: IteratorResult<Item, unknown>): Item | undefined {
  return step.done ? undefined : step.value;
}

/**
 * An iterator whose first step fails with `error`: a stream that could not even start (its
 * backend threw at once) fails where its caller meets every other failure, at `next()`.
 *
 * @example
 * try { iterator = backend.stream(request, signal)[Symbol.asyncIterator](); }
 * catch (error) { iterator = failedIterator(error); }
 */
export function failedIterator(error: unknown): AsyncIterator<never> {
  return { next: () => Promise.reject(error) };
}

/** True when `iterator` can be pulled with `take()` / `wait()` (see `PullIterator`). */
export function isPullIterator<Item>(iterator: AsyncIterator<Item>): iterator is PullIterator<Item> {
  const it = iterator as Partial<PullIterator<Item>>;
  return typeof it.take === 'function' && typeof it.wait === 'function';
}
