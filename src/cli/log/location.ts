/**
 * Where the exchange log lives and whether it is on: the database file in the user's data
 * directory (XDG), and the `log` setting in the user's config file (`config.json` in the
 * user's config directory), the file the user-level configuration will grow into. Only the
 * `log` key is read or written here; other keys are kept as they are.
 * @module
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userDataDir } from '../user/dirs.js';
import { userConfigPath } from '../user/user-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The log database: `SLUICE_LOG_DB`, else `$XDG_DATA_HOME/sluice/logs.db`, else
 * `~/.local/share/sluice/logs.db`; undefined when there is no home to put it in.
 * @example
 * logDatabasePath({ HOME: '/home/ada' }) // '/home/ada/.local/share/sluice/logs.db'
 */
export function logDatabasePath(env: Env): string | undefined {
  if (env.SLUICE_LOG_DB) return env.SLUICE_LOG_DB;
  const data = userDataDir(env);
  return data === undefined ? undefined : join(data, 'logs.db');
}

/**
 * The `log` setting: false only when the user turned logging off (`sluice logs off`). A
 * missing or unreadable file means the default, on.
 * @example
 * if (loggingEnabled(io.env)) record(exchange);
 */
export function loggingEnabled(env: Env): boolean {
  const path = userConfigPath(env);
  if (path === undefined) return true;
  const config = readUserConfig(path);
  return config === 'invalid' || config?.log !== false;
}

/**
 * Writes the `log` setting, keeping the file's other keys (file mode 0600: it may hold keys
 * one day). Throws the file system's error when it cannot.
 * @example
 * setLogging(io.env, false); // sluice logs off
 */
export function setLogging(env: Env, on: boolean): string {
  const path = userConfigPath(env);
  if (path === undefined) throw new Error('no home directory (set HOME or XDG_CONFIG_HOME)');
  const current = readUserConfig(path);
  // Never overwrite a file we cannot read: it may hold the user's other settings.
  if (current === 'invalid') throw new Error(`${path} is not a JSON object: fix it or move it away`);
  const next = { ...(current ?? {}), log: on };
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
  return path;
}

// --- internal ---

/** The file's top-level object; undefined when missing, 'invalid' when not a JSON object. */
function readUserConfig(path: string): Record<string, unknown> | undefined | 'invalid' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'invalid';
    // A plain copy without a prototype: keys like __proto__ stay data.
    return Object.assign(Object.create(null) as Record<string, unknown>, value);
  } catch {
    return 'invalid';
  }
}
