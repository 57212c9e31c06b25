/**
 * Chat chunks in, Responses events out: how a backend that only speaks Chat Completions
 * (the local model, any chat backend) answers the Responses API. Text deltas become a
 * `message` item with one `output_text` part, `tool_calls` deltas `function_call` items with
 * their arguments streamed, the finish reason the terminal event (`length` ->
 * `response.incomplete` with `max_output_tokens`), usage Responses' usage. Every event has
 * its `sequence_number`, from 0. Synchronous and browser-safe: the caller pulls the chat
 * stream and writes the events (so an error before the first chunk can still be an HTTP
 * status).
 * @module
 */
import type { ChatCompletionChunk, Usage } from '../../types.js';
import type {
  ResponseCreateRequest,
  ResponseFunctionCall,
  ResponseObject,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseStreamEvent,
  ResponseUsage,
} from './types.js';

export interface ResponsesFromChatOptions {
  /** The response id (`resp_...`). */
  id: string;
  /** The model (deployment) name the response states. */
  model: string;
  /** Unix seconds; default now. */
  createdAt?: number;
  /** The request, whose settings the response echoes (instructions, tools, limits, ...). */
  request?: ResponseCreateRequest;
  /** New ids for output items (`msg_...`, `fc_...`, `call_...`); default random. */
  newId?: (prefix: 'msg' | 'fc' | 'call') => string;
}

/** Turns one chat stream into one Responses stream; each method returns the events to send, in order. */
export interface ResponsesFromChat {
  /** `response.created` and `response.in_progress`. Call once, first. */
  start(): ResponseStreamEvent[];
  /** The events for one chat chunk (none for a role-only or filter-only chunk). */
  push(chunk: ChatCompletionChunk): ResponseStreamEvent[];
  /**
   * The chat stream ended: the open items' `.done` events, then `response.completed`, or
   * `response.incomplete` when the model stopped at its token limit (`max_output_tokens`)
   * or a content filter (`content_filter`).
   */
  finish(): ResponseStreamEvent[];
  /** The chat stream failed: `response.failed` with the error (the output so far kept, items `incomplete`). */
  fail(error: { code: string; message: string }): ResponseStreamEvent[];
  /** The response as it stands (after `finish` or `fail`: the final one). A fresh copy. */
  response(): ResponseObject;
  /** The next event's sequence number (= events produced so far). */
  readonly sequence: number;
}

/**
 * Creates the translator.
 *
 * @example
 * const t = createResponsesFromChat({ id: 'resp_1', model: 'story' });
 * const events = [...t.start()];
 * for await (const chunk of backend.stream({ kind: 'chat', body }, signal)) events.push(...t.push(chunk));
 * events.push(...t.finish()); // ..., response.output_text.done, ..., response.completed
 */
