/**
 * Templates: a prompt, system message, model and flag defaults saved under a name
 * (`--save NAME`) and used again (`-t NAME`), as YAML files in the user's config directory
 * (`templates/NAME.yaml`). `$name` (or `${name}`) in the prompt or system message is a
 * parameter, filled from `-p name value`; `$input` is what the invocation adds (its words
 * and stdin). A missing parameter is an error naming it.
 * @module
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { UsageError } from '../usage-error.js';
import { userConfigDir } from './dirs.js';
import { DEFAULTABLE_FLAGS, type FlagDefault } from './user-config.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface Template {
  prompt?: string;
  system?: string;
  model?: string;
  /** Flag values, by flag name (`temperature: 0.2`). */
  options?: Record<string, FlagDefault>;
}

/** The placeholder filled with the invocation's own words and stdin. */
export const INPUT_PARAMETER = 'input';

const NAME = /^[A-Za-z0-9][\w.-]{0,63}$/;
const PLACEHOLDER = /\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/g;

/**
 * The templates' directory, or undefined without a home directory.
 * @example
 * templatesDir({ XDG_CONFIG_HOME: '/c' }) // '/c/sluice/templates'
 */
export function templatesDir(env: Env): string | undefined {
  const dir = userConfigDir(env);
  return dir === undefined ? undefined : join(dir, 'templates');
}

/**
 * Reads the template `name`; a missing or broken one is a UsageError saying what to do.
 * @example
 * loadTemplate(io.env, 'summary').prompt // 'Summarize $input in $words words'
 */
export function loadTemplate(env: Env, name: string): Template {
  const path = templatePath(env, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(`No template "${name}" (${path}): save one with --save ${name}`, { setting: '--template' });
    }
    throw new UsageError(`Template "${name}" cannot be read (${(error as Error).message}): check ${path}`, {
      setting: '--template',
    });
  }
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 16 });
  } catch (error) {
    throw new UsageError(`Template ${path} is not valid YAML (${firstLine(error)}): fix it or save it again`, {
      setting: '--template',
    });
  }
  return checkTemplate(raw, path);
}

/**
 * Writes the template `name` (replacing one of that name); returns its path.
 * @example
 * saveTemplate(io.env, 'haiku', { prompt: 'A haiku about $topic' }) // '.../templates/haiku.yaml'
 */
export function saveTemplate(env: Env, name: string, template: Template): string {
  const path = templatePath(env, name);
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, stringify(template), { mode: 0o600 });
  renameSync(temp, path);
  return path;
}

/**
 * `text` with every `$name` replaced by its parameter; a placeholder without a value is a
 * UsageError naming it.
 * @example
 * fillPlaceholders('A haiku about $topic', { topic: 'rain' }, 'haiku') // 'A haiku about rain'
 */
export function fillPlaceholders(text: string, params: Readonly<Record<string, string>>, template: string): string {
  return text.replace(PLACEHOLDER, (_match, braced: string | undefined, bare: string | undefined) => {
    const key = (braced ?? bare) as string;
    if (Object.hasOwn(params, key)) return params[key] as string;
    if (key === INPUT_PARAMETER) {
      throw new UsageError(`Template "${template}" needs your input for $input: pass words or pipe stdin`, {
        setting: '--template',
      });
    }
    throw new UsageError(`Template "${template}" needs a value for $${key}: pass -p ${key} VALUE`, {
      setting: '--param',
    });
  });
}

/**
 * The placeholders `text` uses.
 * @example
 * placeholders('$a and ${b}') // ['a', 'b']
 */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => (m[1] ?? m[2]) as string);
}

// --- internal ---

function templatePath(env: Env, name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(
      `A template's name is letters, digits, "_", "-" or ".", got ${JSON.stringify(name.slice(0, 64))}`,
      {
        setting: '--template',
      },
    );
  }
  const dir = templatesDir(env);
  if (dir === undefined) throw new UsageError('No home directory for templates: set HOME or XDG_CONFIG_HOME');
  return join(dir, `${name}.yaml`);
}

function checkTemplate(raw: unknown, path: string): Template {
  const bad = (what: string) =>
    new UsageError(`Template ${path}: ${what}; fix it or save it again`, { setting: '--template' });
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw bad('it must be a mapping (prompt:, system:, model:, options:)');
  const r = raw as Record<string, unknown>;
  const out: Template = {};
  for (const field of ['prompt', 'system', 'model'] as const) {
    const v = r[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw bad(`"${field}" must be text`);
    out[field] = v;
  }
  if (r.options !== undefined && r.options !== null) {
    if (typeof r.options !== 'object' || Array.isArray(r.options)) throw bad('"options" must be a mapping');
    const options: Record<string, FlagDefault> = Object.create(null);
    for (const [flag, v] of Object.entries(r.options as Record<string, unknown>)) {
      const kind = Object.hasOwn(DEFAULTABLE_FLAGS, flag) ? DEFAULTABLE_FLAGS[flag] : undefined;
      if (kind === undefined || flag === 'system') throw bad(`"options" has "${flag}", which is not a request flag`);
      if (kind === 'boolean' && typeof v === 'boolean') options[flag] = v;
      else if (kind === 'strings' && Array.isArray(v) && v.every((x) => typeof x === 'string')) options[flag] = v;
      else if (kind !== 'boolean' && (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))))
        options[flag] = String(v);
      else throw bad(`"options.${flag}" has the wrong type`);
    }
    out.options = options;
  }
  return out;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
