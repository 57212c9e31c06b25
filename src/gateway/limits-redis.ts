/**
 * The limit store in Redis: the rules of limits.ts, each admission and each settlement one
 * Lua script, so instances sharing a Redis share the limits and never race each other.
 * Redis keys hold the key's name, never the key: `sluice:{lim:<name>}:rpm|tpm|tpmv|run` and
 * `sluice:{lim:<name>}:budget:<period>`. Each expires by itself (per-minute sets after two
 * minutes, running sets after an hour, budgets at the end of their period), so an instance
 * that dies holding a lease cannot hold it for ever. The clock is the caller's (passed to the
 * script), so tests can move it; instances should run NTP, as a skew of a second shifts the
 * window by a second.
 * @module
 */
import { createHash } from 'node:crypto';
import {
  type Admission,
  type AdmitRequest,
  admitted,
  budgetPeriod,
  CONCURRENT_RETRY_MS,
  type LimitStore,
  STALE_LEASE_MS,
  WINDOW_MS,
} from './limits.js';

/** The one Redis call this module needs (node-redis `client.sendCommand`). */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

// KEYS: rpm zset, tpm zset (id -> start), tpm hash (id -> tokens), running zset, budget counter
// ARGV: now, id, tokens, rpm, tpm, concurrent, budget, budget ttl ms, window ms, stale ms, concurrent retry ms
const ADMIT = `
local now = tonumber(ARGV[1]); local id = ARGV[2]; local tokens = tonumber(ARGV[3])
local rpm = tonumber(ARGV[4]); local tpm = tonumber(ARGV[5]); local conc = tonumber(ARGV[6])
local budget = tonumber(ARGV[7]); local window = tonumber(ARGV[9]); local from = now - window
if budget >= 0 and tonumber(redis.call('GET', KEYS[5]) or '0') >= budget then return {'budget', 0} end
if conc >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[10]))
  if redis.call('ZCARD', KEYS[4]) >= conc then return {'concurrent', tonumber(ARGV[11])} end
end
if rpm >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', from)
  local n = redis.call('ZCARD', KEYS[1])
  if n >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], n - rpm, n - rpm, 'WITHSCORES')
    return {'rpm', tonumber(oldest[2]) + window - now}
  end
end
if tpm >= 0 then
  -- KEYS[3] holds each reservation's size and, in field '#', their sum: expired ones are
  -- subtracted as they leave, so an admission costs O(expired), not O(window).
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', from)
  if #old > 0 then
    local expired = 0
    for i = 1, #old do
      expired = expired + tonumber(redis.call('HGET', KEYS[3], old[i]) or '0')
      redis.call('HDEL', KEYS[3], old[i])
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', from)
    redis.call('HINCRBY', KEYS[3], '#', -expired)
  end
  local sum = tonumber(redis.call('HGET', KEYS[3], '#') or '0')
  if sum + tokens > tpm and redis.call('ZCARD', KEYS[2]) > 0 then
    -- When would it fit: walk the oldest reservations (at most 1000) until enough expire.
    local excess = sum + tokens - tpm
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 999, 'WITHSCORES')
    for i = 1, #oldest, 2 do
      excess = excess - tonumber(redis.call('HGET', KEYS[3], oldest[i]) or '0')
      if excess <= 0 then return {'tpm', math.max(1, tonumber(oldest[i + 1]) + window - now)} end
    end
    return {'tpm', window}
  end
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('HSET', KEYS[3], id, tokens)
  redis.call('HINCRBY', KEYS[3], '#', tokens)
  redis.call('PEXPIRE', KEYS[2], window * 2)
  redis.call('PEXPIRE', KEYS[3], window * 2)
end
if rpm >= 0 then redis.call('ZADD', KEYS[1], now, id); redis.call('PEXPIRE', KEYS[1], window * 2) end
if conc >= 0 then redis.call('ZADD', KEYS[4], now, id); redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[10])) end
if budget >= 0 then redis.call('INCRBY', KEYS[5], tokens); redis.call('PEXPIRE', KEYS[5], tonumber(ARGV[8])) end
return {'ok', 0}
`;

// KEYS: tpm zset, tpm hash, running zset, budget counter ('' when none)
// ARGV: id, reserved, actual
const SETTLE = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local was = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('HINCRBY', KEYS[2], '#', tonumber(ARGV[3]) - was)
end
redis.call('ZREM', KEYS[3], ARGV[1])
local delta = tonumber(ARGV[3]) - tonumber(ARGV[2])
if KEYS[4] ~= '' and delta ~= 0 and redis.call('EXISTS', KEYS[4]) == 1 then redis.call('INCRBY', KEYS[4], delta) end
return 1
`;

/**
 * Limits in Redis, shared by every instance that uses the same Redis.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * const client = await createClient({ url: 'redis://127.0.0.1:6379' }).connect();
 * const store = createRedisLimitStore(client);
 * ```
 */
export function createRedisLimitStore(redis: RedisCommander, options: { now?: () => number } = {}): LimitStore {
  const now = options.now ?? Date.now;
  const admit = script(redis, ADMIT);
  const settle = script(redis, SETTLE);
  return {
    async admit({ key, limits, tokens, id }: AdmitRequest): Promise<Admission> {
      const at = now();
      const base = `sluice:{lim:${key}}`;
      const period = limits.budget ? budgetPeriod(limits.budget.per, at) : undefined;
      const budgetKey = period ? `${base}:budget:${period.id}` : `${base}:budget:none`;
      const reply = (await admit(
        [`${base}:rpm`, `${base}:tpm`, `${base}:tpmv`, `${base}:run`, budgetKey],
        [
          at,
          id,
          tokens,
          limits.rpm ?? -1,
          limits.tpm ?? -1,
          limits.concurrent ?? -1,
          limits.budget?.tokens ?? -1,
          period ? period.endsAt - at + WINDOW_MS : 1,
          WINDOW_MS,
          STALE_LEASE_MS,
          CONCURRENT_RETRY_MS,
        ],
      )) as [string, number];
      const [verdict, wait] = reply;
      if (verdict === 'budget') return { ok: false, reason: 'budget', resetsAt: period!.endsAt };
      if (verdict === 'rpm' || verdict === 'tpm' || verdict === 'concurrent') {
        return { ok: false, reason: verdict, retryAfterMs: Number(wait) };
      }
      return admitted(tokens, async (actual) => {
        await settle([`${base}:tpm`, `${base}:tpmv`, `${base}:run`, period ? budgetKey : ''], [id, tokens, actual]);
      });
    },
  };
}

/** A Lua script run by its SHA1 (EVALSHA), loaded on first use or after a Redis restart. */
export function script(redis: RedisCommander, source: string) {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (keys: string[], args: Array<string | number>): Promise<unknown> => {
    const tail = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await redis.sendCommand(['EVALSHA', sha, ...tail]);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return redis.sendCommand(['EVAL', source, ...tail]);
    }
  };
}
