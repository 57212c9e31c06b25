/**
 * The interactive chat's input history across sessions: what you typed, newest first as
 * readline keeps it, in `chat_history` in the user's data directory (one JSON string per
 * line, newest last; mode 0600), bounded to the last HISTORY_SIZE inputs. Never fatal:
 * a history that cannot be read or written is simply not there.
 * @module
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userDataDir } from './dirs.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Inputs kept (readline's history size in the chat). */
export const HISTORY_SIZE = 1000;
const MAX_ENTRY = 64 * 1024;

/**
 * The history file's path, or undefined without a home directory.
 * @example
 * inputHistoryPath({ XDG_DATA_HOME: '/d' }) // '/d/sluice/chat_history'
 */
export function inputHistoryPath(env: Env): string | undefined {
  const dir = userDataDir(env);
  return dir === undefined ? undefined : join(dir, 'chat_history');
}

/**
 * The saved inputs, newest first (readline's order); none when there is no file.
 * @example
 * createInterface({ input, output, history: loadInputHistory(io.env) })
 */
export function loadInputHistory(env: Env): string[] {
  const path = inputHistoryPath(env);
  if (path === undefined) return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    try {
      const entry: unknown = JSON.parse(line);
      if (typeof entry === 'string' && entry !== '') out.push(entry);
    } catch {
      // A torn or foreign line: skip it, keep the rest.
    }
  }
  return out.slice(-HISTORY_SIZE).reverse();
}

/**
 * Saves `history` (newest first), the newest HISTORY_SIZE inputs; errors are ignored.
 * @example
 * saveInputHistory(io.env, lines);
 */
export function saveInputHistory(env: Env, history: readonly string[]): void {
  const path = inputHistoryPath(env);
  if (path === undefined) return;
  const kept = history
    .filter((h) => h.length <= MAX_ENTRY)
    .slice(0, HISTORY_SIZE)
    .reverse();
  try {
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, kept.map((h) => `${JSON.stringify(h)}\n`).join(''), { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, path);
  } catch {
    // The history is a comfort: a read-only home must not stop the chat.
  }
}
