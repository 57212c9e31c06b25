/**
 * The prompt from the command line and stdin: `-` stands for stdin; piped stdin without
 * `-` is appended to the arguments after a blank line (`cat notes.txt | sluice chat
 * "summarize this"`). Trailing newlines of stdin are dropped: `echo text | sluice` asks
 * for the text, not for a continuation after a line break.
 * @module
 */
import type { CliIO } from './io.js';
import { UsageError } from './usage-error.js';

/** Stdin is read whole before the request; this bounds it. */
export const MAX_STDIN_BYTES = 16 * 1024 * 1024;

/**
 * @example
 * await readPromptInput(io, ['summarize this'], 'chat') // 'summarize this\n\n<stdin>' when piped
 */
export async function readPromptInput(io: CliIO, positionals: string[], command: string): Promise<string | undefined> {
  const dash = positionals.includes('-');
  if (!dash && io.stdinKind !== 'piped') return positionals.length > 0 ? positionals.join(' ') : undefined;
  const input = (await readStdin(io, command)).replace(/(\r?\n)+$/, '');
  if (dash) return positionals.map((p) => (p === '-' ? input : p)).join(' ');
  if (positionals.length === 0) return input === '' ? undefined : input;
  return input === '' ? positionals.join(' ') : `${positionals.join(' ')}\n\n${input}`;
}

/**
 * All of stdin, as text, up to MAX_STDIN_BYTES (beyond: a UsageError).
 * @example
 * const text = await readStdin(io, 'chat');
 */
export async function readStdin(io: CliIO, command: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_STDIN_BYTES) {
      throw new UsageError(`stdin is larger than ${MAX_STDIN_BYTES / 1024 / 1024} MiB; pass a shorter prompt`, {
        command,
      });
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
