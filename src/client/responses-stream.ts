/**
 * ResponsesStream: one streamed Responses API answer. The machinery (time-outs, abort,
 * metrics, end states) is EventStream's; this adds what Responses events mean: the checks,
 * the accumulator to the `Response` object, text deltas, and the SSE reading rules (a
 * terminal event ends the stream; `[DONE]` ends nothing).
 * @module
 */
import type { SluiceError } from '../errors.js';
import type { EndState, FinishHow } from '../protocol/end-state.js';
import { createResponsesAccumulator, outputText } from '../protocol/responses/accumulate.js';
import { responsesTruncationError } from '../protocol/responses/end-state.js';
import {
  checkResponsesEvent,
  DEFAULT_RESPONSES_LIMITS,
  isTerminalEvent,
  parseResponsesEvent,
  type ResponsesLimits,
} from '../protocol/responses/events.js';
import type { ResponseObject, ResponseStreamEvent, ResponseUsage } from '../protocol/responses/types.js';
import type { Usage } from '../types.js';
import {
  EventStream,
  type EventStreamOptions,
  type ItemSource,
  type StreamCodec,
  type StreamOutcome,
} from './event-stream.js';
import { SSE_SKIP, type SseItems, sseSource } from './http-source.js';
import { keepShape } from './shapes.js';

/** The outcome of a Responses stream: the accumulated `Response`, the end state, the metrics. */
export type ResponsesResult = StreamOutcome<ResponseObject>;

/** Produces Responses events (see `ItemSource`); returning `{sawDone: true}` means a terminal event came. */
export type ResponsesSource = ItemSource<ResponseStreamEvent>;

export interface ResponsesStreamOptions extends EventStreamOptions {
  /** Bounds on output and content indexes; default `DEFAULT_RESPONSES_LIMITS`. */
  limits?: ResponsesLimits | undefined;
}

/** A piece of new answer text: which output item and content part it belongs to. */
export interface ResponsesTextDelta {
  outputIndex: number;
  contentIndex: number;
  text: string;
}

/**
 * A streamed Responses answer. Iterate its typed events once (for-await, `textDeltas()`,
 * `toReadableStream()`), or just await `final()` / `text()`.
 *
 * End states: `response.completed` -> `completed`; `response.incomplete` -> `truncated`
 * with the limit (`max-tokens`) or `filtered` for `content_filter`, not an error: the text
 * is all the model produced; `response.failed` / `error` -> `failed` (iteration throws a
 * StreamErrorFrame after yielding the event, `partial` kept); a stream that ends without a
 * terminal event -> `truncated` `no-done` (StreamTruncatedError, `partial` kept).
 *
 * @example
 * const stream = client.responses.stream({ input: 'Tell me a story', max_output_tokens: 200 });
 * for await (const { text } of stream.textDeltas()) process.stdout.write(text);
 * const { response, end, metrics } = await stream.final();
 */
export class ResponsesStream extends EventStream<ResponseStreamEvent, ResponseObject> {
  constructor(source: ResponsesSource, options: ResponsesStreamOptions = {}) {
    super(source, new ResponsesCodec(options.limits ?? DEFAULT_RESPONSES_LIMITS), options);
  }

  /**
   * Answer text as it arrives (`response.output_text.delta`); other events are skipped.
   * @example
   * for await (const { text } of stream.textDeltas()) process.stdout.write(text);
   */
  async *textDeltas(): AsyncGenerator<ResponsesTextDelta, void, undefined> {
    for await (const event of this) {
      if (event.type !== 'response.output_text.delta') continue;
      const e = event as { output_index: number; content_index: number; delta: string };
      if (e.delta !== '') yield { outputIndex: e.output_index, contentIndex: e.content_index, text: e.delta };
    }
  }

  /**
   * The whole answer text (every message's `output_text`, in order). Rejects with the
   * stream's error (its `partial` keeps what arrived) when the stream failed, was cut or
   * aborted; an incomplete response resolves with the text it has.
   */
  async text(): Promise<string> {
    const result = await this.final();
    if (result.error) throw result.error;
    return outputText(result.response);
  }
}

const KEEP_SOURCE_JSON = Object.freeze({ keepSourceJson: true });

/**
 * How Responses SSE events become items: parsed by `parseResponsesEvent` (an error frame
 * fails the stream, `[DONE]` is a sign of life), ending after a terminal event.
 */
export const responsesItems: SseItems<ResponseStreamEvent> = {
  read(e, relay) {
    const step = parseResponsesEvent(e, relay ? KEEP_SOURCE_JSON : undefined);
    if (step.type === 'event') return step.event;
    if (step.type === 'skip') return SSE_SKIP;
    throw step.error;
  },
  last: isTerminalEvent,
  // Only a terminal event ends a Responses stream well; it is an item, read above.
  endedWell: () => false,
};

/** The metrics' usage (Chat Completions' names) from a Responses usage. */
function metricsUsage(usage: ResponseUsage): Usage {
  return {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens,
  };
}

/** What Responses events mean to the stream (a class, as chat's `ChunkCodec`: see there why). */
class ResponsesCodec implements StreamCodec<ResponseStreamEvent, ResponseObject> {
  readonly #acc = createResponsesAccumulator();
  readonly #limits: ResponsesLimits;

  constructor(limits: ResponsesLimits) {
    this.#limits = limits;
  }

  check(event: ResponseStreamEvent): ResponseStreamEvent {
    return checkResponsesEvent(event, this.#limits);
  }

  tokens(event: ResponseStreamEvent): number {
    const type = event.type;
    if (
      type === 'response.output_text.delta' ||
      type === 'response.function_call_arguments.delta' ||
      type === 'response.refusal.delta'
    ) {
      return (event as { delta: string }).delta === '' ? 0 : 1;
    }
    return 0;
  }

  usage(event: ResponseStreamEvent): Usage | undefined {
    if (!isTerminalEvent(event) || event.type === 'error') return undefined;
    const usage = (event as { response: { usage?: unknown } }).response.usage as ResponseUsage | null | undefined;
    return usage !== null && typeof usage === 'object' && typeof usage.output_tokens === 'number'
      ? metricsUsage(usage)
      : undefined;
  }

  push(event: ResponseStreamEvent): void {
    this.#acc.push(event);
  }

  count(): number {
    return this.#acc.eventCount;
  }

  response(): ResponseObject {
    return this.#acc.response();
  }

  finish(how: FinishHow): EndState {
    return this.#acc.finish(how);
  }

  endError(end: EndState, cause: unknown): SluiceError | undefined {
    if (end.state === 'failed') return end.error;
    if (end.state === 'truncated') return responsesTruncationError(end, this.#acc.response(), cause);
    return undefined;
  }

  empty(): ResponseObject {
    return {
      id: '',
      object: 'response',
      created_at: 0,
      model: '',
      output: [],
      incomplete_details: null,
      error: null,
    };
  }
}

/** A stream kept for its hidden classes, as chat's (see client/shapes.ts). */
const idle = new ResponsesStream(sseSource(() => new Promise(() => {}), responsesItems));
keepShape(idle[Symbol.asyncIterator]());
keepShape(idle);
