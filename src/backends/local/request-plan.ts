/**
 * Reads and checks a request body once, before any slot is taken: bad input is a
 * BadRequestError (400, Azure's error shape) and costs no model time.
 * @module
 */

import type { BackendRequest } from '../../backend.js';
import { BadRequestError } from '../../errors.js';
import type { ChatMessage, ContentPart } from '../../types.js';

/** Legacy Completions default, as OpenAI and Azure document it. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;
/** OpenAI's limits. */
const MAX_N = 128;
const MAX_STOPS = 4;

export interface RequestPlan {
  kind: 'chat' | 'completions';
  /** Completions: one entry per prompt. Chat: empty. */
  prompts: string[];
  /** Chat: the conversation. Completions: empty. */
  messages: Array<{ role: string; text: string }>;
  n: number;
  /** Undefined: until the context is full (chat's default). */
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  /** Choice i uses seed + i, so choices differ yet a request is reproducible. */
  seed: number;
  stops: string[];
  presencePenalty: number;
  frequencyPenalty: number;
  includeUsage: boolean;
  /** Completions `echo`: the prompt is sent first, as part of the choice's text. */
  echo: boolean;
}

/**
 * @example
 * ```ts
 * const plan = planRequest({ kind: 'completions', body: { prompt: 'Once upon a time', max_tokens: 20 } });
 * plan.maxTokens; // 20
 * ```
 */
export function planRequest(request: BackendRequest): RequestPlan {
  const body = request.body as unknown as Record<string, unknown>;
  if (body === null || typeof body !== 'object') throw invalid('The request body must be a JSON object.', null);
  const kind = request.kind;

  const n = integer(body, 'n', 1, 1, MAX_N);
  const maxTokens =
    kind === 'chat'
      ? (optionalInteger(body, 'max_completion_tokens', 1) ?? optionalInteger(body, 'max_tokens', 1))
      : (optionalInteger(body, 'max_tokens', 0) ?? DEFAULT_COMPLETION_MAX_TOKENS);
  const temperature = number(body, 'temperature', 1, 0, 2);
  const topP = number(body, 'top_p', 1, 0, 1);
  const seedValue = body.seed ?? undefined;
  if (seedValue !== undefined && !Number.isSafeInteger(seedValue)) throw invalid('seed must be an integer.', 'seed');
  const seed = seedValue === undefined ? randomSeed() : (seedValue as number);
  const presencePenalty = number(body, 'presence_penalty', 0, -2, 2);
  const frequencyPenalty = number(body, 'frequency_penalty', 0, -2, 2);
  const stops = stopList(body.stop);
  const streamOptions = body.stream_options as { include_usage?: unknown } | null | undefined;
  const includeUsage = streamOptions?.include_usage === true;

  if (kind === 'chat') {
    if (body.logprobs === true) throw unsupported('logprobs', 'logprobs');
    return {
      kind,
      prompts: [],
      messages: chatMessages(body.messages),
      n,
      maxTokens,
      temperature,
      topP,
      seed,
      stops,
      presencePenalty,
      frequencyPenalty,
      includeUsage,
      echo: false,
    };
  }
  if (typeof body.logprobs === 'number' && body.logprobs > 0) throw unsupported('logprobs', 'logprobs');
  const bestOf = body.best_of;
  if (typeof bestOf === 'number' && bestOf > n) throw unsupported('best_of greater than n', 'best_of');
  return {
    kind,
    prompts: promptList(body.prompt),
    messages: [],
    n,
    maxTokens,
    temperature,
    topP,
    seed,
    stops,
    presencePenalty,
    frequencyPenalty,
    includeUsage,
    echo: body.echo === true,
  };
}

/** The text of a message's content: strings as they are, text parts joined, other parts skipped. */
export function contentText(content: ChatMessage['content'] | undefined): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as ContentPart[]) {
    if (part.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}

// --- internal ---

function invalid(message: string, param: string | null, code = 'invalid_value'): BadRequestError {
  return new BadRequestError(message, {
    status: 400,
    body: { error: { message, type: 'invalid_request_error', param, code } },
  });
}

function unsupported(what: string, param: string): BadRequestError {
  return invalid(`The local model backend does not support ${what}.`, param, 'unsupported_parameter');
}

function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}

function integer(body: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}.`, name);
  }
  return value as number;
}

function optionalInteger(body: Record<string, unknown>, name: string, min: number): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || (value as number) < min)
    throw invalid(`${name} must be an integer of at least ${min}.`, name);
  return value as number;
}

function number(body: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const value = body[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(`${name} must be a number from ${min} to ${max}.`, name);
  }
  return value;
}

function stopList(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.length > MAX_STOPS || !list.every((s) => typeof s === 'string')) {
    throw invalid(`stop must be a string or an array of up to ${MAX_STOPS} strings.`, 'stop');
  }
  return list.filter((s) => s.length > 0);
}

function promptList(prompt: unknown): string[] {
  if (typeof prompt === 'string') return [prompt];
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string')) return prompt;
  throw invalid('prompt must be a string or a non-empty array of strings.', 'prompt');
}

function chatMessages(messages: unknown): Array<{ role: string; text: string }> {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalid('messages must be a non-empty array.', 'messages');
  }
  return messages.map((m: unknown, i) => {
    const message = m as Partial<ChatMessage> | null;
    if (message === null || typeof message !== 'object' || typeof message.role !== 'string') {
      throw invalid(`messages[${i}] must be an object with a role.`, `messages[${i}]`);
    }
    const content = message.content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      throw invalid(`messages[${i}].content must be a string or an array of parts.`, `messages[${i}].content`);
    }
    return { role: message.role, text: contentText(content) };
  });
}
