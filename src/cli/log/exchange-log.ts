/**
 * The CLI's side of the exchange log: whether this run logs (`--no-log`, the `log` setting),
 * recording each answer as it ends (a partial answer with its end state), and a
 * conversation's turns for `--continue` / `--cid`. A log that cannot be written never fails
 * the request: one line on stderr says so (for each exchange not logged), and the answer stands.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { EndState } from '../../protocol/end-state.js';
import type { ParsedValues } from '../args.js';
import type { CliTarget } from '../config.js';
import type { Turn } from '../conversation.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import type { AnswerFacts } from '../stats.js';
import { UsageError } from '../usage-error.js';
import { logDatabasePath, loggingEnabled } from './location.js';
import { describeLogProblem } from './problem.js';
import type { ExchangeRecord, LoggedExchange, LogStore } from './store.js';

/** What was asked, besides the answer's facts. */
export interface Asked {
  kind: 'chat' | 'completions';
  prompt: string;
  system?: string;
}

/** What `--json`'s summary line gains: the log id and the conversation id. */
export type LoggedIds = {
  log_id?: number;
  conversation_id?: string;
};

export interface ExchangeLog {
  /** The conversation this run's exchanges belong to. */
  readonly conversationId: string;
  /** Starts a new conversation (the chat's /reset): the next exchanges get a new id. */
  newConversation(): void;
  /** Records one ended answer; resolves to the ids for `--json` ({} when not logged). Never rejects. */
  record(asked: Asked, facts: AnswerFacts, text: string): Promise<LoggedIds>;
  close(): void;
}

/** A conversation read back from the log, to continue. */
export interface LoggedConversation {
  id: string;
  /** The system message of its latest exchange. */
  system?: string;
  turns: Turn[];
}

/**
 * The log for this run: off with `--no-log`, `sluice logs off`, or no home directory. The
 * database is opened at the first record (better-sqlite3 loads then, not at start-up).
 * @example
 * const log = openExchangeLog(io, values, s.config.target, s.config.secrets);
 * const ids = await log.record({ kind: 'chat', prompt }, facts, text);
 */
export function openExchangeLog(
  io: CliIO,
  values: ParsedValues,
  target: CliTarget,
  secrets: readonly string[],
  firstConversationId: string = newConversationId(),
): ExchangeLog {
  let conversationId = firstConversationId;
  const newConversation = () => {
    conversationId = newConversationId();
  };
  const path = logDatabasePath(io.env);
  if (values['no-log'] === true || path === undefined || !loggingEnabled(io.env)) {
    return {
      get conversationId() {
        return conversationId;
      },
      newConversation,
      record: async () => ({}),
      close() {},
    };
  }
  // Opened at the first record; a failed open is tried again at the next (the lock may be gone).
  let store: LogStore | undefined;
  const where = describeTarget(target);
  return {
    get conversationId() {
      return conversationId;
    },
    newConversation,
    async record(asked, facts, text) {
      const finishedAt = new Date();
      try {
        store ??= await (await import('./store.js')).openLogStore(path);
        const id = store.insert(
          recordOf({ ...asked, conversationId, ...where }, facts, withoutSecrets(text, secrets), finishedAt, secrets),
        );
        return { log_id: id, conversation_id: conversationId };
      } catch (error) {
        io.stderr.write(`${describeLogProblem(error, path, 'this exchange was not logged')}\n`);
        return {};
      }
    },
    close() {
      store?.close();
    },
  };
}

/**
 * The conversation `--continue` (the latest chat) or `--cid ID` names, read from the log;
 * undefined when neither flag is given. When the log cannot be read, writes one line on
 * stderr and resolves to the exit code instead.
 * @example
 * const previous = await loadConversation(io, values);
 * if (typeof previous === 'number') return previous;
 */
