/**
 * Responses events in, the `Response` object out: the accumulator behind the client's
 * `final()`, partial results on errors, and (later) the server's non-streaming answers.
 * @module
 */
import type { EndState, FinishHow } from '../end-state.js';
import { copySafeKeys } from '../safe-keys.js';
import { isObject } from '../shape.js';
import { decideResponsesEndState } from './end-state.js';
import { isTerminalEvent, LIFECYCLE_EVENT_TYPES } from './events.js';
import type { ResponseErrorEvent, ResponseObject, ResponseOutputItem, ResponseStreamEvent } from './types.js';

/** Collects a Responses stream's events into the response a non-streaming request returns. */
export interface ResponsesAccumulator {
  /** Adds one checked event (`checkResponsesEvent`); unknown types change nothing. */
  push(event: ResponseStreamEvent): void;
  /** A snapshot of the response so far; independent of later pushes. */
  response(): ResponseObject;
  /**
   * The end state, from how reading stopped and the terminal event (see
   * `decideResponsesEndState`). A `failed` end's error gets the snapshot as its `partial`.
   */
  finish(how: FinishHow): EndState;
  /** The terminal event arrived (the stream is over, whatever comes after). */
  readonly ended: boolean;
  /** Events pushed so far. */
  readonly eventCount: number;
}

type Item = Record<string, unknown>;
type Part = Record<string, unknown>;

/**
 * Creates a Responses accumulator. What it builds, and from where:
 * - the response's own fields (id, status, model, usage, incomplete_details, error, the
 *   echoed request settings) from the latest event carrying `response` (`response.created`,
 *   `.in_progress`, the terminal event), unsafe keys dropped;
 * - `output` from the item events, by `output_index`: `output_item.added` starts an item,
 *   `content_part.added` a part, `output_text.delta` / `refusal.delta` append to a part's
 *   `text` / `refusal`, `output_text.annotation.added` appends an annotation,
 *   `function_call_arguments.delta` appends to `arguments`; the `.done` events and
 *   `output_item.done` replace with the server's whole value (a malformed one keeps the
 *   assembled content). Deltas for an item or part that was never announced create it.
 *   Reasoning and other items are kept as sent. Items only the terminal event's `output`
 *   carries fill the gaps;
 * - an `error` event sets `status: 'failed'` and `error`.
 *
 * @example
 * const acc = createResponsesAccumulator();
 * for (const event of events) acc.push(checkResponsesEvent(event));
 * outputText(acc.response()); // 'Hello'
 * acc.finish({ sawDone: acc.ended }); // { state: 'completed' }
 */
