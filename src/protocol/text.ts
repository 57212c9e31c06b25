/**
 * Which choices carry answer text, and what it is: the one rule behind every "text of" in
 * Sluice (the client's `text()` and `textDeltas()`, the CLI's printing, the web page, the
 * server's first-token metric, the conformance suite).
 *
 * The rule, and the differences its callers are meant to keep:
 * - The answer text of a choice is `delta.content` (chat chunk), `message.content` (chat
 *   response), or `text` (legacy Completions chunk or response). `choiceText` returns it.
 * - A choice that could carry text but carries none (a role-only delta, `content: null`
 *   beside tool calls, a finish chunk) has text `''`; a choice with no text field at all (an
 *   Azure asynchronous-filter annotation: only filter results and offsets) has `undefined`.
 *   Callers that must tell annotations apart (the conformance suite, the web page's
 *   retraction) test for `undefined`; every other caller treats both as "no text".
 * - Only the answer counts: `refusal`, tool-call arguments and `function_call` are not text
 *   to show as the answer. Whether a chunk carries *generated content* (for first-token time
 *   and tokens/s) is a wider question: the client's metrics also count refusals and tool-call
 *   deltas there, on purpose.
 * - Which choice to read is the caller's choice: `text()` and the web page read choice 0
 *   (they ask for one choice), `textDeltas()` and the CLI every choice by its `index`.
 * @module
 */
import type { AnyChunk } from '../types.js';

/** One piece of new text for one choice. */
export interface TextDelta {
  index: number;
  text: string;
}

/**
 * The answer text of one choice, streamed or not: `delta.content`, `message.content` or
 * `text`; `''` when the choice could carry text but has none; `undefined` when it has no
 * text field at all (an annotation choice). Accepts anything: upstream data is not trusted.
 *
 * @example
 * choiceText({ index: 0, delta: { content: 'Hi' }, finish_reason: null }); // 'Hi'
 * choiceText({ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'tool_calls' }); // ''
 * choiceText({ index: 0, content_filter_results: {}, finish_reason: null }); // undefined
 */
export function choiceText(choice: unknown): string | undefined {
  if (choice === null || typeof choice !== 'object') return undefined;
  const c = choice as { delta?: unknown; message?: unknown; text?: unknown };
  const carrier = c.delta !== undefined ? c.delta : c.message;
  if (carrier !== undefined) {
    if (carrier === null || typeof carrier !== 'object') return '';
    const content = (carrier as { content?: unknown }).content;
    return typeof content === 'string' ? content : '';
  }
  if (c.text === undefined) return undefined;
  return typeof c.text === 'string' ? c.text : '';
}

/**
 * The text a chunk adds, per choice, in the chunk's order (see `choiceText`). Chunks without
 * choices (Azure's prompt-filter and usage chunks), annotation choices and empty strings
 * are skipped.
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
    const text = choiceText(choice);
    if (text !== undefined && text.length > 0) out.push({ index: choice.index, text });
  }
  return out;
}
