/**
 * Request body validation for `/completions` and `/chat/completions`: JSON text in, a
 * typed request or an Azure-shaped 400 out. Never throws.
 *
 * Policy: fields we know are checked for type and range (Azure's and OpenAI's documented
 * limits); unknown fields are accepted and passed through to the backend untouched, as
 * Microsoft and OpenAI add fields at any time and a local backend simply ignores them. The
 * one exception is Azure's own: `stream_options` on an api-version older than
 * 2024-09-01-preview is rejected as `unknown_parameter`, as Azure does.
 * @module
 */
import type { ApiKind, ApiTypes, ChatCompletionRequest, CompletionRequest } from '../types.js';
import { type ErrorReply, invalidRequest } from './error-body.js';
import { acceptsStreamOptions } from './routes.js';

export interface ValidateContext {
  /** The dated route's api-version; undefined on v1 / OpenAI routes. */
  apiVersion?: string | undefined;
}

export type Validated<K extends ApiKind> =
  | {
      ok: true;
      body: ApiTypes[K]['request'];
      /** `stream: true` was asked. */
      stream: boolean;
    }
  | { ok: false; error: ErrorReply };

/** Azure documents `n` up to 128. */
export const MAX_N = 128;
/** OpenAI and Azure allow up to 4 stop sequences. */
export const MAX_STOP = 4;
/** Legacy Completions `best_of` limit (OpenAI documents 20). */
export const MAX_BEST_OF = 20;

const CHAT_ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

/**
 * Parses and validates a request body.
 *
 * @example
 * ```ts
 * const v = parseRequest('chat', '{"messages":[{"role":"user","content":"hi"}],"stream":true}', {});
 * if (!v.ok) sendError(v.error); else backend.stream({ kind: 'chat', body: v.body }, signal);
 * ```
 */
export function parseRequest<K extends ApiKind>(kind: K, text: string, context: ValidateContext): Validated<K> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(
      invalidRequest(
        'The request body is not valid JSON. Send a JSON object with Content-Type: application/json.',
        null,
        'invalid_json',
      ),
    );
  }
  return validateRequest(kind, value, context);
}

/** Validates an already-parsed body (see parseRequest). */
export function validateRequest<K extends ApiKind>(kind: K, value: unknown, context: ValidateContext): Validated<K> {
  if (!isObject(value)) {
    return fail(
      invalidRequest(`The request body must be a JSON object, not ${describe(value)}.`, null, 'invalid_type'),
    );
  }
  const error = checkCommon(value, context) ?? (kind === 'chat' ? checkChat(value) : checkCompletion(value));
  if (error) return fail(error);
  return { ok: true, body: value as ApiTypes[K]['request'], stream: value.stream === true };
}

// --- internal ---

type Obj = Record<string, unknown>;

function fail(error: ErrorReply): { ok: false; error: ErrorReply } {
  return { ok: false, error };
}

function checkCommon(b: Obj, context: ValidateContext): ErrorReply | undefined {
  return (
    optional(b, 'model', isString, 'a string') ??
    positiveInteger(b, 'max_tokens') ??
    numberIn(b, 'temperature', 0, 2) ??
    numberIn(b, 'top_p', 0, 1) ??
    integerIn(b, 'n', 1, MAX_N) ??
    checkStop(b.stop) ??
    integerIn(b, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) ??
    numberIn(b, 'presence_penalty', -2, 2) ??
    numberIn(b, 'frequency_penalty', -2, 2) ??
    checkLogitBias(b.logit_bias) ??
    optional(b, 'user', isString, 'a string') ??
    optional(b, 'stream', isBoolean, 'a boolean') ??
    checkStreamOptions(b, context)
  );
}

function checkChat(b: Obj): ErrorReply | undefined {
  const messages = b.messages;
  if (messages === undefined) return missing('messages');
  if (!Array.isArray(messages)) return wrongType('messages', 'an array', messages);
  if (messages.length === 0) return invalidValue('messages', "'messages' must contain at least one message.");
  for (let i = 0; i < messages.length; i++) {
    const error = checkMessage(messages[i], `messages[${i}]`);
    if (error) return error;
  }
  const chat = b as Partial<ChatCompletionRequest> & Obj;
  return (
    positiveInteger(chat, 'max_completion_tokens') ??
    optional(chat, 'logprobs', isBoolean, 'a boolean') ??
    integerIn(chat, 'top_logprobs', 0, 20) ??
    optional(chat, 'tools', Array.isArray, 'an array') ??
    optional(chat, 'response_format', isObject, 'an object') ??
    optional(chat, 'parallel_tool_calls', isBoolean, 'a boolean') ??
    optional(chat, 'tool_choice', (v) => isString(v) || isObject(v), 'a string or an object')
  );
}

function checkMessage(m: unknown, where: string): ErrorReply | undefined {
  if (!isObject(m)) return wrongType(where, 'an object', m);
  const role = m.role;
  if (role === undefined) return missing(`${where}.role`);
  if (typeof role !== 'string' || !CHAT_ROLES.has(role)) {
    return invalidRequest(
      `Invalid value for '${where}.role': expected one of ${[...CHAT_ROLES].join(', ')}.`,
      `${where}.role`,
      'invalid_value',
    );
  }
  const content = m.content;
  const param = `${where}.content`;
  if (content === undefined || content === null) {
    // Assistant turns that only call tools, and tool/function results, may carry no text.
    if (role === 'assistant' || role === 'function' || role === 'tool') return undefined;
    return content === null ? wrongType(param, 'a string or an array of content parts', null) : missing(param);
  }
  if (typeof content === 'string') return optional(m, 'name', isString, 'a string', `${where}.name`);
  if (!Array.isArray(content)) return wrongType(param, 'a string or an array of content parts', content);
  if (content.length === 0) return invalidValue(param, `'${param}' must contain at least one content part.`);
  for (let i = 0; i < content.length; i++) {
    const part = content[i];
    const at = `${param}[${i}]`;
    if (!isObject(part)) return wrongType(at, 'an object', part);
    if (typeof part.type !== 'string') return wrongType(`${at}.type`, 'a string', part.type);
    if (part.type === 'text' && typeof part.text !== 'string') return wrongType(`${at}.text`, 'a string', part.text);
  }
  return optional(m, 'name', isString, 'a string', `${where}.name`);
}

