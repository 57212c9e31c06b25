/**
 * Keys stored with `sluice keys set NAME`, so they need not live in shell history or a
 * `.env`: `keys.json` in the user's config directory, the directory mode 0700 and the file
 * 0600 (written whole to a temporary file of that mode, then renamed). A stored key is used
 * when neither the environment nor `.env` sets that name.
 * @module
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../usage-error.js';
import { userConfigDir } from './dirs.js';
import { UNREADABLE } from './user-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The keys file's name in the user's config directory. */
export const KEYS_FILE = 'keys.json';

/** Names a key may be stored under: a variable name with KEY in it (AZURE_OPENAI_API_KEY_FOR_X). */
const KEY_NAME = /^[A-Z][A-Z0-9_]*KEY[A-Z0-9_]*$/;

/**
 * The keys file's path, or undefined without a home directory.
 * @example
 * keysPath({ XDG_CONFIG_HOME: '/c' }) // '/c/sluice/keys.json'
 */
export function keysPath(env: Env): string | undefined {
  const dir = userConfigDir(env);
  return dir === undefined ? undefined : join(dir, KEYS_FILE);
}

/**
 * The stored keys by name; none when the file is missing. A broken file is an error
 * naming it (never its content).
 * @example
 * readStoredKeys(io.env).AZURE_OPENAI_API_KEY // the key, or undefined
 */
export function readStoredKeys(env: Env): Record<string, string> {
  const path = keysPath(env);
  const keys: Record<string, string> = Object.create(null);
  if (path === undefined) return keys;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (UNREADABLE.has((error as NodeJS.ErrnoException).code ?? '')) return keys;
    throw new UsageError(`Your keys file ${path} cannot be read: check it (it should be yours, mode 0600)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsageError(
      `Your keys file ${path} is damaged: delete it and store the keys again (sluice keys set NAME)`,
    );
  }
  for (const [name, value] of Object.entries(raw)) {
    if (KEY_NAME.test(name) && typeof value === 'string' && value !== '') keys[name] = value;
  }
  return keys;
}

/**
 * Checks a name `sluice keys set` may store a key under.
 * @example
 * checkKeyName('AZURE_OPENAI_API_KEY') // no error
 */
export function checkKeyName(name: string): void {
  if (!KEY_NAME.test(name)) {
    throw new UsageError(
      `"${name.slice(0, 60)}" is not a key's name: use the variable's name, e.g. AZURE_OPENAI_API_KEY, OPENAI_API_KEY or AZURE_OPENAI_API_KEY_FOR_INSTRUCT`,
      { command: 'keys' },
    );
  }
}

/**
 * Stores `value` under `name` (replacing one stored before); returns the file's path.
 * @example
 * storeKey(io.env, 'OPENAI_API_KEY', key) // '/home/ada/.config/sluice/keys.json'
 */
export function storeKey(env: Env, name: string, value: string): string {
  checkKeyName(name);
  const path = keysPath(env);
  if (path === undefined) throw new UsageError('No home directory to store keys in: set HOME or XDG_CONFIG_HOME');
  const keys = { ...readStoredKeys(env), [name]: value };
  const dir = join(path, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir keeps an existing directory's mode; the keys' directory is the user's alone.
  chmodSync(dir, 0o700);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}
