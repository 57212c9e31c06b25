/**
 * The one request validator for `/completions`, `/chat/completions` and `/embeddings` bodies, used by the
 * server (before any backend is called), by the local backend (which plans from a body it
 * may get directly) and by the CLI's flag limits. A body is checked once against the wire
 * rules (OpenAI's and Azure's documented types and ranges), the work it asks for, and what
 * the backend can honour; the first problem comes back naming the parameter. No node-only
 * imports. Never throws.
 *
 * Policy: fields we know are checked for type and range; unknown fields pass through
 * untouched, as Microsoft and OpenAI add fields at any time. A backend that cannot honour
 * a known field (tools on the local model) says so in its capabilities and the field is
 * refused as Azure refuses an unsupported parameter, never silently ignored.
 * @module
 */
import type { ApiKind, ApiTypes } from '../types.js';
import { type EmbeddingsRequest, embeddingInputs, MAX_EMBEDDING_INPUTS } from './embeddings.js';
import { DEFAULT_MAX_CHOICES } from './shape.js';

/**
 * Choices one request may ask for: Azure documents `n` up to 128; prompts × n is held to the
 * same bound. The very bound a response's choices are held to (shape.ts), so one number.
 */
export const MAX_CHOICES = DEFAULT_MAX_CHOICES;
/** OpenAI and Azure allow up to 4 stop sequences. */
export const MAX_STOP = 4;
/** Legacy Completions `best_of` limit (OpenAI documents 20). */
export const MAX_BEST_OF = 20;
/** Legacy Completions default `max_tokens`, as OpenAI and Azure document it. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;
/** The largest `max_tokens` the wire format allows (a 32-bit integer). */
export const MAX_TOKENS_LIMIT = 2 ** 31 - 1;
/**
 * Tokens one request may ask to generate in all (prompts × n × max_tokens): 128 choices of
 * 2048 tokens. Past it a single request could hold a server for hours.
 */
export const MAX_REQUEST_TOKENS = MAX_CHOICES * 2048;

/** Temperature, top_p and penalty ranges, for the CLI's flags as much as for bodies. */
export const RANGES = {
  temperature: [0, 2],
  top_p: [0, 1],
  presence_penalty: [-2, 2],
  frequency_penalty: [-2, 2],
} as const;

/**
 * What a backend can honour. Absent (an upstream): everything, passed on unchanged.
 * A `false` here makes the matching fields a 400 naming the parameter.
 */
export interface RequestCapabilities {
  /** `tools`, `tool_choice`, `parallel_tool_calls`, `functions`, `function_call`. */
  tools?: boolean;
  /** The legacy `functions` and `function_call` (superseded by `tools`). */
  functions?: boolean;
  /** `response_format` other than `{"type": "text"}`. */
  responseFormat?: boolean;
  /** Content parts other than text (images, audio, files). */
  images?: boolean;
  /** Chat `logprobs: true`; Completions `logprobs` above 0. */
  logprobs?: boolean;
  /** Completions `best_of` greater than `n`. */
  bestOf?: boolean;
  /** The largest `max_tokens` honoured (the model's context size); larger is refused, not cut. */
  maxTokens?: number;
  /** Embeddings: the model's vector size; a `dimensions` other than it is refused. */
  embeddingDimensions?: number;
  /** Embeddings: the most tokens one input may have (the model's context size). */
  maxInputTokens?: number;
}

export interface ValidateContext {
  /** The dated route's api-version; undefined on v1 / OpenAI routes. */
  apiVersion?: string | undefined;
  /** What the backend can honour; undefined: everything (an upstream). */
  capabilities?: RequestCapabilities | undefined;
  /**
   * Checking at a backend, which always streams (the seam ignores `stream`): the rules
   * that tie fields to `stream` (`stream_options`, `best_of`) are the front door's.
   */
  atBackend?: boolean;
}

/** Why a body is refused: an `invalid_request_error` naming the parameter. */
export interface RequestProblem {
  message: string;
  /** The field at fault (`messages[0].content[1].type`), or null for the body as a whole. */
  param: string | null;
  /** `invalid_type`, `invalid_value`, `missing_required_parameter`, `unsupported_parameter`, ... */
  code: string;
}

