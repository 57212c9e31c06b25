/**
 * One SSE event of an OpenAI / Azure stream -> a chunk, the `[DONE]` marker, or an error frame.
 * @module
 */
import { ProtocolError, StreamErrorFrame } from '../errors.js';
import type { ApiErrorBody, ApiKind, ApiTypes } from '../types.js';
import type { ChunkTemplate } from './chunk-template.js';
import { excerpt } from './excerpt.js';
import { keepSourceJson } from './source-json.js';

/**
 * An SSE event as the decoder in `src/sse` dispatches it (structurally identical to its
 * `SseEvent`, declared here so this module does not depend on the decoder).
 */
export interface SseEventLike {
  type: string;
  data: string;
  id: string;
}

/** What one event of a Completions / Chat Completions stream means. */
export type StreamEvent<K extends ApiKind = ApiKind> =
  | { type: 'chunk'; chunk: ApiTypes[K]['chunk'] }
  | { type: 'done' }
  | { type: 'error'; error: StreamErrorFrame };

const DONE = '[DONE]';

/** How `parseStreamEvent` reads an event. */
export interface ParseEventOptions {
  /**
   * Keep each chunk's JSON text beside it (protocol/source-json.ts), so that a relay writes
   * the upstream's own bytes. Only a relay needs it: it costs a WeakMap entry per chunk.
   */
  keepSourceJson?: boolean;
}

/** What the SSE decoder's `end()` reports about an event left without its blank line. */
export interface UnterminatedEnd {
  unterminated: boolean;
  pendingData?: string;
}

/**
 * True when a body ended with a `data: [DONE]` event that lacked its blank line. The SSE
 * spec discards such an event, but Azure sometimes sends its last `[DONE]` that way, and the
 * answer before it is complete: the client and the web page both count it as `[DONE]`.
 * The data is compared like `parseStreamEvent` does (surrounding whitespace ignored).
 *
 * @example
 * const decoder = createDecoder({ onEvent });
 * decoder.feed(new TextEncoder().encode('data: [DONE]'));
 * endsWithDone(decoder.end()); // true
 */
export function endsWithDone(end: UnterminatedEnd): boolean {
  return end.unterminated && end.pendingData !== undefined && end.pendingData.trim() === DONE;
}

/**
 * Interprets one SSE event:
 * - `data: [DONE]` -> `{type: 'done'}`;
 * - `event: error` -> an error frame, its data parsed when it is JSON;
 * - a JSON object with a top-level `error` -> an error frame carrying the body;
 * - any other JSON object -> a chunk (not validated further: unknown fields pass through);
 * - anything else throws ProtocolError `invalid-json` (or `unexpected-shape` for JSON that is
 *   not an object), with a short excerpt of the data, never the whole payload.
 *
 * Per chunk, this costs one `JSON.parse` and two property checks. With `template` (a
 * `ChunkTemplate` per stream), a chunk that repeats the one before but for its text costs no
 * `JSON.parse`, and reads to the same value.
 *
 * @example
 * parseStreamEvent({ type: 'message', data: '[DONE]', id: '' }); // -> { type: 'done' }
 * const ev = parseStreamEvent<'chat'>({ type: 'message', data: '{"id":"c","choices":[]}', id: '' });
 * if (ev.type === 'chunk') console.log(ev.chunk.id); // 'c'
 */
export function parseStreamEvent<K extends ApiKind = ApiKind>(
  event: SseEventLike,
  options?: ParseEventOptions,
  template?: ChunkTemplate,
): StreamEvent<K> {
  const read = readStreamEvent<K>(event, options, template);
  if (read === STREAM_DONE) return { type: 'done' };
  if (read instanceof StreamErrorFrame) return { type: 'error', error: read };
  return { type: 'chunk', chunk: read };
}

/** What `readStreamEvent` returns for the `[DONE]` marker. */
export const STREAM_DONE: unique symbol = Symbol('[DONE]');

