/**
 * `sluice usage`: a gateway's usage ledger (`GET /sluice/v1/usage`, admin key), as a table
 * or as NDJSON. The key comes from `--api-key` or SLUICE_API_KEY and is sent to that URL only
 * (never on through a redirect), never printed.
 * @module
 */
import { readBodyWithin } from '../../client/http.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../client/options.js';
import type { UsageRow } from '../../gateway/ledger.js';
import type { CommandContext } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { stripControls } from '../render/terminal.js';
import { UsageError } from '../usage-error.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function run({ io, values, positionals }: CommandContext): Promise<number> {
  if (positionals.length > 0) {
    throw new UsageError(`usage takes no arguments, got ${JSON.stringify(positionals[0])}`, { command: 'usage' });
  }
  const base = (typeof values.url === 'string' && values.url !== '' ? values.url : DEFAULT_URL).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(base)) {
    throw new UsageError(`--url must be the gateway's http(s) URL, such as ${DEFAULT_URL}`, {
      setting: '--url',
      command: 'usage',
    });
  }
  const key = (typeof values['api-key'] === 'string' ? values['api-key'] : undefined) || io.env.SLUICE_API_KEY;
  const query = new URLSearchParams();
  for (const field of ['from', 'to', 'key', 'model'] as const) {
    const value = values[field];
    if (typeof value !== 'string' || value === '') continue;
    if ((field === 'from' || field === 'to') && !DAY.test(value)) {
      throw new UsageError(`--${field} must be a UTC day such as 2026-11-30`, {
        setting: `--${field}`,
        command: 'usage',
      });
    }
    query.set(field, value);
  }
  const url = `${base}/sluice/v1/usage${query.size > 0 ? `?${query}` : ''}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: key ? { 'api-key': key } : {},
      signal: AbortSignal.timeout(30_000),
      // fetch would send the api-key header on to wherever a redirect points.
      redirect: 'manual',
    });
  } catch {
    io.stderr.write(`sluice: could not reach ${base}: is the gateway running there? (pass --url URL)\n`);
    return ExitCode.NETWORK;
  }
  if (res.status === 401 || res.status === 403) {
    io.stderr.write(
      `sluice: the gateway refused ${key ? 'this key' : 'the request without a key'} (${res.status}): pass an admin client key with --api-key or SLUICE_API_KEY\n`,
    );
    return ExitCode.AUTH;
  }
  if (res.status >= 300 && res.status < 400) {
    res.body?.cancel().catch(() => {});
    io.stderr.write(
      `sluice: ${base} answered with a redirect (${res.status}), which is not followed with your key: pass the gateway's own URL with --url\n`,
    );
    return ExitCode.SERVICE;
  }
  if (res.status === 404) {
    io.stderr.write(`sluice: ${base} keeps no usage ledger: it needs client keys (keys:) in its configuration file\n`);
    return ExitCode.SERVICE;
  }
  let rows: UsageRow[];
  try {
    if (!res.ok) throw new Error(String(res.status));
    const body = JSON.parse(await readBodyWithin(res, DEFAULT_MAX_RESPONSE_BYTES)) as { data?: unknown };
    if (!Array.isArray(body.data)) throw new Error('no data');
    rows = body.data as UsageRow[];
  } catch {
    io.stderr.write(
      `sluice: ${base} did not answer with a usage ledger (HTTP ${res.status}); is it a sluice gateway?\n`,
    );
    return ExitCode.SERVICE;
  }
  if (values.json === true) {
    for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
    return ExitCode.OK;
  }
  if (rows.length === 0) {
    io.stderr.write('sluice: no usage booked yet for these rows\n');
    return ExitCode.OK;
  }
  io.stdout.write(`${usageTable(rows).join('\n')}\n`);
  return ExitCode.OK;
}

/**
 * The ledger as aligned text columns; tokens as `reported + counted` when some were counted.
 *
 * @example
 * usageTable(rows)[0] // 'DAY         KEY     MODEL  TARGET  REQUESTS  PROMPT  COMPLETION  CUT  STOPPED  COST'
 */
export function usageTable(rows: readonly UsageRow[]): string[] {
  const tokens = (reported: unknown, counted: unknown) => {
    const r = count(reported);
    const c = count(counted);
    return c === 0 ? String(r) : r === 0 ? `${c} counted` : `${r} + ${c} counted`;
  };
  const cells = [
    ['DAY', 'KEY', 'MODEL', 'TARGET', 'REQUESTS', 'PROMPT', 'COMPLETION', 'CUT', 'STOPPED', 'COST'],
    ...rows.map((r) => [
      text(r.day),
      text(r.key),
      text(r.model),
      text(r.target),
      String(count(r.requests)),
      tokens(r.promptReported, r.promptCounted),
      tokens(r.completionReported, r.completionCounted),
      String(count(r.cut)),
      String(count(r.stopped)),
      typeof r.cost === 'number' && Number.isFinite(r.cost) ? r.cost.toFixed(4) : '-',
    ]),
  ];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) =>
    row
      .map((cell, i) => (i >= 4 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

// The rows come from whatever answers at --url: a cell is shown only as text that cannot
// move the cursor or retitle the terminal, and on one line, so the columns stay columns.
function text(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '-';
  return stripControls(value).replace(/[\n\t]/g, ' ');
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
