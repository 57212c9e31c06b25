/**
 * Continuing an answer elsewhere (`continue_on_failure`): the request that asks another
 * target for the rest of a partial answer (the partial as prefill: chat's assistant prefix,
 * completions' prompt tail), and the re-spelling that makes the continuation's chunks read
 * as the first answer's. One rule for both places an answer is continued: the router, when
 * a target fails mid-stream, and a resumable stream's takeover, when the instance producing
 * it died.
 * @module
 */
import type {
  AnyChunk,
  AnyResponse,
  ApiKind,
  ApiTypes,
  ChatCompletion,
  ChatCompletionRequest,
  Completion,
  CompletionRequest,
} from '../types.js';
import { forgetSourceJson } from './source-json.js';

/** The first answer's identity, which a continuation's chunks are re-spelled with. */
export interface Origin {
  id: string;
  created: number;
  model: string;
  systemFingerprint: unknown;
}

/**
 * The identity of the answer `chunk` belongs to.
 *
 * @example
 * const origin = originOf(firstContentChunk);
 */
export function originOf(chunk: AnyChunk): Origin {
  return { id: chunk.id, created: chunk.created, model: chunk.model, systemFingerprint: chunk.system_fingerprint };
}

/**
 * A continuation's chunk, spelled as the first answer's (in place: each chunk is fresh).
 *
 * @example
 * for await (const chunk of target.stream(next, signal)) {
 *   respell(chunk, origin);
 *   yield chunk;
 * }
 */
export function respell(chunk: AnyChunk, origin: Origin): void {
  // Changed in place: the upstream's own text no longer describes it (protocol/source-json.ts).
  forgetSourceJson(chunk);
  chunk.id = origin.id;
  chunk.created = origin.created;
  chunk.model = origin.model;
  if (origin.systemFingerprint !== undefined) chunk.system_fingerprint = origin.systemFingerprint as string | null;
  else delete chunk.system_fingerprint;
  for (const choice of chunk.choices) {
    const delta = (choice as { delta?: { role?: unknown } }).delta;
    if (delta?.role !== undefined) delete delta.role;
  }
}

/**
 * The request that continues `partial` on another target, or undefined when it cannot be
 * continued: more than one choice, an echo, a prompt list, a tool call under way (never
 * spliced), or an answer that had already finished. `used`: the content chunks already
 * sent, taken off the token allowance.
 *
 * @example
 * const next = continuation('chat', body, accumulator.response(), used);
 * if (next === undefined) throw error; // fails explicitly, partial kept
 */
export function continuation<K extends ApiKind>(
  kind: K,
  body: ApiTypes[K]['request'],
  partial: AnyResponse,
  used: number,
): ApiTypes[K]['request'] | undefined {
  if ((body.n ?? 1) !== 1 || partial.choices.length > 1) return undefined;
  const choice = partial.choices[0];
  if (choice && choice.finish_reason !== null) return undefined;
  const budget = remainingTokens(body, used);
  if (kind === 'chat') {
    const message = (choice as ChatCompletion['choices'][number] | undefined)?.message;
    if (message?.tool_calls?.length || message?.function_call !== undefined || message?.refusal) return undefined;
    const text = typeof message?.content === 'string' ? message.content : '';
    const chat = body as ChatCompletionRequest;
    return {
      ...chat,
      ...budget,
      messages: [...chat.messages, { role: 'assistant', content: text }],
    } as ApiTypes[K]['request'];
  }
  const completion = body as CompletionRequest;
  if (completion.echo) return undefined;
  const text = (choice as Completion['choices'][number] | undefined)?.text ?? '';
  const prompt = completion.prompt;
  if (Array.isArray(prompt) && prompt.length !== 1) return undefined;
  const head = Array.isArray(prompt) ? (prompt[0] as string) : prompt;
  return { ...completion, ...budget, prompt: head + text } as ApiTypes[K]['request'];
}

// --- internal ---

/** The token allowance left for a continuation: the request's, less the content chunks already sent (one token each, as upstreams stream them). */
function remainingTokens(body: ApiTypes[ApiKind]['request'], used: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of ['max_tokens', 'max_completion_tokens'] as const) {
    const limit = (body as Record<string, unknown>)[key];
    if (typeof limit === 'number') out[key] = Math.max(1, limit - used);
  }
  return out;
}
