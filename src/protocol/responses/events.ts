/**
 * One SSE event of a Responses stream -> a typed event (checked), nothing (`[DONE]`, which
 * ends nothing here), or an error frame. Upstream bytes are hostile: indexes are bounded,
 * the fields the accumulator reads are type-checked, unknown event types pass untouched.
 * @module
 */
import { ProtocolError, StreamErrorFrame } from '../../errors.js';
import type { ParseEventOptions, SseEventLike } from '../events.js';
import { frameFromJson } from '../events.js';
import { excerpt } from '../excerpt.js';
import { checkBound, describeValue, isObject, malformed } from '../shape.js';
import { keepSourceJson } from '../source-json.js';
import type { ResponseKnownEvent, ResponseObject, ResponseStreamEvent, ResponseTerminalEvent } from './types.js';

/** Bounds on the indexes a Responses upstream may use; an event at or beyond them ends the stream. */
export interface ResponsesLimits {
  /** `output_index` must be below this. */
  maxOutputItems: number;
  /** `content_index` and `annotation_index` must be below this. */
  maxContentParts: number;
}

/**
 * 1 024 output items (messages, tool calls, reasoning: far above the 128 tools a request may
 * name) and 1 024 parts or annotations per item.
 */
export const DEFAULT_RESPONSES_LIMITS: Readonly<ResponsesLimits> = Object.freeze({
  maxOutputItems: 1024,
  maxContentParts: 1024,
});

/** What one SSE event of a Responses stream means. */
export type ResponsesSseStep =
  | { type: 'event'; event: ResponseStreamEvent }
  | { type: 'skip' }
  | { type: 'error'; error: StreamErrorFrame };

const DONE = '[DONE]';
const SKIP: ResponsesSseStep = Object.freeze({ type: 'skip' });

/**
 * Interprets one SSE event of a Responses stream:
 * - a JSON object with a string `type` -> that event, unchecked (see `checkResponsesEvent`);
 *   an `error` event too: it ends the stream through the accumulator, like `response.failed`;
 * - `data: [DONE]` -> skip: some servers send it, but only a terminal event ends the stream;
 * - a JSON object without `type` -> its SSE `event:` name when there is one; a top-level
 *   `error` (a gateway's `{"error": {...}}`) -> an error frame;
 * - `event: error` whose data is not JSON -> an error frame quoting it;
 * - anything else throws ProtocolError (`invalid-json` / `unexpected-shape`) with an excerpt.
 *
 * @example
 * parseResponsesEvent({ type: 'response.output_text.delta', id: '', data: '{"type":"response.output_text.delta","delta":"Hi","output_index":0,"content_index":0,"item_id":"m","sequence_number":3}' });
 * // -> { type: 'event', event: { type: 'response.output_text.delta', delta: 'Hi', ... } }
 */
export function parseResponsesEvent(sse: SseEventLike, options?: ParseEventOptions): ResponsesSseStep {
  const data = sse.data;
  if (data === DONE) return SKIP;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (cause) {
    if (data.trim() === DONE) return SKIP;
    if (sse.type === 'error') {
      return {
        type: 'error',
        error: new StreamErrorFrame(`The server sent an error event: ${excerpt(data) || '(no data)'}`),
      };
    }
    throw new ProtocolError('invalid-json', `Stream event data is not JSON: ${excerpt(data)}`, { cause });
  }
  if (!isObject(value)) {
    throw new ProtocolError('unexpected-shape', `Stream event data is not a JSON object: ${excerpt(data)}`);
  }
  if (typeof value.type !== 'string') {
    if (value.type === undefined && value.error === undefined && sse.type !== 'message' && sse.type !== '') {
      value.type = sse.type;
    } else if ((value.error !== undefined && value.error !== null) || sse.type === 'error') {
      return { type: 'error', error: frameFromJson(value, data) };
    } else {
      throw malformed(`the event has ${describeValue(value.type)} where its \`type\` (a string) belongs`, value);
    }
  } else if (options?.keepSourceJson) keepSourceJson(value, data); // as parsed: its text is its bytes
  return { type: 'event', event: value as ResponseStreamEvent };
}

/**
 * Checks a parsed event and returns it, or throws ProtocolError (`unexpected-shape`) naming
 * what is wrong. Known event types must carry what the accumulator reads: bounded integer
 * `output_index` / `content_index` / `annotation_index`, string deltas and texts, object
 * items, parts and responses (`output`, when present, an array of objects). A present
 * `sequence_number` is a non-negative integer. Unknown types pass as they are.
 *
 * @example
 * checkResponsesEvent({ type: 'response.output_text.delta', output_index: 1e9, content_index: 0, delta: 'x', item_id: 'm', sequence_number: 1 });
 * // throws ProtocolError: output_index is 1000000000, beyond the 1024 output items ...
 */
