/**
 * `sluice chat ["MESSAGE"]`: Chat Completions. With a message (or piped stdin): one answer.
 * With neither and a terminal: an interactive conversation (see repl.ts). `--continue` /
 * `--cid` carry on a logged conversation; every exchange is logged (log/exchange-log.ts).
 * @module
 */
import type { CommandContext } from '../command.js';
import type { Turn } from '../conversation.js';
import { answerWithImages, checkImagesAccepted } from '../images.js';
import { listenForInterrupt } from '../interrupt.js';
import { loadConversation, openExchangeLog } from '../log/exchange-log.js';
import { readPromptInput } from '../prompt-input.js';
import { apiOf, runResponses } from '../responses-answer.js';
import { UsageError } from '../usage-error.js';
import { answerTurns } from './converse.js';
import { runRepl } from './repl.js';
import { type ChatExtra, noteSettings, openEngineFor, setup } from './shared.js';

export async function run({ io, values, positionals, images = [] }: CommandContext): Promise<number> {
  const s = setup(io, values, 'chat');
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
  checkImagesAccepted(s, images);
  if (apiOf(values) === 'responses') return runResponses(io, s, values, message, images.length);
  const previous = await loadConversation(io, values);
  if (typeof previous === 'number') return previous;
  // A new --system wins; else the conversation keeps the one it had.
  const system = typeof values.system === 'string' ? values.system : previous?.system;
  noteSettings(io, s);
  const engine = await openEngineFor(io, s);
  if (typeof engine === 'number') return engine;
  const log = openExchangeLog(io, values, s.config.target, s.config.secrets, previous?.id);
  try {
    const history: Turn[] = previous?.turns ?? [];
    if (interactive) return await runRepl({ io, setup: s, engine, system, log, history, values });
    const interrupt = listenForInterrupt(io);
    try {
      const prompt = message ?? '';
      const turns: Turn[] = [...history, { role: 'user', content: prompt }];
      const call = { io, engine, setup: s, signal: interrupt.signal };
      const extra: ChatExtra = { record: (facts, text) => log.record({ kind: 'chat', prompt, system }, facts, text) };
      const outcome =
        images.length === 0
          ? await answerTurns(call, system, turns, extra)
          : await answerWithImages(call, system, turns, images, extra);
      return outcome.exitCode;
    } finally {
      interrupt.dispose();
    }
  } finally {
    log.close();
    await engine.close();
  }
}
