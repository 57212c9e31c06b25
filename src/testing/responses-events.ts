/**
 * Scripted Responses API streams for the test server (`azure-server.ts`): the event sequence
 * OpenAI and Azure send, item by item, with each event's `sequence_number`, and the whole
 * response a non-streaming call returns. Every end the API has: completed, incomplete (with
 * its reason), failed, an `error` event, or no terminal event at all (a cut stream).
 * @module
 */
import type {
  ResponseFunctionCall,
  ResponseObject,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseUsage,
} from '../protocol/responses/types.js';
import type { StreamItem } from './azure-server.js';

/** How the scripted response ends. */
export type ResponsesEnd =
  | 'completed'
  | { incomplete: 'max_output_tokens' | 'content_filter' }
  | { failed: { code: string; message: string } }
  | { error: { code: string; message: string } }
  /** No terminal event: the stream just stops. */
  | 'none';

export interface ResponsesScript {
  id?: string;
  model?: string;
  /** Answer text, one `response.output_text.delta` per piece. */
  texts: string[];
  /** A function call after the message, its arguments streamed in these pieces. */
  functionCall?: { name: string; callId?: string; argumentPieces: string[] };
  end?: ResponsesEnd;
  usage?: ResponseUsage;
}

/**
 * The whole response a script stands for, as the terminal event (and a non-streaming call)
 * carries it.
 *
 * @example
 * reply(200, responseObject({ texts: ['Hel', 'lo'] })); // a non-streaming answer
 */
export function responseObject(script: ResponsesScript): ResponseObject {
  const end = script.end ?? 'completed';
  const status = end === 'completed' || end === 'none' ? 'completed' : 'incomplete' in end ? 'incomplete' : 'failed';
  const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
  const output: ResponseOutputItem[] = [{ ...message(script, itemStatus), content: [textPart(script.texts.join(''))] }];
  if (script.functionCall) {
    output.push({
      ...functionCall(script),
      arguments: script.functionCall.argumentPieces.join(''),
      status: itemStatus,
    });
  }
  const words = script.texts.length + (script.functionCall?.argumentPieces.length ?? 0);
  return {
    ...base(script),
    status,
    output,
    usage: script.usage ?? { input_tokens: 5, output_tokens: words, total_tokens: 5 + words },
    incomplete_details: typeof end === 'object' && 'incomplete' in end ? { reason: end.incomplete } : null,
    error: typeof end === 'object' && 'failed' in end ? end.failed : null,
  };
}

/**
 * The events of a streamed response, in OpenAI's order: `response.created`,
 * `response.in_progress`, the message (item added, part added, text deltas, text done, part
 * done, item done), the function call if any (item added, argument deltas, arguments done,
 * item done), then the terminal event for `end`. Each is an SSE event named by its type.
 *
 * @example
 * stream(responsesEvents({ texts: ['Hel', 'lo'], end: { incomplete: 'max_output_tokens' } }));
 */
export function responsesEvents(script: ResponsesScript): StreamItem[] {
  let seq = 0;
  const events: Array<Record<string, unknown>> = [];
  const add = (event: Record<string, unknown>) => events.push({ ...event, sequence_number: seq++ });
  const start = { ...base(script), status: 'in_progress', output: [], usage: null };
  add({ type: 'response.created', response: start });
  add({ type: 'response.in_progress', response: start });

  const final = responseObject(script);
  const msg = message(script, 'in_progress');
  add({ type: 'response.output_item.added', output_index: 0, item: { ...msg, content: [] } });
  const at = { item_id: msg.id, output_index: 0, content_index: 0 };
  add({ type: 'response.content_part.added', ...at, part: textPart('') });
  for (const delta of script.texts) add({ type: 'response.output_text.delta', ...at, delta, logprobs: [] });
  const text = script.texts.join('');
  add({ type: 'response.output_text.done', ...at, text, logprobs: [] });
  add({ type: 'response.content_part.done', ...at, part: textPart(text) });
  add({ type: 'response.output_item.done', output_index: 0, item: final.output[0] });

  if (script.functionCall) {
    const call = functionCall(script);
    add({
      type: 'response.output_item.added',
      output_index: 1,
      item: { ...call, arguments: '', status: 'in_progress' },
    });
    for (const delta of script.functionCall.argumentPieces) {
      add({ type: 'response.function_call_arguments.delta', item_id: call.id, output_index: 1, delta });
    }
    const args = script.functionCall.argumentPieces.join('');
    add({
      type: 'response.function_call_arguments.done',
      item_id: call.id,
      output_index: 1,
      arguments: args,
      name: call.name,
    });
    add({ type: 'response.output_item.done', output_index: 1, item: final.output[1] });
  }

  const end = script.end ?? 'completed';
  if (end === 'completed') add({ type: 'response.completed', response: final });
  else if (end === 'none') {
    // cut: no terminal event
  } else if ('incomplete' in end) add({ type: 'response.incomplete', response: final });
  else if ('failed' in end) add({ type: 'response.failed', response: final });
  else add({ type: 'error', code: end.error.code, message: end.error.message, param: null });
  return events.map((event) => ({ event: event as { type: string } }));
}

// --- internal ---------------------------------------------------------------------------

function base(script: ResponsesScript) {
  return {
    id: script.id ?? 'resp_test',
    object: 'response' as const,
    created_at: 1_700_000_000,
    model: script.model ?? 'gpt-4o-2024-08-06',
    incomplete_details: null,
    error: null,
    instructions: null,
    max_output_tokens: null,
    temperature: 1,
    top_p: 1,
    tools: [],
    tool_choice: 'auto' as const,
    parallel_tool_calls: true,
    text: { format: { type: 'text' as const } },
    previous_response_id: null,
    store: true,
    metadata: {},
  };
}

function message(script: ResponsesScript, status: ResponseOutputMessage['status']): ResponseOutputMessage {
  return { type: 'message', id: `msg_${script.id ?? 'test'}`, role: 'assistant', status, content: [] };
}

function functionCall(script: ResponsesScript): ResponseFunctionCall {
  const f = script.functionCall!;
  return {
    type: 'function_call',
    id: `fc_${script.id ?? 'test'}`,
    call_id: f.callId ?? 'call_1',
    name: f.name,
    arguments: '',
  };
}

function textPart(text: string) {
  return { type: 'output_text' as const, text, annotations: [], logprobs: [] };
}