export type Validated<K extends ApiKind> =
  | {
      ok: true;
      body: ApiTypes[K]['request'];
      /** `stream: true` was asked. */
      stream: boolean;
    }
  | { ok: false; problem: RequestProblem };

/**
 * Validates a parsed body.
 *
 * @example
 * ```ts
 * const v = validateRequest('chat', { messages: [{ role: 'user', content: 'hi' }], tools: [] }, { capabilities: { tools: false } });
 * v.ok; // false
 * !v.ok && v.problem.param; // 'tools'
 * ```
 */
export function validateRequest<K extends ApiKind>(
  kind: K,
  value: unknown,
  context: ValidateContext = {},
): Validated<K> {
  if (!isObject(value)) {
    return {
      ok: false,
      problem: problem(`The request body must be a JSON object, not ${describe(value)}.`, null, 'invalid_type'),
    };
  }
  const caps = context.capabilities;
  const found =
    checkCommon(value, context) ??
    (kind === 'chat' ? checkChat(value, caps) : checkCompletion(value, caps, context.atBackend === true)) ??
    checkWork(kind, value, caps);
  if (found) return { ok: false, problem: found };
  return { ok: true, body: value as ApiTypes[K]['request'], stream: value.stream === true };
}

/**
 * Parses JSON text, then validates it (see validateRequest).
 *
 * @example
 * parseRequest('completions', '{"prompt":"Once upon a time","max_tokens":5}').ok; // true
 */
export function parseRequest<K extends ApiKind>(kind: K, text: string, context: ValidateContext = {}): Validated<K> {
  const parsed = parseJsonBody(text);
  return 'problem' in parsed ? parsed : validateRequest(kind, parsed.value, context);
}

/** A checked embeddings body, or why it is refused. */
export type ValidatedEmbeddings = { ok: true; body: EmbeddingsRequest } | { ok: false; problem: RequestProblem };

/**
 * Validates an embeddings body: `input` (a string, strings, a token array or token arrays;
 * not empty, at most 2048 inputs, token arrays within `maxInputTokens`), `encoding_format`
 * (`float` or `base64`), `dimensions` (a positive integer; refused unless it is the model's
 * own size when the backend states it), `user`, `model`. Unknown fields pass, as for chat.
 *
 * @example
 * validateEmbeddingsRequest({ input: ['a', 'b'], encoding_format: 'base64' }).ok; // true
 * validateEmbeddingsRequest({ input: [] }); // { ok: false, problem: { param: 'input', ... } }
 */
export function validateEmbeddingsRequest(value: unknown, context: ValidateContext = {}): ValidatedEmbeddings {
  if (!isObject(value)) {
    return {
      ok: false,
      problem: problem(`The request body must be a JSON object, not ${describe(value)}.`, null, 'invalid_type'),
    };
  }
  const found = checkEmbeddings(value, context.capabilities);
  return found ? { ok: false, problem: found } : { ok: true, body: value as EmbeddingsRequest };
}

/**
 * Parses JSON text, then validates it as an embeddings body (see validateEmbeddingsRequest).
 *
 * @example
 * parseEmbeddingsRequest('{"input":"Once upon a time"}').ok; // true
 */
export function parseEmbeddingsRequest(text: string, context: ValidateContext = {}): ValidatedEmbeddings {
  const parsed = parseJsonBody(text);
  return 'problem' in parsed ? parsed : validateEmbeddingsRequest(parsed.value, context);
}

/**
 * The 400 for an input longer than the model reads, naming `input` and the limit: from the
 * validator for token arrays, from a backend once it has tokenized a text.
 *
 * @example
 * inputTooLong(1, 600, 512).param; // 'input'
 */
export function inputTooLong(index: number, tokens: number, limit: number): RequestProblem {
  return invalidValue(
    'input',
    `Input ${index} has ${tokens} tokens; this model reads at most ${limit} tokens per input. Shorten it or split it into several inputs.`,
  );
}

/**
 * `stream_options` arrived in api-version 2024-09-01-preview (and 2024-10-21 GA); older
 * Azure versions reject it with 400 unknown_parameter. Undefined (v1 and OpenAI routes) and
 * non-dated versions (`v1`, `latest`, `preview`) accept it.
 *
 * @example
 * acceptsStreamOptions('2024-02-01'); // false
 * acceptsStreamOptions('2024-10-21'); // true
 */
