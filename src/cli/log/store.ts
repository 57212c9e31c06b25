/**
 * The exchange log's SQLite database: its schema (versioned with `PRAGMA user_version`,
 * migrated forward on open), writing one exchange per row, and the queries `sluice logs`
 * and `--continue` need. better-sqlite3 is imported when a log is opened, never before,
 * so commands that do not log pay nothing for it.
 * @module
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

/** How one answer ended (an EndState's `state`). */
export type LoggedEnd = 'completed' | 'truncated' | 'filtered' | 'failed' | 'aborted';

/** One exchange: a prompt and its answer, complete or not. */
export interface ExchangeRecord {
  conversationId: string;
  kind: 'chat' | 'completions';
  prompt: string;
  system?: string;
  /** Choice 0's text as it arrived: the partial answer when the end is not `completed`. */
  answer: string;
  end: LoggedEnd;
  /** Why it ended so: the error code, truncation reason or filtered place. */
  endDetail?: string;
  /** The deployment or model name; the GGUF file's name for a local model. */
  model?: string;
  /** The endpoint's host, or `local`. */
  target: string;
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  timeToFirstTokenMs?: number;
  durationMs?: number;
  requestId?: string;
  /** ISO 8601, UTC. */
  startedAt: string;
  finishedAt: string;
}

export interface LoggedExchange extends ExchangeRecord {
  /** The log id. */
  id: number;
}

export interface ListQuery {
  /** At most this many, the newest ones (0 or undefined: all). */
  limit?: number;
  /** Full-text search: every word must occur (in the prompt, system or answer). */
  search?: string;
  conversationId?: string;
}

export interface LogStore {
  readonly path: string;
  /** Writes one exchange; returns its log id. */
  insert(record: ExchangeRecord): number;
  /** Matching exchanges, oldest first (the newest is printed last). */
  list(query: ListQuery): LoggedExchange[];
  /** The conversation of the newest exchange (of this kind, if given). */
  latestConversationId(kind?: ExchangeRecord['kind']): string | undefined;
  close(): void;
}

/** How long a write waits for another program's lock before giving up. */
export const LOCK_WAIT_MS = 1000;

/**
 * Opens (creating it and its folder if needed) and migrates the log at `path`. Throws
 * the file system's or SQLite's error (see problem.ts for what it means).
 * @example
 * const log = await openLogStore('/home/ada/.local/share/sluice/logs.db');
 * const id = log.insert(record);
 */
export async function openLogStore(path: string): Promise<LogStore> {
  const { default: Database } = await import('better-sqlite3');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Prompts and answers are private: a new file is the user's alone (SQLite gives its -wal
  // and -shm files the same mode). An existing file keeps its mode.
  closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path, { timeout: LOCK_WAIT_MS });
  try {
    db.pragma('journal_mode = WAL');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return storeOver(db, path);
}

/** The schema version this Sluice writes. */
export const SCHEMA_VERSION = 1;

/** A database written by a newer Sluice, whose schema this one does not know. */
export class NewerSchemaError extends Error {
  override readonly name = 'NewerSchemaError';
  readonly code = 'SLUICE_LOG_NEWER_SCHEMA';
}

// --- internal ---

