/**
 * `sluice config`: every effective setting, its value (keys masked) and where it came from
 * — a flag, the environment, `.env`, a stored key, the settings file, or the default — so
 * "which endpoint, which key, why" has an answer before a request is paid for.
 * @module
 */
import { existsSync } from 'node:fs';
import { DEFAULT_API_VERSION } from '../../client/options.js';
import { MASK } from '../../gateway/summary.js';
import type { CommandContext } from '../command.js';
import type { SettingSource, UsedSetting } from '../config.js';
import { ExitCode } from '../exit-codes.js';
import { resolveSettings } from '../settings.js';
import { keysPath } from '../user/keys.js';
import { templatesDir } from '../user/templates.js';

/** One line of the report. */
interface Row {
  setting: string;
  value: string;
  from: string;
}

/** Built-in defaults worth showing, by flag (the others have none: the server decides). */
const BUILT_IN: ReadonlyArray<[string, string]> = [
  ['max-tokens', '256 (complete); the server decides (chat)'],
  ['retries', '2'],
  ['idle-timeout', '120 s'],
  ['timeout', 'none'],
];

export async function run({ io, values }: CommandContext): Promise<number> {
  const { config, user, storedKeys, dotenv } = resolveSettings(io, values);
  const rows: Row[] = [];
  const source = (s: UsedSetting | undefined, fallback = 'default'): string =>
    s === undefined ? fallback : `${label(s.from)} (${s.name})`;
  /** A variable's value and source without a profile suffix (SLUICE_MODEL, SLUICE_THREADS). */
  const plain = (name: string): { value: string; from: string } | undefined => {
    if (io.env[name]) return { value: io.env[name] as string, from: `environment (${name})` };
    if (dotenv[name]) return { value: dotenv[name] as string, from: `.env (${name})` };
    return undefined;
  };
  const t = config.target;
  const { used } = config;
  if (used.profile)
    rows.push({
      setting: 'profile',
      value: values.profile ? String(values.profile) : (user.profile ?? ''),
      from: source(used.profile),
    });
  if (t.kind === 'local') {
    rows.push({
      setting: 'target',
      value: t.implicit ? 'the local model (nothing else is configured)' : 'the local model',
      from: t.implicit ? 'default' : 'flag',
    });
    const model =
      typeof values.model === 'string'
        ? { value: String(values.model), from: 'flag (--model)' }
        : plain('SLUICE_MODEL');
    rows.push(
      t.modelPath === undefined
        ? { setting: 'model', value: 'the embedded TinyStories model', from: 'default' }
        : { setting: 'model', value: t.modelPath, from: model?.from ?? 'user file (model)' },
    );
    const threads =
      typeof values.threads === 'string'
        ? { value: values.threads, from: 'flag (--threads)' }
        : plain('SLUICE_THREADS');
    rows.push({ setting: 'threads', value: threads?.value ?? '1', from: threads?.from ?? 'default' });
  } else {
    rows.push({
      setting: 'target',
      value: t.kind === 'azure' ? `Azure OpenAI (${t.route} route)` : 'an OpenAI-compatible server',
      from: source(used.endpoint),
    });
    rows.push({
      setting: t.kind === 'azure' ? 'endpoint' : 'base URL',
      value: t.kind === 'azure' ? t.endpoint : t.baseURL,
      from: source(used.endpoint, 'default'),
    });
    rows.push({
      setting: 'key',
      value: t.apiKey === undefined ? '(none)' : `${MASK} (${t.apiKey.length} characters)`,
      from: source(used.key, '-'),
    });
    const model = t.kind === 'azure' ? t.deployment : t.model;
    rows.push({
      setting: t.kind === 'azure' ? 'deployment' : 'model',
      value: used.alias !== undefined ? `${model} (alias ${used.alias})` : model,
      from: source(used.deployment),
    });
    if (t.kind === 'azure' && t.route === 'deployments') {
      rows.push({ setting: 'api-version', value: t.apiVersion ?? DEFAULT_API_VERSION, from: source(used.apiVersion) });
    }
  }
  for (const [flag, value] of Object.entries(user.defaults)) {
    rows.push({
      setting: flag,
      value: Array.isArray(value) ? value.join(', ') : String(value),
      from: 'user file (defaults)',
    });
  }
  for (const [flag, value] of BUILT_IN)
    if (!Object.hasOwn(user.defaults, flag)) rows.push({ setting: flag, value, from: 'default' });
  for (const [alias, model] of Object.entries(user.aliases))
    rows.push({ setting: `alias ${alias}`, value: model, from: 'user file (aliases)' });
  rows.push({
    setting: 'log',
    value: user.log === false ? 'off' : 'on',
    from: user.log === undefined ? 'default' : 'user file (log)',
  });
  rows.push({ setting: 'settings file', value: fileState(user.path), from: '-' });
  const stored = Object.keys(storedKeys);
  rows.push({
    setting: 'keys file',
    value: `${fileState(keysPath(io.env))}${stored.length ? `: ${stored.join(', ')}` : ''}`,
    from: '-',
  });
  rows.push({ setting: 'templates', value: templatesDir(io.env) ?? '(no home directory)', from: '-' });

  const width = Math.max(...rows.map((r) => r.setting.length));
  const valueWidth = Math.min(48, Math.max(...rows.map((r) => r.value.length)));
  for (const r of rows) {
    io.stdout.write(`${r.setting.padEnd(width)}  ${r.value.padEnd(valueWidth)}  ${r.from}\n`.replace(/\s+\n$/, '\n'));
  }
  return ExitCode.OK;
}

// --- internal ---

function label(from: SettingSource): string {
  return from === 'flag' ? 'flag' : from;
}

function fileState(path: string | undefined): string {
  if (path === undefined) return '(no home directory)';
  return existsSync(path) ? path : `${path} (none yet)`;
}
