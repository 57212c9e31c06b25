/**
 * Chat messages -> prompt. A model with a chat template gets it (through node-llama-cpp's
 * chat wrappers); a base model gets a plain transcript it can continue:
 *
 *     System: You tell stories.
 *     User: Tell me about a cat.
 *     Assistant:
 *
 * with generation stopped where the model starts writing the next turn.
 * @module
 */
import type { ChatHistory } from './engine.js';

/** Where a transcript turn starts; each is also a stop sequence (preceded by a newline). */
const SPEAKERS: Record<string, string> = {
  system: 'System',
  developer: 'System',
  user: 'User',
  assistant: 'Assistant',
  tool: 'Tool',
  function: 'Tool',
};

/** Stop sequences for the transcript: the start of any other turn. */
export const TRANSCRIPT_STOPS: readonly string[] = ['\nUser:', '\nSystem:', '\nAssistant:', '\nTool:'];

/**
 * @example
 * ```ts
 * transcriptPrompt([{ role: 'user', text: 'Hi' }]); // "User: Hi\nAssistant:"
 * ```
 */
export function transcriptPrompt(messages: ReadonlyArray<{ role: string; text: string }>): string {
  let text = '';
  for (const m of messages) text += `${SPEAKERS[m.role] ?? 'User'}: ${m.text.trim()}\n`;
  return `${text}Assistant:`;
}

/** The same conversation in node-llama-cpp's shape, ending with an open assistant turn. */
export function chatHistory(messages: ReadonlyArray<{ role: string; text: string }>): ChatHistory {
  const history: ChatHistory = [];
  for (const m of messages) {
    const speaker = SPEAKERS[m.role] ?? 'User';
    if (speaker === 'System') history.push({ type: 'system', text: m.text });
    else if (speaker === 'Assistant') history.push({ type: 'model', response: [m.text] });
    // Tool results have no slot of their own in a plain template: they are shown to the model as user text.
    else history.push({ type: 'user', text: speaker === 'Tool' ? `Tool result: ${m.text}` : m.text });
  }
  history.push({ type: 'model', response: [] });
  return history;
}