export function createResponsesFromChat(options: ResponsesFromChatOptions): ResponsesFromChat {
  const newId = options.newId ?? randomId;
  const response = baseResponse(options);
  const output = response.output;
  let sequence = 0;
  let finishReason: string | null = null;
  /** The open item: the message being written, or a function call. */
  let open: { index: number; kind: 'message' | 'call' } | undefined;
  /** Chat tool-call index -> output index. */
  const calls = new Map<number, number>();
  let state: 'new' | 'running' | 'ended' = 'new';

  // `type`, then `sequence_number`, then the rest: OpenAI's field order on the wire.
  const event = <E extends { type: string }>({ type, ...rest }: E): ResponseStreamEvent =>
    ({ type, sequence_number: sequence++, ...rest }) as unknown as ResponseStreamEvent;
  const snapshot = (): ResponseObject => structuredClone(response);

  function closeOpen(out: ResponseStreamEvent[], status: 'completed' | 'incomplete'): void {
    if (!open) return;
    const item = output[open.index]!;
    const index = open.index;
    open = undefined;
    if (item.type === 'message') {
      const message = item as ResponseOutputMessage;
      const part = message.content[0] as ResponseOutputText;
      out.push(
        event({
          type: 'response.output_text.done',
          item_id: message.id,
          output_index: index,
          content_index: 0,
          text: part.text,
          logprobs: [],
        }),
      );
      out.push(
        event({
          type: 'response.content_part.done',
          item_id: message.id,
          output_index: index,
          content_index: 0,
          part: structuredClone(part),
        }),
      );
    } else {
      const call = item as ResponseFunctionCall;
      out.push(
        event({
          type: 'response.function_call_arguments.done',
          item_id: call.id,
          output_index: index,
          arguments: call.arguments,
          name: call.name,
        }),
      );
    }
    item.status = status;
    out.push(event({ type: 'response.output_item.done', output_index: index, item: structuredClone(item) }));
  }

  function text(out: ResponseStreamEvent[], delta: string): void {
    if (open?.kind !== 'message') {
      closeOpen(out, 'completed');
      const message: ResponseOutputMessage = {
        id: `msg_${newId('msg')}`,
        type: 'message',
        status: 'in_progress',
        content: [],
        role: 'assistant',
      };
      const index = output.push(message) - 1;
      open = { index, kind: 'message' };
      out.push(event({ type: 'response.output_item.added', output_index: index, item: structuredClone(message) }));
      const part: ResponseOutputText = { type: 'output_text', annotations: [], logprobs: [], text: '' };
      message.content.push(part);
      out.push(
        event({
          type: 'response.content_part.added',
          item_id: message.id,
          output_index: index,
          content_index: 0,
          part: structuredClone(part),
        }),
      );
    }
    const index = open!.index;
    const message = output[index] as ResponseOutputMessage;
    (message.content[0] as ResponseOutputText).text += delta;
    out.push(
      event({
        type: 'response.output_text.delta',
        item_id: message.id,
        output_index: index,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
  }

  function toolCall(
    out: ResponseStreamEvent[],
    delta: { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } },
  ): void {
    const chatIndex = typeof delta.index === 'number' ? delta.index : 0;
    let index = calls.get(chatIndex);
    if (index === undefined) {
      closeOpen(out, 'completed');
      const call: ResponseFunctionCall = {
        id: `fc_${newId('fc')}`,
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: typeof delta.id === 'string' && delta.id !== '' ? delta.id : `call_${newId('call')}`,
        name: typeof delta.function?.name === 'string' ? delta.function.name : '',
      };
      index = output.push(call) - 1;
      calls.set(chatIndex, index);
      open = { index, kind: 'call' };
      out.push(event({ type: 'response.output_item.added', output_index: index, item: structuredClone(call) }));
    } else if (open?.index !== index) {
      // A call resumed after another item began: chat allows it, Responses has no event for
      // it; its arguments still reach the item (and the done events carry them whole).
      open = undefined;
    }
    const call = output[index] as ResponseFunctionCall;
    const args = delta.function?.arguments;
    if (typeof args === 'string' && args !== '') {
      call.arguments += args;
      if (open?.index === index) {
        out.push(
          event({ type: 'response.function_call_arguments.delta', item_id: call.id, output_index: index, delta: args }),
        );
      }
    }
  }

  return {
    get sequence() {
      return sequence;
    },
    start() {
      if (state !== 'new') return [];
      state = 'running';
      return [
        event({ type: 'response.created', response: snapshot() }),
        event({ type: 'response.in_progress', response: snapshot() }),
      ];
    },
    push(chunk) {
      const out: ResponseStreamEvent[] = [];
      if (state !== 'running') return out;
      // `n` is not a Responses parameter: choice 0 is the answer.
      for (const choice of chunk.choices) {
        if (choice.index !== 0) continue;
        const delta = choice.delta;
        if (delta) {
          if (typeof delta.content === 'string' && delta.content !== '') text(out, delta.content);
          if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) toolCall(out, call);
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      if (chunk.usage) response.usage = responsesUsage(chunk.usage);
      return out;
    },
    finish() {
      const out: ResponseStreamEvent[] = [];
      if (state !== 'running') return out;
      state = 'ended';
      const reason =
        finishReason === 'length'
          ? 'max_output_tokens'
          : finishReason === 'content_filter'
            ? 'content_filter'
            : undefined;
      closeOpen(out, reason ? 'incomplete' : 'completed');
      for (const item of output) if (item.status === 'in_progress') item.status = 'completed';
      if (reason) {
        response.status = 'incomplete';
        response.incomplete_details = { reason };
        out.push(event({ type: 'response.incomplete', response: snapshot() }));
      } else {
        response.status = 'completed';
        out.push(event({ type: 'response.completed', response: snapshot() }));
      }
      return out;
    },
    fail(error) {
      if (state === 'ended') return [];
      state = 'ended';
      open = undefined;
      for (const item of output) if (item.status === 'in_progress') item.status = 'incomplete';
      response.status = 'failed';
      response.error = { code: error.code, message: error.message };
      return [event({ type: 'response.failed', response: snapshot() })];
    },
    response: snapshot,
  };
}

/**
 * Chat usage as Responses usage (`prompt_tokens` -> `input_tokens`, ...), with the detail
 * fields OpenAI always sends.
 *
 * @example
 * responsesUsage({ prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 });
 * // { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 8, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 13 }
 */
export function responsesUsage(usage: Usage): ResponseUsage {
  const input = usage.prompt_tokens;
  const outputTokens = usage.completion_tokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens ?? input + outputTokens,
  };
}

// --- internal ---

/** The response before any output: OpenAI's fields, the request's settings echoed. */
function baseResponse(options: ResponsesFromChatOptions): ResponseObject {
  const r = options.request ?? {};
  return {
    id: options.id,
    object: 'response',
    created_at: options.createdAt ?? Math.floor(Date.now() / 1000),
    status: 'in_progress',
    background: r.background ?? false,
    error: null,
    incomplete_details: null,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    model: options.model,
    output: [],
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    previous_response_id: r.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: r.store ?? true,
    temperature: r.temperature ?? 1,
    text: r.text ?? { format: { type: 'text' } },
    tool_choice: r.tool_choice ?? 'auto',
    tools: r.tools ?? [],
    top_p: r.top_p ?? 1,
    truncation: r.truncation ?? 'disabled',
    usage: null,
    user: r.user ?? null,
    metadata: r.metadata ?? {},
  };
}

function randomId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, '');
}
