/**
 * What `main` hands a command and what a command module exports. Its own module so that
 * `main.ts` (which loads the commands) and `commands/*` (which receive the context) both
 * depend on it, never on each other.
 * @module
 */
import type { ParsedValues } from './args.js';
import type { ImageAttachment } from './attachments.js';
import type { CliIO } from './io.js';

/** Everything a command needs: the injected IO and its parsed arguments. */
export interface CommandContext {
  io: CliIO;
  values: ParsedValues;
  positionals: string[];
  /** Images attached with `-a` (chat sends them as content parts). */
  images?: ImageAttachment[];
}

/**
 * What a command module exports: `run`, resolving to the exit code.
 * @example
 * export async function run({ io, positionals }: CommandContext): Promise<number> { ... }
 */
export interface CommandModule {
  run(context: CommandContext): Promise<number>;
}
