/**
 * A Responses request as a Chat Completions request, for backends that only speak chat
 * (the local model): `instructions` becomes the system message, `input` (a string, or
 * messages with string or text parts, earlier function calls and their outputs) the
 * conversation, `max_output_tokens` `max_tokens`, function tools chat tools, `text.format`
 * `response_format`. What has no chat equivalent is refused with a problem naming the
 * Responses parameter, never dropped. Browser-safe.
 * @module
 */

import type { ChatCompletionRequest, ChatMessage, ContentPart, ToolDefinition } from '../../types.js';
import type { RequestProblem } from '../request.js';
import { isObject } from '../shape.js';
import type { ResponseCreateRequest, ResponseInputItem } from './types.js';

/** The chat request, or the problem to answer with a 400. */
export type ChatFromResponses = { ok: true; body: ChatCompletionRequest } | { ok: false; problem: RequestProblem };

/**
 * Builds the chat request for a Responses request. `history` is what `previous_response_id`
 * names: that response's input items and output items, in order, before this `input`.
 * The chat request always streams and asks for usage (the Responses answer carries it).
 *
 * @example
 * chatRequestFromResponses({ model: 'm', instructions: 'Be brief', input: 'Hi', max_output_tokens: 20 });
 * // { ok: true, body: { model: 'm', messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi' }],
 * //   max_tokens: 20, stream: true, stream_options: { include_usage: true } } }
 */
export function chatRequestFromResponses(
  request: ResponseCreateRequest,
  history: readonly ResponseInputItem[] = [],
): ChatFromResponses {
  const messages: ChatMessage[] = [];
  if (request.instructions !== undefined && request.instructions !== null) {
    if (typeof request.instructions !== 'string') return invalidType('instructions', 'a string');
    messages.push({ role: 'system', content: request.instructions });
  }
  const added = addItems(messages, history, 'previous_response_id');
  if (added) return { ok: false, problem: added };
  const input = request.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input)) {
    const problem = addItems(messages, input, 'input');
    if (problem) return { ok: false, problem };
  } else if (input !== undefined && input !== null) return invalidType('input', 'a string or an array of items');
  if (messages.length === 0 || messages.every((m) => m.role === 'system')) {
    return {
      ok: false,
      problem: { message: "Missing required parameter: 'input'.", param: 'input', code: 'missing_required_parameter' },
    };
  }

  const body: ChatCompletionRequest = { messages, stream: true, stream_options: { include_usage: true } };
  if (typeof request.model === 'string') body.model = request.model;
  if (request.max_output_tokens !== undefined && request.max_output_tokens !== null) {
    body.max_tokens = request.max_output_tokens;
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (typeof request.user === 'string') body.user = request.user;
  if (typeof request.parallel_tool_calls === 'boolean') body.parallel_tool_calls = request.parallel_tool_calls;

  if (request.tools !== undefined) {
    if (!Array.isArray(request.tools)) return invalidType('tools', 'an array');
    const tools: ToolDefinition[] = [];
    for (let i = 0; i < request.tools.length; i++) {
      const tool = request.tools[i];
      if (!isObject(tool) || tool.type !== 'function' || typeof tool.name !== 'string') {
        return unsupported(
          `tools[${i}].type`,
          `Only function tools ({"type": "function", "name": ...}) can be served by this model; tools[${i}] is ${isObject(tool) ? JSON.stringify(String(tool.type)).slice(0, 60) : 'not an object'}.`,
        );
      }
      const fn: ToolDefinition['function'] = { name: tool.name };
      if (typeof tool.description === 'string') fn.description = tool.description;
      if (isObject(tool.parameters)) fn.parameters = tool.parameters;
      if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
      tools.push({ type: 'function', function: fn });
    }
    if (tools.length > 0) body.tools = tools;
  }
  const choice = request.tool_choice;
  if (choice !== undefined && choice !== null) {
    if (choice === 'none' || choice === 'auto' || choice === 'required') body.tool_choice = choice;
    else if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string') {
      body.tool_choice = { type: 'function', function: { name: choice.name } };
    } else return unsupported('tool_choice', 'tool_choice must be "none", "auto", "required" or a named function.');
  }
  const format = isObject(request.text) ? request.text.format : undefined;
  if (isObject(format) && format.type !== 'text') {
    if (format.type === 'json_object') body.response_format = { type: 'json_object' };
    else if (format.type === 'json_schema') {
      const schema: Record<string, unknown> = { name: format.name, schema: format.schema };
      if (format.strict !== undefined) schema.strict = format.strict;
      if (format.description !== undefined) schema.description = format.description;
      body.response_format = { type: 'json_schema', json_schema: schema };
    } else return unsupported('text.format.type', 'text.format.type must be "text", "json_object" or "json_schema".');
  }
  return { ok: true, body };
}

