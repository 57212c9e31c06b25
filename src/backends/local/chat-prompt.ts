/**
 * Chat messages -> prompt. A model with a chat template gets it (through node-llama-cpp's
 * chat wrappers); a base model gets a plain transcript it can continue:
 *
 *     System: You tell stories.
 *     User: Tell me about a cat.
 *     Assistant:
 *
 * with generation stopped where the model starts writing the next turn. Tool calls are
 * written the way the local backend makes the model write them (generate-turn.ts):
 *
 *     System: Tools: get_weather(city, unit)
 *     User: Weather in Paris?
 *     Assistant: call get_weather {"city":"Paris","unit":"c"}
 *     Tool: {"temperature":21}
 *     Assistant:
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

/** What starts an assistant turn that calls a tool: `call <name> ` (then the arguments). */
export function toolCallPrefix(name: string): string {
  return `call ${name} `;
}

/**
 * An assistant turn's tool calls as the prompt shows them, one per line. Anything malformed
 * (the request validator does not look inside `tool_calls`) is shown as far as it is text.
 *
 * @example
 * toolCallText([{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }]); // 'call f {}'
 */
export function toolCallText(calls: readonly unknown[]): string {
  const lines: string[] = [];
  for (const call of calls) {
    const fn = typeof call === 'object' && call !== null ? (call as { function?: unknown }).function : undefined;
    if (typeof fn !== 'object' || fn === null) continue;
    const { name, arguments: args } = fn as { name?: unknown; arguments?: unknown };
    if (typeof name !== 'string') continue;
    lines.push(`${toolCallPrefix(name)}${typeof args === 'string' ? args : ''}`.trim());
  }
  return lines.join('\n');
}

/**
 * The system line that tells the model which tools exist (names and parameter names only: the
 * tiny model's context is short, and the grammar, not the prompt, enforces the schema).
 *
 * @example
 * toolsText([{ name: 'get_weather', parameterNames: ['city'] }]); // 'Tools: get_weather(city)'
 */
export function toolsText(functions: ReadonlyArray<{ name: string; parameterNames: readonly string[] }>): string {
  return `Tools: ${functions.map((f) => `${f.name}(${f.parameterNames.join(', ')})`).join(', ')}`;
}

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
