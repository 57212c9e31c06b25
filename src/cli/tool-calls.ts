/**
 * Tool calls as the CLI shows them, one readable line each on stderr (stdout keeps the
 * answer's text): `⚙ get_weather({"city":"Paris"})`. `--json` prints the chunks raw instead.
 * @module
 */
import type { AnyResponse } from '../types.js';
import { stripControls } from './render/terminal.js';

/**
 * The lines for every tool call of a response, choice by choice; `[choice i]` labels them
 * when `n` > 1. Names and arguments come from the model or an upstream: control characters
 * are dropped, and arguments that parse as JSON are shown compact.
 *
 * @example
 * toolCallLines(response, 1); // ['⚙ get_weather({"city":"Paris"})']
 */
export function toolCallLines(response: AnyResponse | undefined, n: number): string[] {
  const lines: string[] = [];
  if (!response) return lines;
  const choices = [...response.choices].sort((a, b) => a.index - b.index);
  for (const choice of choices) {
    const message = (choice as { message?: { tool_calls?: unknown } }).message;
    const calls = Array.isArray(message?.tool_calls) ? message.tool_calls : [];
    for (const call of calls as Array<{ function?: { name?: unknown; arguments?: unknown } } | null>) {
      const fn = call?.function;
      const name = typeof fn?.name === 'string' ? fn.name : '?';
      const args = typeof fn?.arguments === 'string' ? fn.arguments : '';
      const label = n > 1 ? `[choice ${choice.index}] ` : '';
      lines.push(stripControls(`${label}⚙ ${name}(${compact(args)})`).replace(/\n/g, ' '));
    }
  }
  return lines;
}

function compact(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args));
  } catch {
    return args;
  }
}
