/**
 * The user's settings file, `config.json` in the user's config directory: a default model
 * and profile, model aliases, defaults for flags, and the log setting (written by
 * `sluice logs off/on`). Read and checked here, once; a broken file is an error naming the
 * file and the key, never silently ignored. Every value is data: no prototype is touched.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { closest } from '../../util/near-miss.js';
import { UsageError } from '../usage-error.js';
import { userConfigDir } from './dirs.js';

/** The file's name in the user's config directory (shared with the log's on/off setting). */
export const USER_CONFIG_FILE = 'config.json';

/** A default for a flag: its value as the flag would give it. */
export type FlagDefault = string | boolean | string[];

export interface UserConfig {
  /** Where it was read from (or would be). */
  path?: string;
  /** Default model or deployment (or alias, or .gguf path), when no flag or variable names one. */
  model?: string;
  /** Default profile, when no --profile is given. */
  profile?: string;
  /** Short names for models: `{ "fast": "gpt-4o-mini" }`. */
  aliases: Record<string, string>;
  /** Defaults for flags, by flag name (`"max-tokens": 300`). */
  defaults: Record<string, FlagDefault>;
  /** False after `sluice logs off`. */
  log?: boolean;
}

/** The flags a user file may give defaults for: those with no variable of their own. */
export const DEFAULTABLE_FLAGS: Readonly<Record<string, 'string' | 'boolean' | 'strings'>> = {
  'max-tokens': 'string',
  temperature: 'string',
  'top-p': 'string',
  stop: 'strings',
  seed: 'string',
  n: 'string',
  timeout: 'string',
  'idle-timeout': 'string',
  retries: 'string',
  'no-stream': 'boolean',
  raw: 'boolean',
  stats: 'boolean',
  system: 'string',
  echo: 'boolean',
};

const TOP_LEVEL = ['model', 'profile', 'aliases', 'defaults', 'log'];

/** Errors that mean "no file for this user": missing, or not readable by them. */
export const UNREADABLE: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM']);

/**
 * The user config file's path, or undefined without a home directory.
 * @example
 * userConfigPath({ XDG_CONFIG_HOME: '/c' }) // '/c/sluice/config.json'
 */
export function userConfigPath(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const dir = userConfigDir(env);
  return dir === undefined ? undefined : join(dir, USER_CONFIG_FILE);
}

/**
 * Reads and checks the user's config file; a missing file is an empty configuration.
 * Throws UsageError (exit 2) naming the file and what is wrong.
 * @example
 * readUserConfig(io.env).aliases.fast // 'gpt-4o-mini'
 */
export function readUserConfig(env: Readonly<Record<string, string | undefined>>): UserConfig {
  const path = userConfigPath(env);
  const empty: UserConfig = { aliases: {}, defaults: {}, ...(path !== undefined ? { path } : {}) };
  if (path === undefined) return empty;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // Missing, or not ours to read (another user's, as under sudo -u): as if absent, as the
    // log's on/off setting reads it.
    if (UNREADABLE.has((error as NodeJS.ErrnoException).code ?? '')) return empty;
    throw problem(path, `cannot be read (${(error as Error).message})`, 'check it');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw problem(path, `is not valid JSON (${(error as Error).message})`, 'fix it, or move it away');
  }
  return parseUserConfig(raw, path);
}

/**
 * Checks a parsed config file. Exported for unit tests.
 * @example
 * parseUserConfig({ aliases: { fast: 'gpt-4o-mini' } }, 'config.json').aliases.fast // 'gpt-4o-mini'
 */
export function parseUserConfig(raw: unknown, path: string): UserConfig {
  if (!isObject(raw)) throw problem(path, 'must hold one JSON object', 'e.g. {"model": "gpt-4o-mini"}');
  const config: UserConfig = { path, aliases: Object.create(null), defaults: Object.create(null) };
  for (const key of Object.keys(raw)) {
    // Keys this version does not know are left alone (a newer Sluice may have written them),
    // but a near-miss of a known one is surely a typing mistake.
    if (!TOP_LEVEL.includes(key)) {
      const meant = closest(key, TOP_LEVEL, 2);
      if (meant !== undefined) throw problem(path, `has "${key}"`, `did you mean "${meant}"?`);
    }
  }
  if (raw.model !== undefined) config.model = nonEmpty(raw.model, path, 'model');
  if (raw.profile !== undefined) config.profile = nonEmpty(raw.profile, path, 'profile');
  if (raw.log !== undefined) {
    if (typeof raw.log !== 'boolean') throw problem(path, '"log" must be true or false', 'sluice logs on|off sets it');
    config.log = raw.log;
  }
  if (raw.aliases !== undefined) {
    if (!isObject(raw.aliases)) throw problem(path, '"aliases" must be an object', 'e.g. {"fast": "gpt-4o-mini"}');
    for (const [name, value] of Object.entries(raw.aliases)) {
      config.aliases[name] = nonEmpty(value, path, `aliases.${name}`);
    }
  }
  if (raw.defaults !== undefined) {
    if (!isObject(raw.defaults)) throw problem(path, '"defaults" must be an object', 'e.g. {"temperature": 0.2}');
    for (const [flag, value] of Object.entries(raw.defaults)) {
      config.defaults[flag] = flagDefault(flag, value, path);
    }
  }
  return config;
}

// --- internal ---

function flagDefault(flag: string, value: unknown, path: string): FlagDefault {
  const kind = Object.hasOwn(DEFAULTABLE_FLAGS, flag) ? DEFAULTABLE_FLAGS[flag] : undefined;
  const names = Object.keys(DEFAULTABLE_FLAGS);
  if (kind === undefined) {
    const meant = closest(flag, names, 2);
    throw problem(
      path,
      `"defaults" has "${flag}", which is not a flag with a default`,
      meant !== undefined ? `did you mean "${meant}"?` : `use one of ${names.join(', ')}`,
    );
  }
  const at = `defaults.${flag}`;
  if (kind === 'boolean') {
    if (typeof value !== 'boolean') throw problem(path, `"${at}" must be true or false`, 'fix it');
    return value;
  }
  if (kind === 'strings' && Array.isArray(value)) return value.map((v, i) => scalar(v, path, `${at}[${i}]`));
  return scalar(value, path, at);
}

function scalar(value: unknown, path: string, at: string): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return nonEmpty(value, path, at);
}

function nonEmpty(value: unknown, path: string, at: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw problem(path, `"${at}" must be a non-empty string`, 'fix it');
  }
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function problem(path: string, what: string, next: string): UsageError {
  return new UsageError(`Your settings file ${path} ${what}: ${next}`, { setting: path });
}
