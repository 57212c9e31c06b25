/**
 * The interactive chat's history: the turns so far, the messages a request sends, and what
 * to drop when the conversation no longer fits the model's context. Pure.
 * @module
 */
import { ErrorCodes } from '../errors.js';
import type { EndState } from '../protocol/end-state.js';
import type { ChatMessage } from '../types.js';

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
  /** The answer was cut short (Ctrl-C, time-out, broken stream). */
  interrupted?: boolean;
}

/**
 * The messages for a request: the system message (if any), then every turn.
 * @example
 * messagesFor('Be brief.', [{ role: 'user', content: 'hi' }]).length // 2
 */
export function messagesFor(system: string | undefined, turns: readonly Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (system !== undefined) messages.push({ role: 'system', content: system });
  for (const t of turns) messages.push({ role: t.role, content: t.content });
  return messages;
}

/**
 * True when a request failed because the conversation does not fit the model's context
 * (HTTP 400 `context_length_exceeded`, the code Azure, OpenAI and the local model use).
 * @example
 * isContextFull({ state: 'completed' }) // false
 */
export function isContextFull(end: EndState): boolean {
  if (end.state !== 'failed' || end.error.code !== ErrorCodes.BAD_REQUEST) return false;
  const body = (end.error as { body?: { error?: { code?: unknown } } }).body;
  return body?.error?.code === 'context_length_exceeded';
}

/**
 * Drops the oldest exchange (a question and its answer) from the front of `turns`, never
 * the latest turn; returns how many turns went (0: nothing left to drop).
 * @example
 * const turns = [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }];
 * dropOldestExchange(turns) // 2, leaving only 'c'
 */
export function dropOldestExchange(turns: Turn[]): number {
  if (turns.length <= 1) return 0;
  let n = 1;
  while (n < turns.length - 1 && turns[n]?.role !== 'user') n++;
  turns.splice(0, n);
  return n;
}
