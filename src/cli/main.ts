/**
 * The `sluice` command line: argv and IO in, an exit code out. Parsing and help are cheap;
 * each command's module (and the client, and node-llama-cpp) loads only when that command
 * runs.
 * @module
 */
import { readFileSync } from 'node:fs';
import { mistypedCommand } from '../util/near-miss.js';
import { COMMANDS, type CommandName, parseCommandArgs } from './args.js';
import type { CommandModule } from './command.js';
import { describeError } from './describe.js';
import { ExitCode, exitCodeForError } from './exit-codes.js';
import type { CliIO } from './io.js';
import { renderCommandUsage, renderMainUsage } from './usage.js';
import { UsageError } from './usage-error.js';

export type { CliIO } from './io.js';
export { nodeIO } from './io.js';

const LOADERS: Record<CommandName, () => Promise<CommandModule>> = {
  complete: () => import('./commands/complete.js'),
  chat: () => import('./commands/chat.js'),
  serve: () => import('./commands/serve.js'),
  logs: () => import('./commands/logs.js'),
  models: () => import('./commands/models.js'),
  config: () => import('./commands/config.js'),
  keys: () => import('./commands/keys.js'),
  usage: () => import('./commands/usage.js'),
};

/**
 * Runs the CLI. Never throws and never exits the process (except for a second Ctrl-C,
 * through `io.exit`): it returns the exit code.
 * @example
 * process.exitCode = await main(['chat', 'Hello'], nodeIO());
 */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const first = argv[0];
  // The reader went away (`sluice ... | head`): nothing more can be shown, so stop at once
  // and quietly, as the tools in a pipeline do; exiting closes the request too.
  io.stdout.on?.('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') io.stderr.write(`sluice: cannot write the output: ${error.message}\n`);
    io.exit(error.code === 'EPIPE' ? ExitCode.OK : ExitCode.UNEXPECTED);
  });
  io.stderr.on?.('error', () => {});
  try {
    if (first === '--version' || first === '-V') {
      io.stdout.write(`sluice ${version()}\n`);
      return ExitCode.OK;
    }
    if (first === undefined && io.stdinKind === 'tty') {
      io.stdout.write(renderMainUsage(version()));
      return ExitCode.USAGE;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      const topic = first === 'help' ? argv[1] : undefined;
      io.stdout.write(isCommand(topic) ? renderCommandUsage(COMMANDS[topic]) : renderMainUsage(version()));
      return ExitCode.OK;
    }
    // Only the very first argument can be a mistyped command (`sluice -- chta` is a prompt).
    if (first !== undefined && !isCommand(first) && !first.startsWith('-')) checkNotACommand(first);
    const name: CommandName = isCommand(first) ? first : 'complete';
    const rest = isCommand(first) ? argv.slice(1) : argv;
    const def = COMMANDS[name];
    const { values, positionals } = parseCommandArgs(def, rest);
    if (values.help === true) {
      io.stdout.write(renderCommandUsage(def));
      return ExitCode.OK;
    }
    const command = await LOADERS[name]();
    // Templates, the user's settings file and attachments shape what complete and chat send.
    const prepared =
      name === 'complete' || name === 'chat'
        ? await (await import('./invocation.js')).prepareInvocation(name, io, values, positionals)
        : { io, values, positionals };
    if (typeof prepared === 'number') return prepared;
    return await command.run(prepared);
  } catch (error) {
    io.stderr.write(`${describeError(error)}\n`);
    if (io.env.SLUICE_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return exitCodeForError(error);
  }
}

/** The package version, from package.json next to src/ or dist/. */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

// --- internal ---

function isCommand(value: string | undefined): value is CommandName {
  return value !== undefined && Object.hasOwn(COMMANDS, value);
}

/** A first word that is a near-miss of a command (src/util/near-miss.ts has the rule) is a mistake to name, not a prompt to pay for. */
function checkNotACommand(word: string): void {
  const meant = mistypedCommand(word, [...Object.keys(COMMANDS), 'help']);
  if (meant === undefined) return;
  throw new UsageError(
    `Unknown command "${word}": did you mean "sluice ${meant}"? A prompt meant literally goes after "--": sluice -- ${word} ...`,
  );
}
