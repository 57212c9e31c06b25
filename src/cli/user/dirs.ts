/**
 * Where Sluice keeps the user's own files (XDG base directories): settings, keys and
 * templates in the config directory; chat input history (and other data) in the data
 * directory. Pure: the environment in, paths out.
 * @module
 */
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `$XDG_CONFIG_HOME/sluice`, else `~/.config/sluice`; undefined without a home.
 * @example
 * userConfigDir({ XDG_CONFIG_HOME: '/c' }) // '/c/sluice'
 */
export function userConfigDir(env: Env): string | undefined {
  const base = xdgDir(env, 'XDG_CONFIG_HOME', ['.config']);
  return base === undefined ? undefined : join(base, 'sluice');
}

/**
 * `$XDG_DATA_HOME/sluice`, else `~/.local/share/sluice`; undefined without a home.
 * @example
 * userDataDir({ HOME: '/home/ada' }) // '/home/ada/.local/share/sluice'
 */
export function userDataDir(env: Env): string | undefined {
  const base = xdgDir(env, 'XDG_DATA_HOME', ['.local', 'share']);
  return base === undefined ? undefined : join(base, 'sluice');
}

// --- internal ---

function xdgDir(env: Env, name: string, underHome: string[]): string | undefined {
  const set = env[name];
  // The XDG spec: a relative path is invalid and ignored.
  if (set?.startsWith('/')) return set;
  return env.HOME ? join(env.HOME, ...underHome) : undefined;
}
