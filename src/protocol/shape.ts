/**
 * Upstream chunks and responses are hostile until checked: the few structural rules every
 * consumer relies on (`choices` is an array of objects, indexes are small non-negative
 * integers, `delta` is an object), checked once where chunks enter (ResponseStream) and
 * where a non-streaming answer is parsed, so nothing downstream crashes on `null` or
 * allocates by an index a server made up.
 * @module
 */
import { ProtocolError } from '../errors.js';
import type { AnyChunk, AnyResponse, ApiKind, ApiTypes } from '../types.js';
import { excerpt } from './excerpt.js';
import { forgetSourceJson } from './source-json.js';

/**
 * The most choices a response may carry when the request does not say more (`n` × prompts).
 * 128 is OpenAI's own maximum `n`.
 */
export const DEFAULT_MAX_CHOICES = 128;

/** The most tool calls one choice may carry (OpenAI accepts at most 128 tools per request). */
export const MAX_TOOL_CALLS = 128;

/** Bounds on the indexes an upstream may use; indexes at or above them end the stream. */
export interface ShapeLimits {
  /** Choice (and prompt) indexes must be below this. */
  maxChoices: number;
  /** Tool-call indexes must be below this. */
  maxToolCalls: number;
}

/** The limits when nothing is known about the request. */
export const DEFAULT_SHAPE_LIMITS: Readonly<ShapeLimits> = Object.freeze({
  maxChoices: DEFAULT_MAX_CHOICES,
  maxToolCalls: MAX_TOOL_CALLS,
});

/**
 * The limits for a request: choice indexes up to `n` × the number of prompts (legacy
 * Completions with a prompt array answer `prompts × n` choices), never below the defaults.
 *
 * @example
 * shapeLimitsFor('completions', { prompt: ['a', 'b', 'c'], n: 100 }).maxChoices; // 300
 * shapeLimitsFor('chat', { messages: [] }).maxChoices; // 128
 */
export function shapeLimitsFor<K extends ApiKind>(kind: K, request?: ApiTypes[K]['request']): ShapeLimits {
  if (request === undefined || request === null) return DEFAULT_SHAPE_LIMITS;
  const n = typeof request.n === 'number' && Number.isInteger(request.n) && request.n > 0 ? request.n : 1;
  const prompt = (request as { prompt?: unknown }).prompt;
  // A prompt array of strings or of token arrays is several prompts; a string or one token array is one.
  const prompts =
    kind === 'completions' && Array.isArray(prompt) && prompt.length > 0 && typeof prompt[0] !== 'number'
      ? prompt.length
      : 1;
  const asked = n * prompts;
  return asked <= DEFAULT_MAX_CHOICES ? DEFAULT_SHAPE_LIMITS : { maxChoices: asked, maxToolCalls: MAX_TOOL_CALLS };
}

/**
 * Checks one parsed chunk and returns it, or throws ProtocolError (`unexpected-shape`)
 * naming what is wrong. The rules:
 * - `choices` is an array of objects. A chunk without `choices` (missing or `null`) is
 *   accepted only when it carries `usage` or prompt-filter results (several OpenAI-compatible
 *   servers send their usage chunk so); it gets `choices: []`, so consumers can rely on the
 *   array. Anything else without choices (`data: {}`) is malformed.
 * - A choice's `index` is an integer in [0, `maxChoices`); a missing index becomes 0 (one
 *   choice per request, as some servers assume).
 * - A chat choice's `delta`, when present, is an object (annotation choices have none);
 *   its `tool_calls`, when present, an array of objects with indexes below `maxToolCalls`.
 * - `prompt_filter_results` / `prompt_annotations`, when present, are arrays of objects
 *   whose `prompt_index` is below `maxChoices`.
 * Unknown fields pass; values the accumulator reads defensively (text, logprobs, filter
 * results) are not checked here. Cost: a few type checks per choice.
 *
 * @example
 * checkChunk(JSON.parse('{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}'), DEFAULT_SHAPE_LIMITS).choices; // []
 * checkChunk(JSON.parse('{}'), DEFAULT_SHAPE_LIMITS); // throws ProtocolError 'unexpected-shape'
 */
export function checkChunk<C extends AnyChunk>(chunk: C, limits: ShapeLimits): C {
  const record = chunk as unknown as Record<string, unknown>;
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw malformed('the chunk is not a JSON object', chunk);
  }
  const choices = record.choices;
  if (!Array.isArray(choices)) {
    if ((choices === undefined || choices === null) && carriesMoreThanChoices(record)) {
      forgetSourceJson(record);
      record.choices = [];
    } else throw malformed(`the chunk has ${describeValue(choices)} where \`choices\` (an array) belongs`, chunk);
  } else {
    for (let i = 0; i < choices.length; i++) checkChunkChoice(choices[i], i, limits, chunk);
  }
  if (record.prompt_filter_results !== undefined) checkPrompts(record.prompt_filter_results, limits, chunk);
  if (record.prompt_annotations !== undefined) checkPrompts(record.prompt_annotations, limits, chunk);
  return chunk;
}

/**
 * Checks a parsed non-streaming response: `choices` is an array of objects whose indexes
 * are integers below `maxChoices` (a missing index becomes 0). Throws ProtocolError
 * (`unexpected-shape`).
 *
 * @example
 * checkResponse(JSON.parse(body), shapeLimitsFor('chat', request));
 */
