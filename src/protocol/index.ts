/**
 * `sluice/protocol`: the OpenAI / Azure OpenAI chunk protocol. Wire types, the accumulator
 * (chunks -> non-streaming response), end states, stream-event parsing, HTTP error mapping,
 * content-filter helpers.
 * @module
 */

// Wire types
export type * from '../types.js';
// Accumulating chunks
export { type Accumulator, createAccumulator } from './accumulate.js';
// Building chunks
export { type ChunkBuilder, type ChunkBuilderOptions, chunkBuilder, safeFilterResults } from './chunks.js';
// Deciding how a stream ended
export {
  type ChoiceSummary,
  decideEndState,
  type EndState,
  type FinishHow,
  promptFilteredState,
  type StreamSummary,
  truncationError,
} from './end-state.js';
// HTTP errors, rate limits, error bodies
export { errorBody, errorFromResponse, parseRateLimit, requestIdOf } from './errors.js';
// Reading stream events
export { parseStreamEvent, type SseEventLike, type StreamEvent, toErrorBody } from './events.js';
export { excerpt, redactSecrets } from './excerpt.js';
// Content filtering
export { filterServiceError, firedCategories, mergeFilterResults } from './filters.js';
// Text
export { type TextDelta, textDeltas } from './text.js';
