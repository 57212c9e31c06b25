/**
 * `sluice/sse`: a spec-exact, incremental Server-Sent Events decoder (bytes in, events out),
 * an async-iterable wrapper over any byte stream, and an encoder for the other direction.
 * @module
 */

// Decoding

export type { DecoderEnd, DecoderHandlers, DecoderOptions, SseDecoder, SseEvent } from './decoder.js';
export { createDecoder, DEFAULT_MAX_LINE_LENGTH } from './decoder.js';
export { iterateSse } from './iterate.js';

// Encoding

export type { SseOutgoingEvent } from './encoder.js';
export { encodeComment, encodeData, encodeEvent } from './encoder.js';

// Errors

export type { SseDecodeErrorType } from '../errors.js';
export { SseDecodeError } from '../errors.js';
