/**
 * `sluice`: stream LLM responses from Azure OpenAI, OpenAI, any OpenAI-compatible server or
 * any Backend, with honest end states, time-outs between chunks, abort, metrics and relays.
 *
 * @example
 * import { createClient } from 'sluice';
 * const client = createClient({ endpoint: 'https://x.openai.azure.com', apiKey, deployment: 'gpt-35-turbo-instruct' });
 * for await (const { text } of client.completions.stream({ prompt: 'Once upon a time' }).textDeltas()) {
 *   process.stdout.write(text);
 * }
 * @module
 */

// The client

export type {
  ApiCalls,
  EmbeddingsCalls,
  EmbeddingsCreateBody,
  ResponsesCalls,
  RetryTuning,
  SluiceClient,
  WithMeta,
} from './client/client.js';
export { createClient } from './client/client.js';
export type { StreamMetrics } from './client/metrics.js';
export type { CallOptions, ClientOptions, Timeouts } from './client/options.js';
export {
  DEFAULT_API_VERSION,
  DEFAULT_CREATE_TIMEOUTS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_STREAM_TIMEOUTS,
} from './client/options.js';

// The stream object, over HTTP or any backend

export type { BackendStreamOptions } from './client/backend-source.js';
export { streamFromBackend } from './client/backend-source.js';
export type { ChunkRelayOptions } from './client/chunk-relay.js';
export { ChunkRelay } from './client/chunk-relay.js';
export type { EventStreamOptions, ItemSource, StreamOutcome } from './client/event-stream.js';
export { EventStream } from './client/event-stream.js';
export type { ChunkSource, ResponseMeta, SourceContext, SourceEnd, StreamResult } from './client/response-stream.js';
export { ResponseStream } from './client/response-stream.js';
export type {
  ResponsesResult,
  ResponsesSource,
  ResponsesStreamOptions,
  ResponsesTextDelta,
} from './client/responses-stream.js';
export { ResponsesStream } from './client/responses-stream.js';

// The Backend seam, and upstream servers behind it

export type { Backend, BackendRequest, ModelInfo } from './backend.js';
export type { RemoteBackendOptions } from './backends/remote/index.js';
export { createRemoteBackend } from './backends/remote/index.js';

// Errors: match on `code`

export type {
  ApiErrorDetails,
  ErrorCode,
  LengthLimitReason,
  PartialResult,
  ProtocolErrorType,
  RateLimitInfo,
  SluiceErrorOptions,
  SseDecodeErrorType,
  StreamTruncationReason,
  TimeoutPhase,
  TruncationReason,
} from './errors.js';
export {
  AbortError,
  ApiError,
  AuthenticationError,
  BadRequestError,
  ConfigError,
  ConnectionError,
  ContentFilterError,
  ErrorCodes,
  isSluiceError,
  ModelLoadError,
  NotFoundError,
  OverloadedError,
  ProtocolError,
  RateLimitError,
  ResponseTooLargeError,
  ServerError,
  SluiceError,
  SseDecodeError,
  StreamErrorFrame,
  StreamTruncatedError,
  TimeoutError,
  TRUNCATION_REASON_TEXT,
} from './errors.js';

// Wire types (Azure's fields included) and how a stream ended

export type {
  Embedding,
  EmbeddingsInput,
  EmbeddingsRequest,
  EmbeddingsResponse,
  FloatEmbeddingsResponse,
} from './protocol/embeddings.js';
export type { EndState } from './protocol/end-state.js';
export type * from './protocol/responses/types.js';
export type * from './types.js';
