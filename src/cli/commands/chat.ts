/**
 * `sluice chat ["MESSAGE"]`: Chat Completions. With a message (or piped stdin): one answer.
 * With neither and a terminal: an interactive conversation (see repl.ts).
 * @module
 */
import type { CommandContext } from '../command.js';
import { messagesFor } from '../conversation.js';
import { listenForInterrupt } from '../interrupt.js';
import { readPromptInput } from '../prompt-input.js';
import { UsageError } from '../usage-error.js';
import { runRepl } from './repl.js';
import { answerChat, noteSettings, openEngineFor, setup } from './shared.js';

export async function run({ io, values, positionals }: CommandContext): Promise<number> {
  const s = setup(io, values, 'chat');
  const system = typeof values.system === 'string' ? values.system : undefined;
  const interactive = positionals.length === 0 && io.stdinKind === 'tty';
  if (interactive && s.output.json) {
    throw new UsageError('--json needs a MESSAGE (the interactive chat writes text)', {
      setting: '--json',
      command: 'chat',
    });
  }
  const message = interactive ? undefined : await readPromptInput(io, positionals, 'chat');
  if (!interactive && (message === undefined || message === '')) {
    throw new UsageError(
      'No message: pass it as an argument or pipe it on stdin (run without arguments on a terminal to talk)',
      { command: 'chat' },
    );
  }
  noteSettings(io, s);
  const engine = await openEngineFor(io, s);
  if (typeof engine === 'number') return engine;
  try {
    if (interactive) return await runRepl({ io, setup: s, engine, system });
    const interrupt = listenForInterrupt(io);
    try {
      const messages = messagesFor(system, [{ role: 'user', content: message ?? '' }]);
      const outcome = await answerChat({ io, engine, setup: s, signal: interrupt.signal }, messages);
      return outcome.exitCode;
    } finally {
      interrupt.dispose();
    }
  } finally {
    await engine.close();
  }
}
