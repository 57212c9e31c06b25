/**
 * The Responses API's protocol: wire types, event parsing and checks, the accumulator to the
 * `Response` object, end states and answer text. Browser-safe, like the rest of
 * `sluice/protocol`, which re-exports all of it.
 * @module
 */

export { createResponsesAccumulator, outputText, type ResponsesAccumulator } from './accumulate.js';
export { type ChatFromResponses, chatRequestFromResponses, responsesProblem } from './chat-request.js';
export { decideResponsesEndState, endStateOfResponseObject, responsesTruncationError } from './end-state.js';
export {
  checkResponseObject,
  checkResponsesEvent,
  DEFAULT_RESPONSES_LIMITS,
  isResponseEvent,
  isTerminalEvent,
  LIFECYCLE_EVENT_TYPES,
  parseResponsesEvent,
  type ResponsesLimits,
  type ResponsesSseStep,
  TERMINAL_EVENT_TYPES,
} from './events.js';
export {
  createResponsesFromChat,
  type ResponsesFromChat,
  type ResponsesFromChatOptions,
  responsesUsage,
} from './from-chat.js';
export type * from './types.js';
