/**
 * The interactive chat's history: the turns so far, the messages a request sends, and what
 * to drop when the conversation no longer fits the model's context. Pure.
 * @module
 */
import { isContextLengthError } from '../protocol/context.js';
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
 * True when a request failed because the conversation does not fit the model's context.
 * @example
 * isContextFull({ state: 'completed' }) // false
 */
export function isContextFull(end: EndState): boolean {
  return end.state === 'failed' && isContextLengthError(end.error);
}
