/**
 * `sluice/sse`: a spec-exact, incremental Server-Sent Events decoder (bytes in, events out),
 * an async-iterable wrapper over any byte stream, and an encoder for the other direction.
 * @module
 */

export type { SseDecodeErrorType } from '../errors.js';
// Errors
export { SseDecodeError } from '../errors.js';
export type { DecoderEnd, DecoderHandlers, DecoderOptions, SseDecoder, SseEvent } from './decoder.js';
// Decoding
export { createDecoder, DEFAULT_MAX_LINE_LENGTH } from './decoder.js';
export type { SseOutgoingEvent } from './encoder.js';
// Encoding
export { encodeComment, encodeData, encodeEvent } from './encoder.js';
export { iterateSse } from './iterate.js';
