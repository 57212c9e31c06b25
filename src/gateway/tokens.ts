/**
 * Counting tokens where no upstream reports them: a request's prompt (for the reservation
 * before it runs) and a stream's generated text (when the upstream sent no usage, or the
 * stream ended before its usage chunk). js-tiktoken's `o200k_base` (the GPT-4o family's
 * encoding) is the default: exact for GPT-4o-class upstreams, an estimate for others. The
 * embedded model can count with its own tokenizer instead (serve-backends passes it). Chat
 * prompts add OpenAI's documented overhead: 3 tokens per message and 3 to prime the reply.
 * @module
 */

import { choiceText } from '../protocol/text.js';
import type { AnyChunk, ApiKind } from '../types.js';

/** Counts the tokens of a text (the embedded model's counter is asynchronous). Must not throw. */
export type CountTokens = (text: string) => number | Promise<number>;

/** Per message and per reply, as OpenAI counts chat prompts. */
const MESSAGE_OVERHEAD = 3;

let o200k: ((text: string) => number) | undefined;

/**
 * The default counter (`o200k_base`), loaded once (its table is a 2 MB module).
 *
 * @example
 * const count = await defaultTokenCounter();
 * count('Hello, world'); // 3
 */
export async function defaultTokenCounter(): Promise<(text: string) => number> {
  if (o200k) return o200k;
  const [{ Tiktoken }, { default: ranks }] = await Promise.all([
    import('js-tiktoken/lite'),
    import('js-tiktoken/ranks/o200k_base'),
  ]);
  const encoder = new Tiktoken(ranks);
  // Special-token text (`<|endoftext|>`) in a prompt is counted as plain text, never refused.
  o200k = boundedCounter((text) => encoder.encode(text, [], []).length);
  return o200k;
}

/** Text up to this long is counted exactly (longer: the rest at the rate measured on it). */
export const EXACT_CHARS = 16_384;
/** A run without whitespace longer than this is counted in slices of this length. */
const RUN_SLICE = 32;
/** At most this many slices of long runs are counted exactly (the rest at their measured rate). */
const MAX_SLICES = 32;
const LONG_RUN = /\S{33,}/g;

/**
 * Bounds the work of a BPE counter on hostile text. js-tiktoken's merge is quadratic in the
 * length of a run without whitespace (10,000 'a's take 13 s), and a prompt may be 1 MiB: so
 * runs longer than 32 characters are counted in 32-character slices (at most 32 slices;
 * beyond, at the rate those slices showed), and text past the first 16,384 characters at
 * the rate the counted part showed. Ordinary text is counted exactly; the worst case costs
 * about 20 ms.
 *
 * @example
 * const count = boundedCounter((s) => encoder.encode(s).length);
 * count('a'.repeat(1_000_000)); // an estimate, in milliseconds
 */
export function boundedCounter(exact: (text: string) => number): (text: string) => number {
  return (text) => {
    if (text.length <= 2048 && !/\S{33,}/.test(text)) return exact(text);
    const head = text.length > EXACT_CHARS ? text.slice(0, EXACT_CHARS) : text;
    let slices = 0;
    let sliceChars = 0;
    let sliceTokens = 0;
    let estimatedChars = 0;
    const rest = head.replace(LONG_RUN, (run) => {
      for (let i = 0; i < run.length; i += RUN_SLICE) {
        if (slices >= MAX_SLICES) {
          estimatedChars += run.length - i;
          break;
        }
        const slice = run.slice(i, i + RUN_SLICE);
        slices++;
        sliceChars += slice.length;
        sliceTokens += exact(slice);
      }
      return ' ';
    });
    let tokens = exact(rest) + sliceTokens;
    if (estimatedChars > 0) tokens += Math.ceil((estimatedChars * sliceTokens) / Math.max(1, sliceChars));
    if (head.length < text.length) tokens += Math.ceil(((text.length - head.length) * tokens) / head.length);
    return tokens;
  };
}

/**
 * The prompt tokens of a request body (chat messages or a Completions prompt): the text is
 * counted in one call, plus the per-message overhead and any prompt given as token ids.
 *
 * @example
 * await promptTokens('chat', { messages: [{ role: 'user', content: 'Hi' }] }, count) // count('user\nHi') + 6
 */
export async function promptTokens(kind: ApiKind, body: Record<string, unknown>, count: CountTokens): Promise<number> {
  const parts: string[] = [];
  let extra = 0;
  if (kind === 'completions') {
    const prompt = body.prompt;
    if (typeof prompt === 'string') parts.push(prompt);
    else if (Array.isArray(prompt)) {
      for (const p of prompt) {
        if (typeof p === 'string') parts.push(p);
        else if (Array.isArray(p)) extra += p.length;
      }
    }
  } else {
    extra += MESSAGE_OVERHEAD;
    const messages = Array.isArray(body.messages) ? body.messages : [];
    for (const message of messages) {
      if (message === null || typeof message !== 'object') continue;
      extra += MESSAGE_OVERHEAD;
      for (const value of Object.values(message as Record<string, unknown>)) parts.push(textOf(value));
    }
    if (body.tools !== undefined) parts.push(JSON.stringify(body.tools));
  }
  return extra + (parts.length === 0 ? 0 : await count(parts.join('\n')));
}

/**
 * The generated text of a chunk that costs completion tokens: answer text, tool-call names
 * and arguments.
 */
export function generatedText(chunk: AnyChunk): string {
  let out = '';
  const choices = chunk.choices;
  if (!Array.isArray(choices)) return out;
  for (const choice of choices) {
    const text = choiceText(choice);
    if (text) out += text;
    const calls = (choice as { delta?: { tool_calls?: unknown } }).delta?.tool_calls;
    if (Array.isArray(calls)) {
      for (const call of calls) {
        const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
        if (typeof fn?.name === 'string') out += fn.name;
        if (typeof fn?.arguments === 'string') out += fn.arguments;
      }
    }
  }
  return out;
}

/** The text inside a message field: a string, or the text parts of a content array. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    let out = '';
    for (const part of value) {
      const text = (part as { text?: unknown } | null)?.text;
      if (typeof text === 'string') out += text;
    }
    return out;
  }
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return '';
}