/** Each entry takes the schema from version i to i + 1; never edit one, add another. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE exchanges (
     id INTEGER PRIMARY KEY,
     conversation_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     prompt TEXT NOT NULL,
     system TEXT,
     answer TEXT NOT NULL,
     end_state TEXT NOT NULL,
     end_detail TEXT,
     model TEXT,
     target TEXT NOT NULL,
     prompt_tokens INTEGER,
     completion_tokens INTEGER,
     total_tokens INTEGER,
     time_to_first_token_ms REAL,
     duration_ms REAL,
     request_id TEXT,
     started_at TEXT NOT NULL,
     finished_at TEXT NOT NULL
   );
   CREATE INDEX exchanges_by_conversation ON exchanges (conversation_id, id);
   CREATE VIRTUAL TABLE exchanges_fts USING fts5 (prompt, system, answer, content = 'exchanges', content_rowid = 'id');
   CREATE TRIGGER exchanges_fts_insert AFTER INSERT ON exchanges BEGIN
     INSERT INTO exchanges_fts (rowid, prompt, system, answer) VALUES (new.id, new.prompt, new.system, new.answer);
   END;
   CREATE TRIGGER exchanges_fts_delete AFTER DELETE ON exchanges BEGIN
     INSERT INTO exchanges_fts (exchanges_fts, rowid, prompt, system, answer)
       VALUES ('delete', old.id, old.prompt, old.system, old.answer);
   END;`,
];

function migrate(db: BetterSqlite3.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new NewerSchemaError(`schema version ${version}; this Sluice knows up to ${MIGRATIONS.length}`);
  }
  if (version === MIGRATIONS.length) return;
  db.transaction(() => {
    // Read again inside the write lock: another sluice may have migrated meanwhile.
    const from = db.pragma('user_version', { simple: true }) as number;
    for (let v = from; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

interface Row {
  id: number;
  conversation_id: string;
  kind: string;
  prompt: string;
  system: string | null;
  answer: string;
  end_state: string;
  end_detail: string | null;
  model: string | null;
  target: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  time_to_first_token_ms: number | null;
  duration_ms: number | null;
  request_id: string | null;
  started_at: string;
  finished_at: string;
}

function storeOver(db: BetterSqlite3.Database, path: string): LogStore {
  const insert = db.prepare(
    `INSERT INTO exchanges (conversation_id, kind, prompt, system, answer, end_state, end_detail, model, target,
       prompt_tokens, completion_tokens, total_tokens, time_to_first_token_ms, duration_ms, request_id, started_at, finished_at)
     VALUES (@conversation_id, @kind, @prompt, @system, @answer, @end_state, @end_detail, @model, @target,
       @prompt_tokens, @completion_tokens, @total_tokens, @time_to_first_token_ms, @duration_ms, @request_id, @started_at, @finished_at)`,
  );
  return {
    path,
    insert(r) {
      const info = insert.run({
        conversation_id: r.conversationId,
        kind: r.kind,
        prompt: r.prompt,
        system: r.system ?? null,
        answer: r.answer,
        end_state: r.end,
        end_detail: r.endDetail ?? null,
        model: r.model ?? null,
        target: r.target,
        prompt_tokens: r.promptTokens ?? null,
        completion_tokens: r.completionTokens ?? null,
        total_tokens: r.totalTokens ?? null,
        time_to_first_token_ms: r.timeToFirstTokenMs ?? null,
        duration_ms: r.durationMs ?? null,
        request_id: r.requestId ?? null,
        started_at: r.startedAt,
        finished_at: r.finishedAt,
      });
      return Number(info.lastInsertRowid);
    },
    list(q) {
      const where: string[] = [];
      const params: Record<string, string | number> = {};
      if (q.conversationId !== undefined) {
        where.push('e.conversation_id = @cid');
        params.cid = q.conversationId;
      }
      if (q.search !== undefined && q.search.trim() !== '') {
        where.push('e.id IN (SELECT rowid FROM exchanges_fts WHERE exchanges_fts MATCH @match)');
        params.match = ftsQuery(q.search);
      }
      const limit = q.limit !== undefined && q.limit > 0 ? `LIMIT ${Math.floor(q.limit)}` : '';
      const sql = `SELECT * FROM (SELECT e.* FROM exchanges e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY e.id DESC ${limit}) ORDER BY id ASC`;
      return (db.prepare(sql).all(params) as Row[]).map(fromRow);
    },
    latestConversationId(kind) {
      const row = (
        kind === undefined
          ? db.prepare('SELECT conversation_id FROM exchanges ORDER BY id DESC LIMIT 1').get()
          : db.prepare('SELECT conversation_id FROM exchanges WHERE kind = ? ORDER BY id DESC LIMIT 1').get(kind)
      ) as { conversation_id: string } | undefined;
      return row?.conversation_id;
    },
    close() {
      db.close();
    },
  };
}

/**
 * The user's words as an FTS5 query: each word a quoted string (so `"`, `-`, `*`, `AND`
 * and the like are searched for, never parsed), all of them required.
 */
function ftsQuery(words: string): string {
  const terms = words
    .split(/\s+/)
    .filter((w) => w !== '')
    .map((w) => `"${w.replaceAll('"', '""')}"`);
  return terms.join(' ');
}

function fromRow(r: Row): LoggedExchange {
  const optional = <T>(key: string, value: T | null) => (value === null ? {} : { [key]: value });
  return {
    id: r.id,
    conversationId: r.conversation_id,
    kind: r.kind === 'completions' ? 'completions' : 'chat',
    prompt: r.prompt,
    ...optional('system', r.system),
    answer: r.answer,
    end: r.end_state as LoggedEnd,
    ...optional('endDetail', r.end_detail),
    ...optional('model', r.model),
    target: r.target,
    ...optional('promptTokens', r.prompt_tokens),
    ...optional('completionTokens', r.completion_tokens),
    ...optional('totalTokens', r.total_tokens),
    ...optional('timeToFirstTokenMs', r.time_to_first_token_ms),
    ...optional('durationMs', r.duration_ms),
    ...optional('requestId', r.request_id),
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}