export function acceptsStreamOptions(apiVersion: string | undefined): boolean {
  if (apiVersion === undefined) return true;
  const dated = /^(\d{4}-\d{2}-\d{2})/.exec(apiVersion)?.[1];
  return dated === undefined || dated >= '2024-09-01';
}

/**
 * The `max_tokens` a request asks for: chat's `max_completion_tokens` wins over `max_tokens`;
 * Completions default to 16; chat's default is undefined (until the context is full).
 *
 * @example
 * requestedMaxTokens('completions', { prompt: 'x' }); // 16
 */
export function requestedMaxTokens(kind: ApiKind, body: Record<string, unknown>): number | undefined {
  const asked = kind === 'chat' ? (body.max_completion_tokens ?? body.max_tokens) : body.max_tokens;
  if (typeof asked === 'number') return asked;
  return kind === 'completions' ? DEFAULT_COMPLETION_MAX_TOKENS : undefined;
}

/**
 * A request body's JSON, or the one `invalid_json` problem every route answers with.
 * @example
 * parseJsonBody('{"model":"story"}'); // { value: { model: 'story' } }
 * 'problem' in parseJsonBody('{'); // true (code 'invalid_json')
 */
export function parseJsonBody(text: string): { value: unknown } | { ok: false; problem: RequestProblem } {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return {
      ok: false,
      problem: problem(
        'The request body is not valid JSON. Send a JSON object with Content-Type: application/json.',
        null,
        'invalid_json',
      ),
    };
  }
}

// --- internal ---

type Obj = Record<string, unknown>;

function checkEmbeddings(b: Obj, caps: RequestCapabilities | undefined): RequestProblem | undefined {
  const input = b.input;
  if (input === undefined || input === null) return missing('input');
  const expected = 'a string, an array of strings, an array of token ids or an array of token-id arrays';
  if (typeof input === 'string') {
    if (input === '') return invalidValue('input', "'input' must not be empty.");
  } else {
    if (!Array.isArray(input)) return wrongType('input', expected, input);
    if (input.length === 0) return invalidValue('input', "'input' must contain at least one input.");
    const inputs = embeddingInputs(input as string[]);
    if (inputs.length > MAX_EMBEDDING_INPUTS) {
      return invalidValue(
        'input',
        `'input' has ${inputs.length} inputs; at most ${MAX_EMBEDDING_INPUTS} are allowed per request. Split the request.`,
      );
    }
    const strings = typeof inputs[0] === 'string';
    for (let i = 0; i < inputs.length; i++) {
      const item = inputs[i];
      if (strings ? typeof item !== 'string' : !isTokenArray(item)) return wrongType(`input[${i}]`, expected, item);
      if (item!.length === 0) return invalidValue(`input[${i}]`, `'input[${i}]' must not be empty.`);
      const limit = caps?.maxInputTokens;
      if (!strings && limit !== undefined && item!.length > limit) return inputTooLong(i, item!.length, limit);
    }
  }
  const format = b.encoding_format;
  if (isPresent(format) && format !== 'float' && format !== 'base64') {
    return invalidValue('encoding_format', "'encoding_format' must be 'float' or 'base64'.");
  }
  const error =
    integerIn(b, 'dimensions', 1, MAX_TOKENS_LIMIT) ??
    optional(b, 'user', isString, 'a string') ??
    optional(b, 'model', isString, 'a string');
  if (error) return error;
  const size = caps?.embeddingDimensions;
  if (isPresent(b.dimensions) && size !== undefined && b.dimensions !== size) {
    return unsupported(
      'dimensions',
      `'dimensions' other than its own ${size} (it was not trained to shorten its vectors)`,
    );
  }
  return undefined;
}

function isTokenArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((t) => Number.isInteger(t) && t >= 0 && t <= MAX_TOKENS_LIMIT);
}

const CHAT_ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const LEGACY_FUNCTION_FIELDS = ['functions', 'function_call'] as const;
const TOOL_FIELDS = ['tools', 'tool_choice', 'parallel_tool_calls', ...LEGACY_FUNCTION_FIELDS] as const;

