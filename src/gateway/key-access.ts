/**
 * Opens a gateway's per-key access from its configuration: the key gate over in-memory
 * limits and ledger (one instance), or over Redis when a URL is given (every instance
 * sharing that Redis shares the limits and the books). A Redis that is down or slow never
 * fails a request: after `storeTimeoutMs` the request goes through unmetered, and one log
 * line says so.
 * @module
 */
import type { AccessControl } from '../server/access.js';
import { closeRedisClients, redisClientOptions } from '../util/redis-client.js';
import { createKeyGate } from './gate.js';
import type { ClientKeyConfig } from './keys.js';
import { createMemoryLedger, type Prices, type UsageLedger } from './ledger.js';
import { createMemoryLimitStore, type LimitStore } from './limits.js';
import { type CountTokens, defaultTokenCounter } from './tokens.js';

export interface KeyAccessOptions {
  keys: readonly ClientKeyConfig[];
  prices?: Prices;
  /** `redis://…`: limits and ledger shared through Redis. */
  redisUrl?: string;
  /** A model's own token counter (the embedded model's), when it has one. */
  countTokensFor?: (model: string) => CountTokens | undefined;
  /**
   * How long a limit check may take before the request goes through unmetered, ms. Default
   * 1000: long enough that a busy instance (256 requests arriving at once wait ~110 ms for
   * their replies behind each other) stays metered, short enough that a stalled Redis is felt
   * for a second at most. A Redis that is down fails at once (no offline queue).
   */
  storeTimeoutMs?: number;
  log?: (line: string) => void;
  now?: () => number;
}

/**
 * @example
 * ```ts
 * const keys = await openKeyAccess({ keys: config.keys, prices: config.prices, redisUrl: process.env.SLUICE_REDIS_URL });
 * createServer({ deployments, access: keys.access });
 * // on shutdown: await keys.close();
 * ```
 */
export async function openKeyAccess(
  options: KeyAccessOptions,
): Promise<{ access: AccessControl; close(): Promise<void> }> {
  const fallback = await defaultTokenCounter();
  const log = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  let limits: LimitStore;
  let ledger: UsageLedger;
  let close = async () => {};
  if (options.redisUrl) {
    const [{ createClient }, { createRedisLimitStore }, { createRedisLedger }] = await Promise.all([
      import('redis'),
      import('./limits-redis.js'),
      import('./ledger-redis.js'),
    ]);
    // No offline queue (redisClientOptions): a request must not wait on Redis.
    const client = createClient(redisClientOptions(options.redisUrl));
    let down = false;
    client.on('error', () => {
      if (!down)
        log('sluice: Redis is unavailable; key limits are not enforced and usage is not booked until it is back.');
      down = true;
    });
    client.on('ready', () => {
      if (down) log('sluice: Redis is back; key limits and usage booking resume.');
      down = false;
    });
    await client.connect().catch(() => {});
    const commander = { sendCommand: (args: string[]) => client.sendCommand(args) };
    limits = createRedisLimitStore(commander, { now });
    ledger = createRedisLedger(commander, options.prices ? { prices: options.prices } : {});
    close = async () => {
      await closeRedisClients([client]);
    };
  } else {
    limits = createMemoryLimitStore({ now });
    ledger = createMemoryLedger(options.prices ? { prices: options.prices } : {});
  }
  let warned = false;
  const access = createKeyGate({
    keys: options.keys,
    limits,
    ledger,
    counter: (model) => (model === undefined ? undefined : options.countTokensFor?.(model)) ?? fallback,
    now,
    storeTimeoutMs: options.storeTimeoutMs ?? 1000,
    onStoreError: () => {
      if (!warned) log('sluice: the key limit store failed; requests go through unmetered while it does.');
      warned = true;
    },
  });
  return { access, close };
}