/**
 * `parseStreamEvent` without a result object around the answer, for a reader that pays per
 * chunk (the client's SSE source): the chunk, `STREAM_DONE`, or the error frame (returned,
 * not thrown). Malformed data throws the same ProtocolError.
 *
 * `template`, one per stream: a chunk that repeats the one before but for its text is read
 * without `JSON.parse`, to the same value (protocol/chunk-template.ts).
 *
 * @example
 * const read = readStreamEvent<'chat'>({ type: 'message', data: '[DONE]', id: '' }); // STREAM_DONE
 * const template = new ChunkTemplate(); // then, per event of one stream:
 * readStreamEvent<'chat'>({ type: 'message', data: '{"choices":[]}', id: '' }, undefined, template);
 */
export function readStreamEvent<K extends ApiKind = ApiKind>(
  event: SseEventLike,
  options?: ParseEventOptions,
  template?: ChunkTemplate,
): ApiTypes[K]['chunk'] | typeof STREAM_DONE | StreamErrorFrame {
  const data = event.data;
  if (event.type === 'error') return errorFrame(data);
  if (data === DONE) return STREAM_DONE;
  // A chunk that repeats the stream's template needs no parse (it was proved a chunk).
  let value: object | undefined = template?.match(data);
  if (value === undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (cause) {
      if (data.trim() === DONE) return STREAM_DONE;
      throw new ProtocolError('invalid-json', `Stream event data is not JSON: ${excerpt(data)}`, { cause });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ProtocolError('unexpected-shape', `Stream event data is not a JSON object: ${excerpt(data)}`);
    }
    const error = (parsed as { error?: unknown }).error;
    if (error !== undefined && error !== null) return frameFromJson(parsed, data);
    template?.learn(data, parsed);
    value = parsed;
  }
  // A relay forwards this text instead of serializing the chunk again.
  if (options?.keepSourceJson === true) keepSourceJson(value, data);
  return value as ApiTypes[K]['chunk'];
}

/** Builds the StreamErrorFrame for an `event: error` (data may or may not be JSON). */
function errorFrame(data: string): StreamErrorFrame {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return new StreamErrorFrame(`The server sent an error event: ${excerpt(data) || '(no data)'}`);
  }
  return frameFromJson(value, data);
}

/** The StreamErrorFrame for an error sent as JSON (`data` is quoted when it carries no message). */
export function frameFromJson(value: unknown, data: string): StreamErrorFrame {
  const body = toErrorBody(value);
  if (body === undefined) return new StreamErrorFrame(`The server sent an error event: ${excerpt(data)}`);
  const { code, message } = body.error;
  const prefix = code !== undefined && code !== null && code !== '' ? `${code}: ` : '';
  return new StreamErrorFrame(`The stream failed: ${prefix}${message}`, body);
}

/**
 * Normalizes what servers send as an error to Azure's `{error: {message, ...}}`:
 * `{error: {...}}`, `{error: "text"}`, or a bare `{message, code?}` object.
 */
export function toErrorBody(value: unknown): ApiErrorBody | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const inner = record.error;
  if (typeof inner === 'string') return { error: { message: inner } };
  if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
    const error = inner as Record<string, unknown>;
    const message = typeof error.message === 'string' ? error.message : '(no message)';
    const code = error.code;
    return {
      error: {
        ...error,
        message,
        // Azure sends numeric-looking codes as strings ("429"); some servers send numbers.
        ...(typeof code === 'number' ? { code: String(code) } : {}),
      },
    } as ApiErrorBody;
  }
  if (typeof record.message === 'string') {
    // API Management style: {"statusCode": 401, "message": "..."}.
    const code = record.code ?? record.statusCode;
    return {
      error: { message: record.message, ...(code !== undefined && code !== null ? { code: String(code) } : {}) },
    };
  }
  return undefined;
}