function checkCommon(b: Obj, context: ValidateContext): RequestProblem | undefined {
  return (
    optional(b, 'model', isString, 'a string') ??
    numberIn(b, 'temperature', ...RANGES.temperature) ??
    numberIn(b, 'top_p', ...RANGES.top_p) ??
    integerIn(b, 'n', 1, MAX_CHOICES) ??
    checkStop(b.stop) ??
    integerIn(b, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) ??
    numberIn(b, 'presence_penalty', ...RANGES.presence_penalty) ??
    numberIn(b, 'frequency_penalty', ...RANGES.frequency_penalty) ??
    checkLogitBias(b.logit_bias) ??
    optional(b, 'user', isString, 'a string') ??
    optional(b, 'stream', isBoolean, 'a boolean') ??
    checkStreamOptions(b, context)
  );
}

function checkChat(b: Obj, caps: RequestCapabilities | undefined): RequestProblem | undefined {
  const messages = b.messages;
  if (messages === undefined) return missing('messages');
  if (!Array.isArray(messages)) return wrongType('messages', 'an array', messages);
  if (messages.length === 0) return invalidValue('messages', "'messages' must contain at least one message.");
  for (let i = 0; i < messages.length; i++) {
    const error = checkMessage(messages[i], i, caps);
    if (error) return error;
  }
  const error =
    maxTokens(b, 'max_tokens', 1, caps) ??
    maxTokens(b, 'max_completion_tokens', 1, caps) ??
    optional(b, 'logprobs', isBoolean, 'a boolean') ??
    integerIn(b, 'top_logprobs', 0, 20) ??
    optional(b, 'tools', Array.isArray, 'an array') ??
    optional(b, 'response_format', isObject, 'an object') ??
    optional(b, 'parallel_tool_calls', isBoolean, 'a boolean') ??
    optional(b, 'tool_choice', (v) => isString(v) || isObject(v), 'a string or an object');
  if (error || !caps) return error;
  if (caps.tools === false) {
    for (const field of TOOL_FIELDS) if (isPresent(b[field])) return unsupported(field, 'tool calling');
  } else if (caps.functions === false) {
    for (const field of LEGACY_FUNCTION_FIELDS) {
      if (isPresent(b[field])) return unsupported(field, "the legacy 'functions' (send 'tools' instead)");
    }
  }
  if (caps.responseFormat === false && isObject(b.response_format) && b.response_format.type !== 'text') {
    return unsupported('response_format', 'response formats other than text');
  }
  if (caps.logprobs === false && b.logprobs === true) return unsupported('logprobs', 'logprobs');
  return undefined;
}

/**
 * `messages[index]`. The common message (a known role, text content, no name) is checked with
 * no string built: the parameter paths are made only for a problem.
 */
function checkMessage(m: unknown, index: number, caps: RequestCapabilities | undefined): RequestProblem | undefined {
  if (!isObject(m)) return wrongType(`messages[${index}]`, 'an object', m);
  const role = m.role;
  if (role === undefined) return missing(`messages[${index}].role`);
  if (typeof role !== 'string' || !CHAT_ROLES.has(role)) {
    return problem(
      `Invalid value for 'messages[${index}].role': expected one of ${[...CHAT_ROLES].join(', ')}.`,
      `messages[${index}].role`,
      'invalid_value',
    );
  }
  const content = m.content;
  if (typeof content === 'string') {
    // `optional`'s rule, with the path built only for a problem.
    return absentOr(m.name, isString) ? undefined : wrongType(`messages[${index}].name`, 'a string', m.name);
  }
  return checkMessageParts(m, role, content, `messages[${index}]`, caps);
}

