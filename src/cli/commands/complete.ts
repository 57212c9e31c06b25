/**
 * `sluice complete "PROMPT"` (and plain `sluice "PROMPT"`): legacy Completions, streamed —
 * the tutorial's program.
 * @module
 */
import type { CompletionRequest } from '../../types.js';
import { answer } from '../answer.js';
import type { CommandContext } from '../command.js';
import { listenForInterrupt } from '../interrupt.js';
import { openExchangeLog } from '../log/exchange-log.js';
import { readPromptInput } from '../prompt-input.js';
import { UsageError } from '../usage-error.js';
import { commonBody, noteSettings, openEngineFor, setup } from './shared.js';

/**
 * Legacy Completions default to 16 tokens on Azure and OpenAI (protocol/request.ts
 * DEFAULT_COMPLETION_MAX_TOKENS): too short to be useful from
 * a command line, so the CLI asks for 256 unless --max-tokens says otherwise.
 */
export const COMPLETE_COMMAND_MAX_TOKENS = 256;

export async function run({ io, values, positionals }: CommandContext): Promise<number> {
  const s = setup(io, values, 'complete');
  const prompt = await readPromptInput(io, positionals, 'complete');
  if (prompt === undefined || prompt === '') {
    throw new UsageError('No prompt: pass it as an argument, pipe it on stdin, or use "-" to read stdin', {
      command: 'complete',
    });
  }
  noteSettings(io, s);
  const engine = await openEngineFor(io, s);
  if (typeof engine === 'number') return engine;
  const interrupt = listenForInterrupt(io);
  const log = openExchangeLog(io, values, s.config.target, s.config.secrets);
  try {
    const body: CompletionRequest = {
      prompt,
      max_tokens: COMPLETE_COMMAND_MAX_TOKENS,
      ...commonBody(s),
    };
    const outcome = await answer({
      io,
      engine,
      kind: 'completions',
      body,
      stream: s.request.stream,
      signal: interrupt.signal,
      timeouts: s.timeouts,
      output: { ...s.output, ...(values.echo === true ? { echo: prompt } : {}) },
      describe: s.describe,
      record: (facts, text) => log.record({ kind: 'completions', prompt }, facts, text),
    });
    return outcome.exitCode;
  } finally {
    interrupt.dispose();
    log.close();
    await engine.close();
  }
}
