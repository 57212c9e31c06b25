/**
 * Builds realistic chunk scripts from plain text: role chunk (chat), word-piece content
 * chunks, a finish chunk per choice and a usage chunk sent only when the request asks.
 * @module
 */
import { chunkBuilder } from '../../protocol/chunks.js';
import type { ApiKind, FinishReason, Usage } from '../../types.js';
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
  /**
   * A `{gate: true}` step before every piece after the first and before the finish chunks:
   * the first piece arrives at once, each further one when the test calls `release()` (see
   * ScriptStep). Default false.
   */
  gated?: boolean;
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
 * A complete script for `text` (split into word pieces) or for the given pieces, ready for
 * createScriptedBackend. Completion tokens in the usage chunk = pieces × n.
 *
 * @example
 * ```ts
 * const backend = createScriptedBackend(textScript('completions', 'Once upon a time', { delayMs: 2 }));
 * const gated = createScriptedBackend(textScript('chat', ['Hel', 'lo'], { gated: true })); // 'lo' after gated.release()
 * ```
 */
export function textScript(
  kind: ApiKind,
  text: string | readonly string[],
  options: TextScriptOptions = {},
): ScriptStep[] {
  const n = options.n ?? 1;
  const pieces = typeof text === 'string' ? wordPieces(text) : text;
  const chunks = chunkBuilder(kind, {
    id: options.id ?? (kind === 'chat' ? 'chatcmpl-scripted' : 'cmpl-scripted'),
    created: options.created ?? 1700000000,
    model: options.model ?? 'scripted-model',
    systemFingerprint: null,
  });
  const steps: ScriptStep[] = [];
  for (let i = 0; i < n; i++) {
    const role = chunks.role(i);
    if (role) steps.push({ chunk: role });
  }
  for (const [p, piece] of pieces.entries()) {
    if (options.gated && p > 0) steps.push({ gate: true });
    if (options.delayMs) steps.push({ delay: options.delayMs });
    for (let i = 0; i < n; i++) steps.push({ chunk: chunks.content(i, piece) });
  }
  if (options.gated) steps.push({ gate: true });
  const finishReason = options.finishReason ?? 'stop';
  for (let i = 0; i < n; i++) steps.push({ chunk: chunks.finish(i, finishReason) });

  const usageMode = options.usage ?? 'if-requested';
  if (usageMode !== 'never') {
    const promptTokens = options.promptTokens ?? 1;
    const usage: Usage = {
      prompt_tokens: promptTokens,
      completion_tokens: pieces.length * n,
      total_tokens: promptTokens + pieces.length * n,
    };
    steps.push({ chunk: chunks.usage(usage), ifUsageRequested: usageMode === 'if-requested' });
  }
  return steps;
}
