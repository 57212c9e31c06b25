/**
 * `sluice/protocol`: the OpenAI / Azure OpenAI chunk protocol. Wire types, the accumulator
 * (chunks -> non-streaming response), end states, stream-event parsing, HTTP error mapping,
 * content-filter helpers.
 * @module
 */

// Accumulating chunks and deciding how a stream ended

export { type Accumulator, createAccumulator } from './accumulate.js';
export {
  type ChoiceSummary,
  decideEndState,
  type EndState,
  type FinishHow,
  promptFilteredState,
  type StreamSummary,
  truncationError,
} from './end-state.js';

// Building chunks

export { type ChunkBuilder, type ChunkBuilderOptions, chunkBuilder, safeFilterResults } from './chunks.js';

// Reading stream events

export { parseStreamEvent, type SseEventLike, type StreamEvent, toErrorBody } from './events.js';

// HTTP errors, rate limits, error bodies

export { errorBody, errorFromResponse, parseRateLimit, requestIdOf } from './errors.js';

// Content filtering

export { filterServiceError, firedCategories, mergeFilterResults } from './filters.js';

// Text

export { type TextDelta, textDeltas } from './text.js';

// Quoting upstream bodies in messages, secrets scrubbed

export { excerpt, redactSecrets } from './excerpt.js';

// Wire types

export type * from '../types.js';