export async function loadConversation(
  io: CliIO,
  values: ParsedValues,
): Promise<LoggedConversation | number | undefined> {
  const cid = typeof values.cid === 'string' ? values.cid : undefined;
  if (cid === undefined && values.continue !== true) return undefined;
  if (cid !== undefined && values.continue === true) {
    throw new UsageError('--continue and --cid both name a conversation: give one of them', { command: 'chat' });
  }
  const path = logDatabasePath(io.env);
  const nothing = () =>
    new UsageError(
      cid === undefined
        ? 'Nothing to continue: no conversation has been logged yet (start one without --continue)'
        : `No conversation ${JSON.stringify(cid)} in the log; "sluice logs" lists them`,
      { setting: cid === undefined ? '--continue' : '--cid', command: 'chat' },
    );
  if (path === undefined) throw nothing();
  let exchanges: LoggedExchange[];
  try {
    const { openLogStore } = await import('./store.js');
    const { existsSync } = await import('node:fs');
    if (!existsSync(path)) throw nothing();
    const store = await openLogStore(path);
    try {
      // A completion is not a conversation to continue with chat messages.
      const id = cid ?? store.latestConversationId('chat');
      exchanges = id === undefined ? [] : store.list({ conversationId: id });
    } finally {
      store.close();
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.stderr.write(`${describeLogProblem(error, path, 'cannot continue the conversation')}\n`);
    return ExitCode.LOG_UNAVAILABLE;
  }
  const last = exchanges.at(-1);
  if (last === undefined) throw nothing();
  return {
    id: last.conversationId,
    ...(last.system !== undefined ? { system: last.system } : {}),
    turns: turnsOf(exchanges),
  };
}

/**
 * The turns a conversation's exchanges make: each prompt and its answer; a partial answer is
 * kept (marked interrupted), an exchange that got no text at all is left out (as the
 * interactive chat does), so the history stays well-formed.
 * @example
 * turnsOf([{ prompt: 'hi', answer: 'hello', end: 'completed', ... }]).length // 2
 */
export function turnsOf(exchanges: readonly LoggedExchange[]): Turn[] {
  const turns: Turn[] = [];
  for (const e of exchanges) {
    if (e.answer === '' && e.end !== 'completed') continue;
    turns.push({ role: 'user', content: e.prompt });
    turns.push({ role: 'assistant', content: e.answer, ...(e.end === 'completed' ? {} : { interrupted: true }) });
  }
  return turns;
}

// --- internal ---

/** Time-ordered (sorts by creation) and random enough to be unique: 26 characters. */
function newConversationId(): string {
  return `${Date.now().toString(36).padStart(10, '0')}${randomBytes(8).toString('hex')}`;
}

/** The endpoint's host (never its path or query: they could carry a key), or `local`. */
function describeTarget(target: CliTarget): { target: string; model?: string } {
  if (target.kind === 'local') {
    return { target: 'local', model: target.modelPath ? basename(target.modelPath) : 'embedded' };
  }
  const url = target.kind === 'azure' ? target.endpoint : target.baseURL;
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    host = 'unknown';
  }
  return { target: host, model: target.kind === 'azure' ? target.deployment : target.model };
}

/** A configured key pasted into a prompt is not written to disk either. */
function withoutSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

function recordOf(
  asked: Asked & { conversationId: string; target: string; model?: string },
  facts: AnswerFacts,
  answer: string,
  finishedAt: Date,
  secrets: readonly string[],
): ExchangeRecord {
  const m = facts.metrics;
  const usage = facts.usage ?? m?.usage;
  const detail = endDetail(facts.end);
  return {
    conversationId: asked.conversationId,
    kind: asked.kind,
    prompt: withoutSecrets(asked.prompt, secrets),
    ...(asked.system !== undefined ? { system: withoutSecrets(asked.system, secrets) } : {}),
    answer,
    end: facts.end.state,
    ...(detail !== undefined ? { endDetail: detail } : {}),
    ...(asked.model !== undefined ? { model: asked.model } : {}),
    target: asked.target,
    ...(usage
      ? {
          promptTokens: usage.prompt_tokens,
          completionTokens: usage.completion_tokens,
          totalTokens: usage.total_tokens,
        }
      : {}),
    ...(m?.timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs: m.timeToFirstTokenMs } : {}),
    ...(m?.durationMs !== undefined ? { durationMs: m.durationMs } : {}),
    ...(facts.requestId !== undefined ? { requestId: facts.requestId } : {}),
    startedAt: new Date(m?.startedAt ?? finishedAt.getTime()).toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}

function endDetail(end: EndState): string | undefined {
  switch (end.state) {
    case 'failed':
      return end.error.code;
    case 'truncated':
      return end.reason;
    case 'filtered':
      return end.where;
    default:
      return undefined;
  }
}