/**
 * A problem found in the chat request built here, named as the Responses parameter it came
 * from (`max_tokens` -> `max_output_tokens`, `messages[3]...` -> `input`), so a 400 points
 * at what the caller sent.
 *
 * @example
 * responsesProblem({ message: 'max_tokens must be ...', param: 'max_tokens', code: 'invalid_value' });
 * // { message: 'max_output_tokens must be ...', param: 'max_output_tokens', code: 'invalid_value' }
 */
export function responsesProblem(problem: RequestProblem): RequestProblem {
  const param = problem.param;
  if (param === null) return problem;
  const renamed = RENAMED.find(
    ([chat]) => param === chat || param.startsWith(`${chat}.`) || param.startsWith(`${chat}[`),
  );
  if (!renamed) return problem;
  const [chat, responses] = renamed;
  return {
    ...problem,
    param: responses,
    message: problem.message.split(chat).join(responses),
  };
}

// --- internal ---

const RENAMED: ReadonlyArray<readonly [string, string]> = [
  ['max_tokens', 'max_output_tokens'],
  ['messages', 'input'],
  ['response_format', 'text.format'],
];

/** Appends `items` as chat messages; a problem names `where[i]`. */
function addItems(
  messages: ChatMessage[],
  items: readonly ResponseInputItem[],
  where: string,
): RequestProblem | undefined {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const at = `${where}[${i}]`;
    if (!isObject(item)) return { message: `${at} must be an object.`, param: at, code: 'invalid_type' };
    const type = item.type ?? 'message';
    if (type === 'message') {
      const role = item.role === 'developer' ? 'system' : item.role;
      if (role !== 'user' && role !== 'assistant' && role !== 'system') {
        return {
          message: `${at}.role must be "user", "assistant", "system" or "developer".`,
          param: `${at}.role`,
          code: 'invalid_value',
        };
      }
      const content = contentOf(item.content, `${at}.content`);
      if (typeof content === 'object' && !Array.isArray(content)) return content;
      messages.push({ role, content });
    } else if (type === 'function_call') {
      if (typeof item.call_id !== 'string' || typeof item.name !== 'string' || typeof item.arguments !== 'string') {
        return {
          message: `${at} (a function_call) needs string call_id, name and arguments.`,
          param: at,
          code: 'invalid_type',
        };
      }
      const call = {
        id: item.call_id,
        type: 'function' as const,
        function: { name: item.name, arguments: item.arguments },
      };
      const last = messages.at(-1);
      // Parallel calls of one turn are one assistant message in chat.
      if (last?.role === 'assistant' && last.tool_calls && (last.content === null || last.content === '')) {
        last.tool_calls.push(call);
      } else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') {
        return { message: `${at}.call_id must be a string.`, param: `${at}.call_id`, code: 'invalid_type' };
      }
      const output = contentOf(item.output, `${at}.output`);
      if (typeof output === 'object' && !Array.isArray(output)) return output;
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: output });
    } else if (type === 'reasoning') {
      // An upstream model's reasoning sent back: there is nothing in it for this model to read.
    } else {
      return {
        message: `Input items of type ${JSON.stringify(String(type)).slice(0, 60)} cannot be served by this model: send messages, function_call and function_call_output items.`,
        param: `${at}.type`,
        code: 'unsupported_value',
      };
    }
  }
  return undefined;
}

/** A message's content as chat content: a string, or parts when there is more than text. */
function contentOf(content: unknown, at: string): string | ContentPart[] | RequestProblem {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) {
    return { message: `${at} must be a string or an array of parts.`, param: at, code: 'invalid_type' };
  }
  const parts: ContentPart[] = [];
  let allText = true;
  for (let i = 0; i < content.length; i++) {
    const part = content[i];
    if (!isObject(part))
      return { message: `${at}[${i}] must be an object.`, param: `${at}[${i}]`, code: 'invalid_type' };
    if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text === 'string') {
      parts.push({ type: 'text', text: part.text });
    } else if (part.type === 'refusal' && typeof part.refusal === 'string') {
      parts.push({ type: 'text', text: part.refusal });
    } else if (part.type === 'input_image' && typeof part.image_url === 'string') {
      allText = false;
      parts.push({ type: 'image_url', image_url: { url: part.image_url } });
    } else {
      return {
        message: `${at}[${i}] of type ${JSON.stringify(String(part.type)).slice(0, 60)} cannot be served by this model: send input_text parts.`,
        param: `${at}[${i}].type`,
        code: 'unsupported_value',
      };
    }
  }
  return allText ? parts.map((p) => (p as { text: string }).text).join('') : parts;
}

function invalidType(param: string, what: string): ChatFromResponses {
  return { ok: false, problem: { message: `${param} must be ${what}.`, param, code: 'invalid_type' } };
}

function unsupported(param: string, message: string): ChatFromResponses {
  return { ok: false, problem: { message, param, code: 'unsupported_value' } };
}
