/**
 * The HealthStore shared by gateway instances through Redis: a 429 on one instance cools
 * the target for all, and a breaker that opens (or closes) on one does so on all. Reads stay
 * synchronous: each instance keeps a local copy (the in-memory store) that changes from
 * other instances are applied to, as they are published on `sluice:health` and from the
 * hash `sluice:health` (read at connect and every `refreshMs`, so a missed message or a new
 * instance catches up). Times are wall-clock ms (instances' clocks are assumed in sync, as
 * NTP keeps them). Redis down: the local copy goes on alone, nothing fails.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { closeRedisClients, redisClientOptions } from '../util/redis-client.js';
import {
  type BreakerSettings,
  type BreakerState,
  createMemoryHealth,
  type HealthChange,
  type HealthStore,
} from './health.js';

export interface SharedHealthOptions {
  /** `redis://…` */
  url: string;
  breaker?: Partial<BreakerSettings>;
  /** Called on every breaker change seen here (local or from another instance). */
  onBreaker?: (targetId: string, state: BreakerState) => void;
  /** How often the whole shared state is read again, ms. Default 5000. */
  refreshMs?: number;
}

export interface SharedHealth extends HealthStore {
  /** Releases the Redis connections. */
  close(): Promise<void>;
}

const CHANNEL = 'sluice:health';
const HASH = 'sluice:health';

/**
 * Creates the shared store; it connects in the background.
 *
 * @example
 * ```ts
 * const health = createSharedHealth({ url: 'redis://127.0.0.1:6379' });
 * createRouterBackend({ model, targets, health });
 * ```
 */
export function createSharedHealth(options: SharedHealthOptions): SharedHealth {
  const self = randomUUID();
  let applying = false;
  const client = createClient(redisClientOptions(options.url));
  client.on('error', () => {});
  const subscriber = client.duplicate();
  subscriber.on('error', () => {});

  const share = (id: string, change: HealthChange, ttlMs: number) => {
    if (!client.isReady) return;
    const message = JSON.stringify({ from: self, id, change });
    client.sendCommand(['PUBLISH', CHANNEL, message]).catch(() => {});
    client.sendCommand(['HSET', HASH, `${id}\n${'cooldownUntil' in change ? 'c' : 'b'}`, message]).catch(() => {});
    client.sendCommand(['PEXPIRE', HASH, String(Math.max(ttlMs, 60_000))]).catch(() => {});
  };
  const mirror = createMemoryHealth({
    ...(options.breaker ? { breaker: options.breaker } : {}),
    onBreaker: (id, state) => {
      options.onBreaker?.(id, state);
      if (applying || state === 'half-open') return;
      share(id, state === 'open' ? { breaker: 'open', openedAt: Date.now() } : { breaker: 'closed' }, 3_600_000);
    },
  });
  const applyMessage = (text: string) => {
    const parsed = changeOf(text);
    if (!parsed || parsed.from === self) return;
    applying = true;
    try {
      mirror.apply(parsed.id, parsed.change);
    } finally {
      applying = false;
    }
  };
  const refresh = () => {
    if (!client.isReady) return;
    client
      .sendCommand(['HVALS', HASH])
      .then((values) => {
        if (Array.isArray(values)) for (const v of values) if (typeof v === 'string') applyMessage(v);
      })
      .catch(() => {});
  };
  client.on('ready', refresh);
  client.connect().catch(() => {});
  subscriber
    .connect()
    .then(() => subscriber.subscribe(CHANNEL, applyMessage))
    .catch(() => {});
  const timer = setInterval(refresh, options.refreshMs ?? 5000);
  timer.unref();

  return {
    ...mirror,
    cooldown(id, ms) {
      mirror.cooldown(id, ms);
      share(id, { cooldownUntil: Date.now() + Math.max(0, ms) }, ms);
    },
    async close() {
      clearInterval(timer);
      await closeRedisClients([client, subscriber]);
    },
  };
}

// --- internal ---

/** A published change, checked field by field (Redis content is not trusted blindly). */
function changeOf(text: string): { from: string; id: string; change: HealthChange } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { from, id, change } = value as Record<string, unknown>;
  if (typeof from !== 'string' || typeof id !== 'string' || change === null || typeof change !== 'object') {
    return undefined;
  }
  const c = change as Record<string, unknown>;
  if (typeof c.cooldownUntil === 'number' && Number.isFinite(c.cooldownUntil)) {
    return { from, id, change: { cooldownUntil: c.cooldownUntil } };
  }
  if (c.breaker === 'open' && typeof c.openedAt === 'number' && Number.isFinite(c.openedAt)) {
    return { from, id, change: { breaker: 'open', openedAt: c.openedAt } };
  }
  if (c.breaker === 'closed') return { from, id, change: { breaker: 'closed' } };
  return undefined;
}