export function checkResponsesEvent<E extends ResponseStreamEvent>(
  event: E,
  limits: ResponsesLimits = DEFAULT_RESPONSES_LIMITS,
): E {
  const e = event as unknown as Record<string, unknown>;
  if (!isObject(e) || typeof e.type !== 'string') throw malformed('the event is not an object with a `type`', event);
  const seq = e.sequence_number;
  if (seq !== undefined && !(typeof seq === 'number' && Number.isInteger(seq) && seq >= 0)) {
    throw malformed(`sequence_number is ${describeValue(seq)}, not a count`, event);
  }
  switch (e.type) {
    case 'response.output_text.delta':
    case 'response.refusal.delta':
      parts(e, limits);
      text(e, 'delta');
      break;
    case 'response.output_text.done':
      parts(e, limits);
      text(e, 'text');
      break;
    case 'response.refusal.done':
      parts(e, limits);
      text(e, 'refusal');
      break;
    case 'response.content_part.added':
    case 'response.content_part.done':
      parts(e, limits);
      typed(e, 'part');
      break;
    case 'response.output_text.annotation.added':
      parts(e, limits);
      checkBound(e.annotation_index, 'annotation_index', limits.maxContentParts, 'annotations', e);
      if (!isObject(e.annotation)) throw malformed(`annotation is ${describeValue(e.annotation)}`, e);
      break;
    case 'response.function_call_arguments.delta':
      output(e, limits);
      text(e, 'delta');
      break;
    case 'response.function_call_arguments.done':
      output(e, limits);
      text(e, 'arguments');
      if (e.name !== undefined && typeof e.name !== 'string') throw malformed(`name is ${describeValue(e.name)}`, e);
      break;
    case 'response.output_item.added':
    case 'response.output_item.done':
      output(e, limits);
      typed(e, 'item');
      break;
    case 'error':
      text(e, 'message');
      break;
    default:
      if (LIFECYCLE_EVENT_TYPES.has(e.type)) lifecycle(e, limits);
  }
  return event;
}

/**
 * Checks a whole (non-streaming) response: an object whose `output` is an array of items
 * (objects with a string `type`), no more than `maxOutputItems`. Throws ProtocolError
 * (`unexpected-shape`).
 *
 * @example
 * checkResponseObject(JSON.parse(body)); // the response, or throws
 */
export function checkResponseObject<R extends ResponseObject>(
  response: R,
  limits: ResponsesLimits = DEFAULT_RESPONSES_LIMITS,
): R {
  const record = response as unknown as Record<string, unknown>;
  if (!isObject(record)) throw malformed('the response is not a JSON object', response);
  if (!Array.isArray(record.output)) {
    throw malformed(`the response has ${describeValue(record.output)} where \`output\` (an array) belongs`, response);
  }
  checkOutput(record, limits, response);
  return response;
}

/**
 * True when `event` is of the known type `type`, narrowing it (unknown events share the
 * `type: string` field, so a plain comparison cannot narrow the union).
 *
 * @example
 * for await (const event of stream) if (isResponseEvent(event, 'response.output_text.delta')) write(event.delta);
 */
export function isResponseEvent<T extends ResponseKnownEvent['type']>(
  event: ResponseStreamEvent,
  type: T,
): event is Extract<ResponseKnownEvent, { type: T }> {
  return event.type === type;
}

/** The types of the events that carry the whole response so far (`ResponseLifecycleEvent`). */
export const LIFECYCLE_EVENT_TYPES: ReadonlySet<string> = new Set([
  'response.created',
  'response.in_progress',
  'response.queued',
  'response.completed',
  'response.incomplete',
  'response.failed',
]);

/** The types of the events that end a stream: `response.completed` / `.incomplete` / `.failed`, `error`. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  'response.completed',
  'response.incomplete',
  'response.failed',
  'error',
]);

/**
 * True for an event that ends the stream (nothing follows it; there is no `[DONE]`).
 * @example
 * isTerminalEvent({ type: 'response.completed', response, sequence_number: 9 }); // true
 */
export function isTerminalEvent(event: ResponseStreamEvent): event is ResponseTerminalEvent {
  return TERMINAL_EVENT_TYPES.has(event.type);
}

// --- internal ---------------------------------------------------------------------------

function output(e: Record<string, unknown>, limits: ResponsesLimits): void {
  checkBound(e.output_index, 'output_index', limits.maxOutputItems, 'output items', e);
}

function parts(e: Record<string, unknown>, limits: ResponsesLimits): void {
  output(e, limits);
  checkBound(e.content_index, 'content_index', limits.maxContentParts, 'content parts', e);
}

function text(e: Record<string, unknown>, field: string): void {
  if (typeof e[field] !== 'string') throw malformed(`${field} is ${describeValue(e[field])}, not a string`, e);
}

function typed(e: Record<string, unknown>, field: string): void {
  const value = e[field];
  if (!isObject(value) || typeof value.type !== 'string') {
    throw malformed(`${field} is ${describeValue(value)}, not an object with a \`type\``, e);
  }
}

function lifecycle(e: Record<string, unknown>, limits: ResponsesLimits): void {
  if (!isObject(e.response)) throw malformed(`response is ${describeValue(e.response)}, not an object`, e);
  checkOutput(e.response, limits, e);
}

function checkOutput(response: Record<string, unknown>, limits: ResponsesLimits, whole: unknown): void {
  const list = response.output;
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw malformed(`response.output is ${describeValue(list)}, not an array`, whole);
  if (list.length > limits.maxOutputItems) {
    throw malformed(`response.output has ${list.length} items, beyond the ${limits.maxOutputItems} allowed`, whole);
  }
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    if (!isObject(item) || typeof item.type !== 'string') {
      throw malformed(`response.output[${i}] is ${describeValue(item)}, not an item`, whole);
    }
  }
}