/** The rest of `checkMessage`: no content, or content parts. */
function checkMessageParts(
  m: Obj,
  role: string,
  content: unknown,
  where: string,
  caps: RequestCapabilities | undefined,
): RequestProblem | undefined {
  const param = `${where}.content`;
  if (content === undefined || content === null) {
    // Assistant turns that only call tools, and tool/function results, may carry no text.
    if (role === 'assistant' || role === 'function' || role === 'tool') return undefined;
    return content === null ? wrongType(param, 'a string or an array of content parts', null) : missing(param);
  }
  if (!Array.isArray(content)) return wrongType(param, 'a string or an array of content parts', content);
  if (content.length === 0) return invalidValue(param, `'${param}' must contain at least one content part.`);
  for (let i = 0; i < content.length; i++) {
    const part = content[i];
    if (!isObject(part)) return wrongType(`${param}[${i}]`, 'an object', part);
    if (typeof part.type !== 'string') return wrongType(`${param}[${i}].type`, 'a string', part.type);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') return wrongType(`${param}[${i}].text`, 'a string', part.text);
    } else if (caps?.images === false) {
      return unsupported(`${param}[${i}].type`, `'${part.type.slice(0, 32)}' content parts (only text)`);
    }
  }
  return optional(m, 'name', isString, 'a string', `${where}.name`);
}

function checkCompletion(
  b: Obj,
  caps: RequestCapabilities | undefined,
  atBackend: boolean,
): RequestProblem | undefined {
  const prompt = b.prompt;
  if (prompt === undefined) return missing('prompt');
  if (typeof prompt !== 'string') {
    if (!Array.isArray(prompt) || !prompt.every(isString)) {
      return wrongType('prompt', 'a string or an array of strings (token arrays are not supported)', prompt);
    }
    if (prompt.length === 0) return invalidValue('prompt', "'prompt' must contain at least one string.");
  }
  const error =
    // Completions accept 0: with `echo`, the prompt alone comes back (OpenAI documents this use).
    maxTokens(b, 'max_tokens', 0, caps) ??
    integerIn(b, 'best_of', 1, MAX_BEST_OF) ??
    integerIn(b, 'logprobs', 0, 5) ??
    optional(b, 'echo', isBoolean, 'a boolean') ??
    optional(b, 'suffix', isString, 'a string');
  if (error) return error;
  const n = (b.n ?? 1) as number;
  if (isPresent(b.best_of)) {
    if (b.stream === true && !atBackend) {
      return invalidValue('best_of', "'best_of' cannot be used with 'stream': true.");
    }
    if ((b.best_of as number) < n) return invalidValue('best_of', "'best_of' must be greater than or equal to 'n'.");
    if (caps?.bestOf === false && (b.best_of as number) > n)
      return unsupported('best_of', "'best_of' greater than 'n'");
  }
  if (caps?.logprobs === false && typeof b.logprobs === 'number' && b.logprobs > 0) {
    return unsupported('logprobs', 'logprobs');
  }
  return undefined;
}

/** The work one request asks for: choices (prompts × n) and tokens (choices × max_tokens). */
function checkWork(kind: ApiKind, b: Obj, caps: RequestCapabilities | undefined): RequestProblem | undefined {
  const prompts = kind === 'completions' && Array.isArray(b.prompt) ? b.prompt.length : 1;
  const n = (b.n ?? 1) as number;
  const choices = prompts * n;
  if (choices > MAX_CHOICES) {
    return invalidValue(
      kind === 'completions' ? 'prompt' : 'n',
      `This request asks for ${choices} choices (${prompts} prompt${prompts === 1 ? '' : 's'} × n=${n}); at most ${MAX_CHOICES} are allowed per request. Send fewer prompts or a smaller 'n', or split the request.`,
    );
  }
  const perChoice = requestedMaxTokens(kind, b) ?? caps?.maxTokens;
  if (perChoice !== undefined && choices * perChoice > MAX_REQUEST_TOKENS) {
    return invalidValue(
      'max_tokens',
      `This request may generate up to ${choices * perChoice} tokens (${choices} choices × ${perChoice} max_tokens); at most ${MAX_REQUEST_TOKENS} are allowed per request. Lower 'max_tokens' or 'n', or split the request.`,
    );
  }
  return undefined;
}

function maxTokens(
  b: Obj,
  key: string,
  min: number,
  caps: RequestCapabilities | undefined,
): RequestProblem | undefined {
  const error = integerIn(b, key, min, MAX_TOKENS_LIMIT);
  if (error) return error;
  const v = b[key];
  const limit = caps?.maxTokens;
  if (typeof v === 'number' && limit !== undefined && v > limit) {
    return invalidValue(
      key,
      `${key} is too large: ${v}. This model supports at most ${limit} completion tokens, whereas you provided ${v}.`,
    );
  }
  return undefined;
}

