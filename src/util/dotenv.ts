/**
 * `.env` files: the tutorial's way to keep settings beside a project. Read by the CLI and by
 * the gateway's configuration (`${NAME}` falls back to `.env`), so both read it alike.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as util from 'node:util';

/**
 * Reads `.env` from `cwd`; a missing file is an empty one. Uses node:util parseEnv
 * (Node 20.12+) and a small compatible parser on older Node 20 releases.
 */
export function readDotEnv(cwd: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(join(cwd, '.env'), 'utf8');
  } catch {
    return {};
  }
  return parseDotEnv(text);
}

/**
 * `KEY=value` lines, `#` comments, optional `export `, single/double/back quotes.
 * @example
 * parseDotEnv('A=1\n# note\nexport B="x y"') // { A: '1', B: 'x y' }
 */
export function parseDotEnv(text: string): Record<string, string> {
  const builtin = (util as { parseEnv?: (content: string) => Record<string, string | undefined> }).parseEnv;
  if (builtin) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(builtin(text))) if (v !== undefined) out[k] = v;
    return out;
  }
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*)?\s*$/.exec(line);
    if (!m?.[1]) continue;
    let value = (m[2] ?? '').trim();
    const q = value[0];
    if ((q === '"' || q === "'" || q === '`') && value.lastIndexOf(q) > 0) {
      value = value.slice(1, value.lastIndexOf(q));
      if (q === '"') value = value.replace(/\\n/g, '\n');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[m[1]] = value;
  }
  return out;
}
