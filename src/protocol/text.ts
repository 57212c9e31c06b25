/**
 * The visible text a chunk adds, per choice.
 * @module
 */
import type { AnyChunk } from '../types.js';

/** One piece of new text for one choice. */
export interface TextDelta {
  index: number;
  text: string;
}

/**
 * The text a chunk adds, per choice, in the chunk's order: `delta.content` for Chat
 * Completions, `text` for legacy Completions. Chunks without choices (Azure's prompt-filter
 * and usage chunks), annotation choices (no `delta`/`text`) and empty strings are skipped.
 *
 * Only the answer text counts: `delta.refusal`, tool-call arguments and `function_call`
 * are not text to show as the answer, so they are left to the accumulator.
 *
 * @example
 * textDeltas({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm',
 *   choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] });
 * // -> [{ index: 0, text: 'Hi' }]
 */
export function textDeltas(chunk: AnyChunk): TextDelta[] {
  const out: TextDelta[] = [];
  const choices = chunk.choices;
  if (choices === undefined || choices === null) return out;
  for (let i = 0; i < choices.length; i++) {
    const choice = choices[i]!;
    // Chat choices carry `delta`; completions choices carry `text`. Annotations carry neither.
    const delta = (choice as { delta?: { content?: unknown } }).delta;
    const text = delta !== undefined && delta !== null ? delta.content : (choice as { text?: unknown }).text;
    if (typeof text === 'string' && text.length > 0) out.push({ index: choice.index, text });
  }
  return out;
}
