/**
 * Builds realistic chunk scripts from plain text: role chunk (chat), word-piece content
 * chunks, a finish chunk per choice and a usage chunk sent only when the request asks.
 * @module
 */
import type { ApiKind, ChatCompletionChunk, ChatDelta, CompletionChunk, FinishReason, Usage } from '../../types.js';
import type { ScriptStep } from './scripted.js';

export interface TextScriptOptions {
  /** Chunk id; default `chatcmpl-scripted` / `cmpl-scripted`. */
  id?: string;
  /** Default `scripted-model`. */
  model?: string;
  /** Unix seconds; default 1700000000 (fixed, so scripts are deterministic). */
  created?: number;
  /** Number of choices; their chunks interleave piece by piece, like Azure's. Default 1. */
  n?: number;
  /** Default `stop`. */
  finishReason?: FinishReason;
  /** Milliseconds to wait before each content chunk. Default 0 (no delay steps). */
  delayMs?: number;
  /** Prompt tokens reported in the usage chunk. Default 1. */
  promptTokens?: number;
  /**
   * The usage chunk: `'if-requested'` (default) sends it only when the request had
   * `stream_options.include_usage`; `'always'` / `'never'` force it.
   */
  usage?: 'if-requested' | 'always' | 'never';
}

/**
 * Splits text into word pieces that keep their leading whitespace, like tokens do:
 * `"Hello big world"` -> `["Hello", " big", " world"]`. Joined, they are the text again.
 */
export function wordPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/**
 * A complete script for `text`, ready for createScriptedBackend. Completion tokens in the
 * usage chunk = word pieces × n.
 *
 * @example
 * ```ts
 * const backend = createScriptedBackend(textScript('completions', 'Once upon a time', { delayMs: 2 }));
 * ```
 */
export function textScript(kind: ApiKind, text: string, options: TextScriptOptions = {}): ScriptStep[] {
  const n = options.n ?? 1;
  const pieces = wordPieces(text);
  const head = {
    id: options.id ?? (kind === 'chat' ? 'chatcmpl-scripted' : 'cmpl-scripted'),
    created: options.created ?? 1700000000,
    model: options.model ?? 'scripted-model',
    system_fingerprint: null,
  };
  const steps: ScriptStep[] = [];
  const chunk = (choices: Array<{ index: number; text?: string; delta?: ChatDelta; finish: FinishReason | null }>) =>
    kind === 'chat' ? chatChunk(head, choices) : completionChunk(head, choices);

  if (kind === 'chat') {
    for (let i = 0; i < n; i++)
      steps.push({ chunk: chunk([{ index: i, delta: { role: 'assistant', content: '' }, finish: null }]) });
  }
  for (const piece of pieces) {
    if (options.delayMs) steps.push({ delay: options.delayMs });
    for (let i = 0; i < n; i++)
      steps.push({ chunk: chunk([{ index: i, text: piece, delta: { content: piece }, finish: null }]) });
  }
  const finishReason = options.finishReason ?? 'stop';
  for (let i = 0; i < n; i++) steps.push({ chunk: chunk([{ index: i, text: '', delta: {}, finish: finishReason }]) });

  const usageMode = options.usage ?? 'if-requested';
  if (usageMode !== 'never') {
    const promptTokens = options.promptTokens ?? 1;
    const usage: Usage = {
      prompt_tokens: promptTokens,
      completion_tokens: pieces.length * n,
      total_tokens: promptTokens + pieces.length * n,
    };
    const last = kind === 'chat' ? chatChunk(head, []) : completionChunk(head, []);
    last.usage = usage;
    steps.push({ chunk: last, ifUsageRequested: usageMode === 'if-requested' });
  }
  return steps;
}

// --- internal ---

interface Head {
  id: string;
  created: number;
  model: string;
  system_fingerprint: null;
}

function chatChunk(
  head: Head,
  choices: Array<{ index: number; delta?: ChatDelta; finish: FinishReason | null }>,
): ChatCompletionChunk {
  return {
    ...head,
    object: 'chat.completion.chunk',
    choices: choices.map((c) => ({ index: c.index, delta: c.delta ?? {}, finish_reason: c.finish, logprobs: null })),
  };
}

function completionChunk(
  head: Head,
  choices: Array<{ index: number; text?: string; finish: FinishReason | null }>,
): CompletionChunk {
  return {
    ...head,
    object: 'text_completion',
    choices: choices.map((c) => ({ index: c.index, text: c.text ?? '', finish_reason: c.finish, logprobs: null })),
  };
}
