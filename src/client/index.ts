/**
 * The Sluice client: stream (and call) Azure OpenAI, OpenAI and OpenAI-compatible servers,
 * or any Backend, through one ResponseStream with honest end states, time-outs, metrics,
 * abort and relays.
 * @module
 */

export type { BackendStreamOptions } from './backend-source.js';
export { streamFromBackend } from './backend-source.js';
export type { ApiCalls, RetryTuning, SluiceClient, WithMeta } from './client.js';
// Creating a client and calling it
export { createClient } from './client.js';
export type { StreamMetrics } from './metrics.js';
export type { CallOptions, ClientOptions, Target, Timeouts } from './options.js';
export {
  DEFAULT_API_VERSION,
  DEFAULT_CREATE_TIMEOUTS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_STREAM_TIMEOUTS,
} from './options.js';
export type {
  ChunkSource,
  ResponseMeta,
  ResponseStreamOptions,
  SourceContext,
  SourceEnd,
  StreamResult,
} from './response-stream.js';
// The stream object, over HTTP or any backend
export { ResponseStream } from './response-stream.js';
export type { RetryPolicy } from './retry.js';
// Retry policy (pure), for callers that build their own transport
export { DEFAULT_RETRY_POLICY, isRetryableStatus, retryDelayMs, serverDelayMs } from './retry.js';
