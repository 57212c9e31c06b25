/**
 * `sluice/protocol`: the OpenAI / Azure OpenAI chunk protocol. Wire types, the accumulator
 * (chunks -> non-streaming response), end states, stream-event parsing, shape checks, HTTP
 * error mapping, retry timing, content-filter helpers, answer text and secret scrubbing.
 * Browser-safe: nothing here imports Node modules (the web page uses it as it is).
 * @module
 */

// Accumulating chunks and deciding how an answer ended

export { type Accumulator, createAccumulator } from './accumulate.js';
export {
  type ChoiceSummary,
  decideEndState,
  type EndState,
  endStateOfResponse,
  type FinishHow,
  type LengthLimitRequest,
  lengthLimitReason,
  promptFilteredState,
  type StreamSummary,
  truncationError,
} from './end-state.js';

// A conversation and the model's context window

export {
  CONTEXT_LENGTH_EXCEEDED,
  contextSizeInMessage,
  contextSizeOrUndefined,
  dropOldestExchange,
  isContextLengthError,
} from './context.js';

// Building chunks

export { type ChunkBuilder, type ChunkBuilderOptions, chunkBuilder, safeFilterResults } from './chunks.js';

// Reading stream events

export { ChunkTemplate } from './chunk-template.js';
export {
  endsWithDone,
  parseStreamEvent,
  type SseEventLike,
  type StreamEvent,
  toErrorBody,
  type UnterminatedEnd,
} from './events.js';

// Checking what upstreams send

export {
  checkChunk,
  checkResponse,
  DEFAULT_MAX_CHOICES,
  DEFAULT_SHAPE_LIMITS,
  MAX_TOOL_CALLS,
  type ShapeLimits,
  shapeLimitsFor,
} from './shape.js';

// Upstream data: keys that must never be assigned

export { isUnsafeKey } from './safe-keys.js';

// HTTP errors, rate limits, retry timing, error bodies

export { errorBody, errorFromResponse, parseRateLimit, requestIdOf } from './errors.js';
export { type HeaderLookup, retryAfterMs } from './retry-after.js';

// Content filtering

export {
  CONTENT_FILTER_CATEGORIES,
  type ContentFilterCategory,
  filterServiceError,
  firedCategories,
  mergeFilterResults,
} from './filters.js';

// Text

export { choiceText, type TextDelta, textDeltas } from './text.js';

// Quoting upstream bodies in messages; credentials out of errors and output

export { excerpt } from './excerpt.js';
export { REDACTED, redactError, redactSecrets, redactSecretsDeep } from './secrets.js';

// The Responses API: events, checks, accumulator, end states, text (and its wire types)

export {
  type ChatFromResponses,
  chatRequestFromResponses,
  checkResponseObject,
  checkResponsesEvent,
  createResponsesAccumulator,
  createResponsesFromChat,
  DEFAULT_RESPONSES_LIMITS,
  decideResponsesEndState,
  endStateOfResponseObject,
  isResponseEvent,
  isTerminalEvent,
  LIFECYCLE_EVENT_TYPES,
  outputText,
  parseResponsesEvent,
  type ResponsesAccumulator,
  type ResponsesFromChat,
  type ResponsesFromChatOptions,
  type ResponsesLimits,
  type ResponsesSseStep,
  responsesProblem,
  responsesTruncationError,
  responsesUsage,
  TERMINAL_EVENT_TYPES,
} from './responses/index.js';
export type * from './responses/types.js';

// The Embeddings API: wire types, OpenAI's base64 vectors, the answer's shape check

export {
  checkEmbeddingsResponse,
  decodeEmbedding,
  type Embedding,
  type EmbeddingsInput,
  type EmbeddingsRequest,
  type EmbeddingsResponse,
  embeddingInputs,
  encodeEmbedding,
  type FloatEmbeddingsResponse,
  MAX_EMBEDDING_INPUTS,
} from './embeddings.js';

// The one relay rule from chunks to SSE frames: the upstream's own JSON text when kept, one
// error frame and no [DONE] for any failure

export { chunkFrame, DONE_FRAME, failureFrame } from './sse-relay.js';

// Wire types

export type * from '../types.js';
