/**
 * The model's context window as the chat page manages it: which messages are still sent,
 * dropping the oldest turn when the server says the context is full, and what the page knows
 * about the context's size. Pure functions (Node tests import this module).
 *
 * Where the context size comes from: the model's `/v1/models` entry when it states one
 * (`context_length`, which Sluice's server adds when the backend knows its context size, as
 * the embedded model does; or vLLM's `max_model_len`), else the `context_length_exceeded`
 * error's own words ("maximum context length is 512 tokens"), which both OpenAI and the
 * embedded model send. How much of it is used comes from the usage chunk
 * (`stream_options.include_usage`): prompt plus completion tokens of the last exchange.
 * @module
 */
import { CONTEXT_LENGTH_EXCEEDED, contextSizeOrUndefined, dropOldestExchange } from '../../protocol/context.js';
import type { AnswerEnd, AnswerStats, Message } from './types.js';

/** True when the request failed because prompt (plus room for the answer) exceeds the context. */
export function isContextOverflow(end: AnswerEnd | undefined): boolean {
  return end?.kind === 'failed' && end.code === CONTEXT_LENGTH_EXCEEDED;
}

/**
 * The context size a `/v1/models` entry states, or undefined (upstreams state none).
 *
 * @example
 * contextSizeOfModel({ id: 'm', object: 'model', context_length: 8192 }); // 8192
 */
export function contextSizeOfModel(entry: unknown): number | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const record = entry as { context_length?: unknown; max_model_len?: unknown };
  return contextSizeOrUndefined(record.context_length) ?? contextSizeOrUndefined(record.max_model_len);
}

/**
 * Where the messages sent to the model begin: `start` (the first message still sent), but
 * never past the latest user message, which is always sent.
 */
export function sentFrom(messages: readonly Message[], start: number): number {
  const lastUser = lastIndexOf(messages, 'user');
  return Math.max(0, Math.min(start, lastUser < 0 ? messages.length : lastUser));
}

/**
 * The start after dropping the oldest turn still sent (a user message and the answers after
 * it), or undefined when only the latest user turn is left: it alone does not fit.
 *
 * @example
 * // user, assistant, user, assistant, user: the first turn goes, the next starts at 2.
 * dropOldestTurn(messages, 0); // 2
 */
export function dropOldestTurn(messages: readonly Message[], start: number): number | undefined {
  const from = sentFrom(messages, start);
  // The CLI's chat drops by the same rule; the page keeps the messages on screen, so it
  // applies the rule to a copy and moves its start instead.
  const dropped = dropOldestExchange(messages.slice(from, lastIndexOf(messages, 'user') + 1));
  return dropped === 0 ? undefined : from + dropped;
}

/** How full the context was after an exchange: tokens used and, when known, the size. */
export interface ContextFill {
  used: number;
  size: number | undefined;
}

/**
 * Prompt + completion tokens of an exchange (exact counts from the usage chunk only), against
 * the context size if known; undefined without usage.
 */
export function contextFill(stats: AnswerStats | undefined, size: number | undefined): ContextFill | undefined {
  if (stats?.promptTokens === undefined || stats.tokens === undefined || !stats.tokensExact) return undefined;
  return { used: stats.promptTokens + stats.tokens, size };
}

// --- internal ---

function lastIndexOf(messages: readonly Message[], role: Message['role']): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === role) return i;
  return -1;
}