export function createResponsesAccumulator(): ResponsesAccumulator {
  let base: Item = {};
  const items: Array<Item | undefined> = [];
  const done: boolean[] = [];
  let terminal: ResponseObject | ResponseErrorEvent | undefined;
  let count = 0;

  const itemAt = (index: number, id: unknown, type: 'message' | 'function_call' = 'message'): Item => {
    let item = items[index];
    if (item === undefined) {
      const name = typeof id === 'string' ? id : '';
      item =
        type === 'message'
          ? { type, id: name, role: 'assistant', status: 'in_progress' }
          : { type, id: name, call_id: '', name: '', arguments: '', status: 'in_progress' };
      items[index] = item;
    }
    return item;
  };
  const partAt = (e: Record<string, unknown>, kind: 'output_text' | 'refusal'): Part => {
    const item = itemAt(e.output_index as number, e.item_id);
    let content = item.content as unknown[] | undefined;
    if (!Array.isArray(content)) {
      content = [];
      item.content = content;
    }
    const index = e.content_index as number;
    let part = content[index] as Part | undefined;
    if (!isObject(part)) {
      part =
        kind === 'output_text' ? { type: 'output_text', text: '', annotations: [] } : { type: 'refusal', refusal: '' };
      content[index] = part;
    }
    return part;
  };
  const append = (target: Item, field: string, delta: string) => {
    const now = target[field];
    target[field] = typeof now === 'string' ? now + delta : delta;
  };

  return {
    push(event) {
      count++;
      const e = event as unknown as Record<string, unknown>;
      switch (event.type) {
        case 'response.output_text.delta':
          append(partAt(e, 'output_text'), 'text', e.delta as string);
          break;
        case 'response.function_call_arguments.delta': {
          append(itemAt(e.output_index as number, e.item_id, 'function_call'), 'arguments', e.delta as string);
          break;
        }
        case 'response.output_item.added':
        case 'response.output_item.done': {
          const index = e.output_index as number;
          const next = copySafeKeys(e.item as Item);
          const before = items[index];
          if (before !== undefined) {
            // A malformed whole value must not lose what the deltas assembled.
            if (before.content !== undefined && !Array.isArray(next.content)) next.content = before.content;
            if (typeof before.arguments === 'string' && typeof next.arguments !== 'string') {
              next.arguments = before.arguments;
            }
          }
          if (Array.isArray(next.content)) next.content = next.content.map(copyPart);
          if (next.type === 'function_call' && typeof next.arguments !== 'string') next.arguments = '';
          items[index] = next;
          if (event.type === 'response.output_item.done') done[index] = true;
          break;
        }
        case 'response.content_part.added':
        case 'response.content_part.done': {
          const item = itemAt(e.output_index as number, e.item_id);
          if (!Array.isArray(item.content)) item.content = [];
          const content = item.content as unknown[];
          const index = e.content_index as number;
          const next = copyPart(e.part);
          const before = content[index] as Part | undefined;
          if (isObject(before) && typeof before.text === 'string' && typeof next.text !== 'string')
            next.text = before.text;
          content[index] = next;
          break;
        }
        case 'response.output_text.done':
          partAt(e, 'output_text').text = e.text;
          break;
        case 'response.refusal.delta':
          append(partAt(e, 'refusal'), 'refusal', e.delta as string);
          break;
        case 'response.refusal.done':
          partAt(e, 'refusal').refusal = e.refusal;
          break;
        case 'response.output_text.annotation.added': {
          const part = partAt(e, 'output_text');
          if (!Array.isArray(part.annotations)) part.annotations = [];
          (part.annotations as unknown[])[e.annotation_index as number] = copySafeKeys(e.annotation as Item);
          break;
        }
        case 'response.function_call_arguments.done': {
          const item = itemAt(e.output_index as number, e.item_id, 'function_call');
          item.arguments = e.arguments;
          if (typeof e.name === 'string') item.name = e.name;
          break;
        }
        default:
          if (LIFECYCLE_EVENT_TYPES.has(event.type)) base = copySafeKeys(e.response as Item);
      }
      if (terminal === undefined && isTerminalEvent(event)) {
        terminal = event.type === 'error' ? (event as ResponseErrorEvent) : (base as unknown as ResponseObject);
      }
    },

    response() {
      return snapshot(base, items, terminal);
    },

    finish(how) {
      const open: number[] = [];
      for (let i = 0; i < items.length; i++) if (items[i] !== undefined && done[i] !== true) open.push(i);
      const end = decideResponsesEndState(how, terminal, open);
      if (end.state === 'failed' && end.error.partial === undefined && count > 0) end.error.partial = this.response();
      return end;
    },

    get ended() {
      return terminal !== undefined;
    },

    get eventCount() {
      return count;
    },
  };
}

/**
 * The answer text of a response: its messages' `output_text` parts, in order (refusals,
 * function calls and reasoning are not answer text). Accepts anything.
 *
 * @example
 * outputText(await client.responses.create({ input: 'Say hi' })); // 'Hi!'
 */
export function outputText(response: unknown): string {
  const output = (response as { output?: unknown } | null)?.output;
  if (!Array.isArray(output)) return '';
  let text = '';
  for (const item of output) {
    if (!isObject(item) || item.type !== 'message' || !Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (isObject(part) && part.type === 'output_text' && typeof part.text === 'string') text += part.text;
    }
  }
  return text;
}

// --- internal ---------------------------------------------------------------------------

function copyPart(part: unknown): Part {
  if (!isObject(part)) return {};
  const copy = copySafeKeys(part);
  if (Array.isArray(copy.annotations)) copy.annotations = [...copy.annotations];
  return copy;
}

function snapshot(
  base: Item,
  items: Array<Item | undefined>,
  terminal: ResponseObject | ResponseErrorEvent | undefined,
): ResponseObject {
  const given = Array.isArray(base.output) ? (base.output as unknown[]) : [];
  const output: ResponseOutputItem[] = [];
  const length = Math.max(items.length, given.length);
  for (let i = 0; i < length; i++) {
    const item = items[i];
    if (item !== undefined) {
      const copy = { ...item };
      if (Array.isArray(copy.content)) copy.content = copy.content.map(copyPart);
      output.push(copy as ResponseOutputItem);
    } else if (isObject(given[i])) {
      output.push(copySafeKeys(given[i] as Item) as ResponseOutputItem);
    }
  }
  const response: Record<string, unknown> = {
    id: '',
    object: 'response',
    created_at: 0,
    model: '',
    incomplete_details: null,
    error: null,
    ...base,
    output,
  };
  if (terminal !== undefined && terminal.type === 'error') {
    const event = terminal as ResponseErrorEvent;
    response.status = 'failed';
    response.error = { code: event.code ?? 'error', message: event.message };
  }
  return response as ResponseObject;
}
