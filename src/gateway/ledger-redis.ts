/**
 * The usage ledger in Redis, shared by every instance: one hash per row
 * (`sluice:usage:<day>:<json [key, model, target]>`, a field per counter, added by one Lua
 * script) and a set of row names per day (`sluice:usage:days:<day>`) to read them back.
 * Rows and their day sets expire after `retentionDays` (default 400).
 * @module
 */
import {
  COUNT_FIELDS,
  increments,
  matches,
  type Prices,
  priced,
  sortRows,
  type UsageLedger,
  type UsageRow,
  utcDay,
  zero,
} from './ledger.js';
import { type RedisCommander, script } from './limits-redis.js';

const PREFIX = 'sluice:usage:';
const DAYS = `${PREFIX}days`;

// KEYS: row hash, the day's set of rows, the set of days. ARGV: ttl s, day, field, n, field, n…
// One script, so a shared connection's other commands cannot interleave (as they could in a MULTI).
const RECORD = `
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return 1
`;

/**
 * @example
 * ```ts
 * const ledger = createRedisLedger(client, { prices });
 * ```
 */
export function createRedisLedger(
  redis: RedisCommander,
  options: { prices?: Prices; retentionDays?: number } = {},
): UsageLedger {
  const ttl = String((options.retentionDays ?? 400) * 86_400);
  const recordRow = script(redis, RECORD);
  return {
    async record(entry) {
      const day = utcDay(entry.at);
      const row = `${PREFIX}${day}:${JSON.stringify([entry.key, entry.model, entry.target])}`;
      const add = increments(entry);
      const fields = COUNT_FIELDS.flatMap((field) => (add[field] === 0 ? [] : [field, add[field]]));
      await recordRow([row, `${PREFIX}days:${day}`, DAYS], [ttl, day, ...fields]);
    },
    async rows(query = {}) {
      const days = ((await redis.sendCommand(['ZRANGE', DAYS, '0', '-1'])) as string[]).filter(
        (day) => (query.from === undefined || day >= query.from) && (query.to === undefined || day <= query.to),
      );
      const rows: UsageRow[] = [];
      for (const day of days) {
        const names = (await redis.sendCommand(['SMEMBERS', `${PREFIX}days:${day}`])) as string[];
        for (const name of names) {
          const parsed = parseName(name.slice(PREFIX.length + day.length + 1));
          if (!parsed) continue;
          const row = { day, key: parsed[0], model: parsed[1], target: parsed[2], ...zero() };
          if (!matches(row, query)) continue;
          const flat = (await redis.sendCommand(['HGETALL', name])) as string[] | Record<string, string>;
          const fields = Array.isArray(flat) ? pairs(flat) : flat;
          for (const field of COUNT_FIELDS) row[field] = Number(fields[field] ?? 0) || 0;
          if (row.requests > 0) rows.push(priced(row, options.prices));
        }
      }
      return sortRows(rows);
    },
  };
}

function parseName(text: string): [string, string, string] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'string')) {
      return value as [string, string, string];
    }
  } catch {}
  return undefined;
}

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