export function checkResponse<R extends AnyResponse>(response: R, limits: ShapeLimits): R {
  const record = response as unknown as Record<string, unknown>;
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw malformed('the response is not a JSON object', response);
  }
  const choices = record.choices;
  if (!Array.isArray(choices)) {
    throw malformed(`the response has ${describeValue(choices)} where \`choices\` (an array) belongs`, response);
  }
  for (let i = 0; i < choices.length; i++) {
    const choice: unknown = choices[i];
    if (!isObject(choice)) throw malformed(`choices[${i}] is ${describeValue(choice)}, not a choice object`, response);
    if (!isIndexBelow(choice.index, limits.maxChoices)) {
      checkIndex(choice, `choices[${i}].index`, limits.maxChoices, 'choices', response);
    }
  }
  if (record.prompt_filter_results !== undefined) checkPrompts(record.prompt_filter_results, limits, response);
  return response;
}

// --- internal ---------------------------------------------------------------------------
// Every chunk passes here: the common case (an index in range) is tested before anything
// else, and the names in the messages are built only for a chunk that breaks a rule.

function checkChunkChoice(choice: unknown, i: number, limits: ShapeLimits, chunk: unknown): void {
  if (!isObject(choice)) throw malformed(`choices[${i}] is ${describeValue(choice)}, not a choice object`, chunk);
  if (!isIndexBelow(choice.index, limits.maxChoices)) {
    checkIndex(choice, `choices[${i}].index`, limits.maxChoices, 'choices', chunk);
  }
  const delta = choice.delta;
  if (delta === undefined) return;
  if (!isObject(delta)) throw malformed(`choices[${i}].delta is ${describeValue(delta)}, not an object`, chunk);
  const calls = delta.tool_calls;
  if (calls === undefined || calls === null) return;
  if (!Array.isArray(calls)) {
    throw malformed(`choices[${i}].delta.tool_calls is ${describeValue(calls)}, not an array`, chunk);
  }
  for (let j = 0; j < calls.length; j++) {
    const call: unknown = calls[j];
    if (!isObject(call)) {
      throw malformed(`choices[${i}].delta.tool_calls[${j}] is ${describeValue(call)}, not a tool-call object`, chunk);
    }
    // A missing tool-call index is legal (the accumulator infers it); a present one is bounded.
    const index = call.index;
    if (index !== undefined && !isIndexBelow(index, limits.maxToolCalls)) {
      checkBound(index, `choices[${i}].delta.tool_calls[${j}].index`, limits.maxToolCalls, 'tool calls', chunk);
    }
  }
}

function checkPrompts(list: unknown, limits: ShapeLimits, whole: unknown): void {
  if (!Array.isArray(list)) throw malformed(`prompt filter results are ${describeValue(list)}, not an array`, whole);
  for (let i = 0; i < list.length; i++) {
    const prompt: unknown = list[i];
    if (!isObject(prompt)) throw malformed(`prompt filter result ${i} is ${describeValue(prompt)}`, whole);
    const index = prompt.prompt_index;
    if (index !== undefined && !isIndexBelow(index, limits.maxChoices)) {
      checkBound(index, `prompt filter result ${i}'s prompt_index`, limits.maxChoices, 'prompts', whole);
    }
  }
}

/** A missing `index` becomes 0; a present one must be an integer in [0, max). */
function checkIndex(owner: Record<string, unknown>, where: string, max: number, what: string, whole: unknown): void {
  const index = owner.index;
  if (index === undefined) {
    forgetSourceJson(whole as object);
    owner.index = 0;
  } else checkBound(index, where, max, what, whole);
}

/** Throws unless `index` is an integer in [0, max); `where` and `what` name it in the message. */
export function checkBound(index: unknown, where: string, max: number, what: string, whole: unknown): void {
  if (isIndexBelow(index, max)) return;
  if (typeof index === 'number' && Number.isInteger(index) && index >= max) {
    throw malformed(`${where} is ${index}, beyond the ${max} ${what} this request can have`, whole);
  }
  throw malformed(`${where} is ${describeValue(index)}, not an index`, whole);
}

/** An integer in [0, max): what every index must be. */
function isIndexBelow(index: unknown, max: number): boolean {
  return typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < max;
}

function carriesMoreThanChoices(record: Record<string, unknown>): boolean {
  return (
    isObject(record.usage) || Array.isArray(record.prompt_filter_results) || Array.isArray(record.prompt_annotations)
  );
}

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A value in words for an error message, never the whole of it. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${excerpt(JSON.stringify(value), 40)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

/** The ProtocolError (`unexpected-shape`) for an answer that breaks a rule: what, and an excerpt. */
export function malformed(what: string, whole: unknown): ProtocolError {
  let text: string;
  try {
    text = JSON.stringify(whole) ?? String(whole);
  } catch {
    text = String(whole);
  }
  return new ProtocolError(
    'unexpected-shape',
    `The server sent a malformed answer: ${what}. It does not follow the OpenAI format; check that the endpoint is an OpenAI-compatible API. What arrived before is kept. (${excerpt(text)})`,
  );
}
