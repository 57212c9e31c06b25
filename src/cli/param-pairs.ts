/**
 * `-p KEY VALUE`: the one flag that takes two values (a template's parameter). node:util
 * parseArgs takes one value per flag, so the pair is joined into `--param=KEY=VALUE` before
 * parsing and split again by `templateParams`.
 * @module
 */
import { UsageError } from './usage-error.js';

const KEY = /^[A-Za-z_]\w*$/;

/**
 * `argv` with each `-p KEY VALUE` (or `--param KEY VALUE`) as one `--param=KEY=VALUE`;
 * arguments after `--` are left alone.
 * @example
 * joinParamPairs(['-p', 'topic', 'rain', 'hi']) // ['--param=topic=rain', 'hi']
 */
export function joinParamPairs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg !== '-p' && arg !== '--param') {
      out.push(arg);
      continue;
    }
    const key = argv[i + 1];
    const value = argv[i + 2];
    if (key === undefined || value === undefined || !KEY.test(key)) {
      throw new UsageError(
        `${arg} needs a name and a value: ${arg} KEY VALUE (the template's $KEY is replaced by VALUE)`,
        { setting: '--param' },
      );
    }
    out.push(`--param=${key}=${value}`);
    i += 2;
  }
  return out;
}

/**
 * The parameters of parsed `--param` values, by name (the last one given wins).
 * @example
 * templateParams(['topic=rain']) // { topic: 'rain' }
 */
export function templateParams(values: readonly string[] | undefined): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    const key = v.slice(0, eq);
    if (eq <= 0 || !KEY.test(key)) {
      throw new UsageError(`-p needs a name and a value: -p KEY VALUE, got ${JSON.stringify(v.slice(0, 40))}`, {
        setting: '--param',
      });
    }
    params[key] = v.slice(eq + 1);
  }
  return params;
}
