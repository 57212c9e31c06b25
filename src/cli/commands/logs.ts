/**
 * `sluice logs`: the newest logged exchanges (newest last, as a terminal scrolls), a
 * full-text search, one conversation, NDJSON; and `sluice logs off | on | path`.
 * @module
 */
import { existsSync } from 'node:fs';
import type { CommandContext } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { logDatabasePath, setLogging } from '../log/location.js';
import { describeLogProblem } from '../log/problem.js';
import type { LoggedExchange } from '../log/store.js';
import { stripControls } from '../render/terminal.js';
import { integerFlag } from '../request-options.js';
import { UsageError } from '../usage-error.js';

/** How many exchanges `sluice logs` shows without -n (as `llm logs` does). */
export const DEFAULT_COUNT = 3;

export async function run({ io, values, positionals }: CommandContext): Promise<number> {
  const [first, ...rest] = positionals;
  if ((first === 'off' || first === 'on' || first === 'path') && rest.length === 0) return setting(io, first);
  const limit = integerFlag(values.n, '-n', 0, 1_000_000_000, 'logs');
  const cid = typeof values.cid === 'string' ? values.cid : undefined;
  const search = [typeof values.query === 'string' ? values.query : '', ...positionals].join(' ').trim();
  const path = logDatabasePath(io.env);
  if (path === undefined) throw noHome();
  if (!existsSync(path)) {
    if (values.json !== true) io.stderr.write(`sluice: nothing logged yet (the log will be ${path}).\n`);
    return ExitCode.OK;
  }
  let found: LoggedExchange[];
  try {
    const { openLogStore } = await import('../log/store.js');
    const store = await openLogStore(path);
    try {
      found = store.list({
        limit: limit ?? (cid !== undefined ? 0 : DEFAULT_COUNT),
        ...(search !== '' ? { search } : {}),
        ...(cid !== undefined ? { conversationId: cid } : {}),
      });
    } finally {
      store.close();
    }
  } catch (error) {
    io.stderr.write(`${describeLogProblem(error, path, 'cannot read the log')}\n`);
    return ExitCode.LOG_UNAVAILABLE;
  }
  if (values.json === true) {
    for (const e of found) io.stdout.write(`${JSON.stringify(jsonOf(e))}\n`);
    return ExitCode.OK;
  }
  if (found.length === 0) {
    io.stderr.write(`sluice: no exchange ${search !== '' || cid !== undefined ? 'matches' : 'logged yet'}.\n`);
    return ExitCode.OK;
  }
  const clean = io.stdout.isTTY ? stripControls : (s: string) => s;
  io.stdout.write(found.map((e) => clean(formatExchange(e))).join('\n'));
  return ExitCode.OK;
}

/**
 * One exchange as text: a header line (log id, time, conversation, model and target, end
 * state when not completed), the system message, the prompt and the answer.
 * @example
 * formatExchange(exchange).startsWith('## log 12 ') // true
 */
export function formatExchange(e: LoggedExchange): string {
  const model = e.model !== undefined ? `${e.model} @ ${e.target}` : e.target;
  const when = e.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const lines = [`## log ${e.id} · ${when} · conversation ${e.conversationId} · ${model}`];
  if (e.system !== undefined) lines.push(`System: ${e.system}`);
  lines.push(`Prompt: ${e.prompt}`, '');
  const partial = e.end === 'completed' ? '' : ` (partial: ${e.end}${e.endDetail ? `, ${e.endDetail}` : ''})`;
  lines.push(`Answer${partial}:`, e.answer, '');
  return `${lines.join('\n')}\n`;
}

// --- internal ---

/** `sluice logs off | on | path`. */
function setting(io: CliIO, what: 'off' | 'on' | 'path'): number {
  if (what === 'path') {
    const path = logDatabasePath(io.env);
    if (path === undefined) throw noHome();
    io.stdout.write(`${path}\n`);
    return ExitCode.OK;
  }
  let file: string;
  try {
    file = setLogging(io.env, what === 'on');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A file system error names the file; what to do is to let the user write it.
    const fix =
      (error as { code?: unknown }).code !== undefined ? '; let your user write that file and its folder' : '';
    io.stderr.write(`sluice: cannot save the log setting: ${message}${fix}; meanwhile, --no-log skips one command.\n`);
    return ExitCode.LOG_UNAVAILABLE;
  }
  io.stdout.write(
    what === 'off'
      ? `Logging is off: exchanges are no longer logged ("sluice logs on" resumes). Saved in ${file}.\n`
      : `Logging is on: every exchange is logged to ${logDatabasePath(io.env) ?? 'the log'}. Saved in ${file}.\n`,
  );
  return ExitCode.OK;
}

function noHome(): UsageError {
  return new UsageError('No place for the log: set HOME, XDG_DATA_HOME or SLUICE_LOG_DB', { command: 'logs' });
}

/** The `--json` shape: snake_case like the API, every field present (null when unknown). */
function jsonOf(e: LoggedExchange): Record<string, unknown> {
  return {
    log_id: e.id,
    conversation_id: e.conversationId,
    kind: e.kind,
    model: e.model ?? null,
    target: e.target,
    system: e.system ?? null,
    prompt: e.prompt,
    answer: e.answer,
    end: e.end,
    end_detail: e.endDetail ?? null,
    usage:
      e.totalTokens !== undefined
        ? { prompt_tokens: e.promptTokens, completion_tokens: e.completionTokens, total_tokens: e.totalTokens }
        : null,
    time_to_first_token_ms: e.timeToFirstTokenMs ?? null,
    duration_ms: e.durationMs ?? null,
    request_id: e.requestId ?? null,
    started_at: e.startedAt,
    finished_at: e.finishedAt,
  };
}