function checkStop(stop: unknown): RequestProblem | undefined {
  if (!isPresent(stop)) return undefined;
  if (typeof stop === 'string') return stop === '' ? invalidValue('stop', "'stop' must not be empty.") : undefined;
  if (!Array.isArray(stop) || !stop.every(isString)) return wrongType('stop', 'a string or an array of strings', stop);
  if (stop.length > MAX_STOP) {
    return invalidValue('stop', `'stop' allows at most ${MAX_STOP} sequences; got ${stop.length}.`);
  }
  if (stop.some((s) => s === '')) return invalidValue('stop', "'stop' sequences must not be empty.");
  return undefined;
}

function checkLogitBias(bias: unknown): RequestProblem | undefined {
  if (!isPresent(bias)) return undefined;
  if (!isObject(bias)) return wrongType('logit_bias', 'an object', bias);
  for (const [token, value] of Object.entries(bias)) {
    if (!/^\d+$/.test(token)) {
      return invalidValue('logit_bias', `'logit_bias' keys must be token ids; got '${token.slice(0, 32)}'.`);
    }
    if (typeof value !== 'number' || !(value >= -100 && value <= 100)) {
      return invalidValue('logit_bias', "'logit_bias' values must be numbers between -100 and 100.");
    }
  }
  return undefined;
}

function checkStreamOptions(b: Obj, context: ValidateContext): RequestProblem | undefined {
  const options = b.stream_options;
  if (options === undefined) return undefined;
  if (!acceptsStreamOptions(context.apiVersion)) {
    return problem(
      `Unrecognized request argument supplied: stream_options (api-version ${context.apiVersion} does not support it; use 2024-09-01-preview or later).`,
      'stream_options',
      'unknown_parameter',
    );
  }
  if (options === null) return undefined;
  if (!isObject(options)) return wrongType('stream_options', 'an object', options);
  if (b.stream !== true && !context.atBackend) {
    return invalidValue('stream_options', "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
  }
  return optional(options, 'include_usage', isBoolean, 'a boolean', 'stream_options.include_usage');
}

// --- field checkers: each returns the problem, or undefined ---

function optional(
  b: Obj,
  key: string,
  test: (v: unknown) => boolean,
  expected: string,
  param = key,
): RequestProblem | undefined {
  const v = b[key];
  return absentOr(v, test) ? undefined : wrongType(param, expected, v);
}

/** An optional parameter's rule: absent (`undefined` or `null`) or passing `test`. */
function absentOr(v: unknown, test: (v: unknown) => boolean): boolean {
  return v === undefined || v === null || test(v);
}

function integerIn(b: Obj, key: string, min: number, max: number): RequestProblem | undefined {
  const v = b[key];
  if (!isPresent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) return wrongType(key, 'an integer', v);
  if (v < min || v > max) return invalidValue(key, `'${key}' must be an integer from ${min} to ${max}; got ${v}.`);
  return undefined;
}

function numberIn(b: Obj, key: string, min: number, max: number): RequestProblem | undefined {
  const v = b[key];
  if (!isPresent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return wrongType(key, 'a number', v);
  if (v < min || v > max) return invalidValue(key, `'${key}' must be between ${min} and ${max}; got ${v}.`);
  return undefined;
}

function problem(message: string, param: string | null, code: string): RequestProblem {
  return { message, param, code };
}

function missing(param: string): RequestProblem {
  return problem(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

function wrongType(param: string, expected: string, got: unknown): RequestProblem {
  return problem(`Invalid type for '${param}': expected ${expected}, but got ${describe(got)}.`, param, 'invalid_type');
}

function invalidValue(param: string, message: string): RequestProblem {
  return problem(message, param, 'invalid_value');
}

/** Azure's wording for a parameter the model cannot honour. */
function unsupported(param: string, what: string): RequestProblem {
  return problem(
    `Unsupported parameter: '${param}'. This model does not support ${what}; remove the parameter, or use a deployment that supports it.`,
    param,
    'unsupported_parameter',
  );
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
