/**
 * Builds OpenAI/Azure-shaped chunks for one request: one id and `created` for all of them,
 * `logprobs: null` and `finish_reason: null` until a choice ends, `usage: null` on every
 * chunk when the caller asked for a usage chunk (as OpenAI does).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { ChatCompletionChunk, CompletionChunk, FinishReason, Usage } from '../../types.js';

export interface ChunkMaker<C> {
  /** Chat: `delta: {role: 'assistant', content: ''}`. Completions: null (no role chunk). */
  role(index: number): C | null;
  content(index: number, text: string): C;
  finish(index: number, reason: FinishReason): C;
  usage(usage: Usage): C;
}

interface Head {
  id: string;
  created: number;
  model: string;
  includeUsage: boolean;
}

/** `chatcmpl-` / `cmpl-` followed by 24 random base-62-ish characters, like OpenAI's. */
export function chunkId(prefix: 'chatcmpl' | 'cmpl'): string {
  return `${prefix}-${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export function chatChunks(model: string, includeUsage: boolean): ChunkMaker<ChatCompletionChunk> {
  const head: Head = { id: chunkId('chatcmpl'), created: Math.floor(Date.now() / 1000), model, includeUsage };
  const make = (choices: ChatCompletionChunk['choices']): ChatCompletionChunk => {
    const chunk: ChatCompletionChunk = {
      id: head.id,
      object: 'chat.completion.chunk',
      created: head.created,
      model: head.model,
      system_fingerprint: null,
      choices,
    };
    if (head.includeUsage) chunk.usage = null;
    return chunk;
  };
  return {
    role: (index) => make([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]),
    content: (index, text) => make([{ index, delta: { content: text }, logprobs: null, finish_reason: null }]),
    finish: (index, reason) => make([{ index, delta: {}, logprobs: null, finish_reason: reason }]),
    usage: (usage) => {
      const chunk = make([]);
      chunk.usage = usage;
      return chunk;
    },
  };
}

export function completionChunks(model: string, includeUsage: boolean): ChunkMaker<CompletionChunk> {
  const head: Head = { id: chunkId('cmpl'), created: Math.floor(Date.now() / 1000), model, includeUsage };
  const make = (choices: CompletionChunk['choices']): CompletionChunk => {
    const chunk: CompletionChunk = {
      id: head.id,
      object: 'text_completion',
      created: head.created,
      model: head.model,
      system_fingerprint: null,
      choices,
    };
    if (head.includeUsage) chunk.usage = null;
    return chunk;
  };
  return {
    role: () => null,
    content: (index, text) => make([{ text, index, logprobs: null, finish_reason: null }]),
    finish: (index, reason) => make([{ text: '', index, logprobs: null, finish_reason: reason }]),
    usage: (usage) => {
      const chunk = make([]);
      chunk.usage = usage;
      return chunk;
    },
  };
}