function checkCompletion(b: Obj): ErrorReply | undefined {
  const prompt = b.prompt;
  if (prompt === undefined) return missing('prompt');
  if (typeof prompt !== 'string') {
    if (!Array.isArray(prompt) || !prompt.every(isString)) {
      return wrongType('prompt', 'a string or an array of strings (token arrays are not supported)', prompt);
    }
    if (prompt.length === 0) return invalidValue('prompt', "'prompt' must contain at least one string.");
  }
  const c = b as Partial<CompletionRequest> & Obj;
  const error =
    integerIn(c, 'best_of', 1, MAX_BEST_OF) ??
    integerIn(c, 'logprobs', 0, 5) ??
    optional(c, 'echo', isBoolean, 'a boolean') ??
    optional(c, 'suffix', isString, 'a string');
  if (error) return error;
  if (isPresent(c.best_of)) {
    if (c.stream === true) return invalidValue('best_of', "'best_of' cannot be used with 'stream': true.");
    if ((c.best_of as number) < ((c.n ?? 1) as number)) {
      return invalidValue('best_of', "'best_of' must be greater than or equal to 'n'.");
    }
  }
  return undefined;
}

function checkStop(stop: unknown): ErrorReply | undefined {
  if (!isPresent(stop)) return undefined;
  if (typeof stop === 'string') return stop === '' ? invalidValue('stop', "'stop' must not be empty.") : undefined;
  if (!Array.isArray(stop) || !stop.every(isString)) return wrongType('stop', 'a string or an array of strings', stop);
  if (stop.length > MAX_STOP) {
    return invalidValue('stop', `'stop' allows at most ${MAX_STOP} sequences; got ${stop.length}.`);
  }
  if (stop.some((s) => s === '')) return invalidValue('stop', "'stop' sequences must not be empty.");
  return undefined;
}

function checkLogitBias(bias: unknown): ErrorReply | undefined {
  if (!isPresent(bias)) return undefined;
  if (!isObject(bias)) return wrongType('logit_bias', 'an object', bias);
  for (const [token, value] of Object.entries(bias)) {
    if (!/^\d+$/.test(token))
      return invalidValue('logit_bias', `'logit_bias' keys must be token ids; got '${token.slice(0, 32)}'.`);
    if (typeof value !== 'number' || !(value >= -100 && value <= 100)) {
      return invalidValue('logit_bias', "'logit_bias' values must be numbers between -100 and 100.");
    }
  }
  return undefined;
}

function checkStreamOptions(b: Obj, context: ValidateContext): ErrorReply | undefined {
  const options = b.stream_options;
  if (options === undefined) return undefined;
  if (!acceptsStreamOptions(context.apiVersion)) {
    return invalidRequest(
      `Unrecognized request argument supplied: stream_options (api-version ${context.apiVersion} does not support it; use 2024-09-01-preview or later).`,
      'stream_options',
      'unknown_parameter',
    );
  }
  if (options === null) return undefined;
  if (!isObject(options)) return wrongType('stream_options', 'an object', options);
  if (b.stream !== true) {
    return invalidValue('stream_options', "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
  }
  return optional(options, 'include_usage', isBoolean, 'a boolean', 'stream_options.include_usage');
}

// --- field checkers: each returns the 400 to send, or undefined ---

function optional(
  b: Obj,
  key: string,
  test: (v: unknown) => boolean,
  expected: string,
  param = key,
): ErrorReply | undefined {
  const v = b[key];
  return v === undefined || v === null || test(v) ? undefined : wrongType(param, expected, v);
}

function positiveInteger(b: Obj, key: string): ErrorReply | undefined {
  return integerIn(b, key, 1, 2 ** 31 - 1);
}

function integerIn(b: Obj, key: string, min: number, max: number): ErrorReply | undefined {
  const v = b[key];
  if (!isPresent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) return wrongType(key, 'an integer', v);
  if (v < min || v > max) return invalidValue(key, `'${key}' must be an integer from ${min} to ${max}; got ${v}.`);
  return undefined;
}

function numberIn(b: Obj, key: string, min: number, max: number): ErrorReply | undefined {
  const v = b[key];
  if (!isPresent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return wrongType(key, 'a number', v);
  if (v < min || v > max) return invalidValue(key, `'${key}' must be between ${min} and ${max}; got ${v}.`);
  return undefined;
}

function missing(param: string): ErrorReply {
  return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

function wrongType(param: string, expected: string, got: unknown): ErrorReply {
  return invalidRequest(
    `Invalid type for '${param}': expected ${expected}, but got ${describe(got)}.`,
    param,
    'invalid_type',
  );
}

function invalidValue(param: string, message: string): ErrorReply {
  return invalidRequest(message, param, 'invalid_value');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function isBoolean(v: unknown): v is boolean {
  return typeof v === 'boolean';
}
