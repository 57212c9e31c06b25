/**
 * Target health for the gateway's router: a cooldown per target (a 429's retry delay) and a
 * circuit breaker per target (taken out after repeated failures, probed back in). Reads are
 * synchronous and cheap, since the router asks on every request; a shared implementation
 * (Redis, issue 12) keeps a local mirror behind the same interface and publishes changes.
 * @module
 */

/** When a target is taken out and how it is probed back in. */
export interface BreakerSettings {
  /** Failures within `windowMs` that open the breaker; default 5. */
  failures: number;
  /** The window failures are counted in, ms; default 30 000. */
  windowMs: number;
  /** How long an open breaker stays open before one probe request is let through, ms; default 15 000. */
  probeAfterMs: number;
}

export const DEFAULT_BREAKER: Readonly<BreakerSettings> = Object.freeze({
  failures: 5,
  windowMs: 30_000,
  probeAfterMs: 15_000,
});

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Cooldowns and breakers per target id. Times are the store's clock (ms).
 *
 * A request to a target goes: `available(id)` (may it be chosen?), `acquire(id)` (claims it;
 * in half-open only one probe is let through), then exactly one of `success(id)`,
 * `failure(id)` or `release(id)` (the attempt ended without a verdict, e.g. the client left).
 */
export interface HealthStore {
  /** True when the target may be chosen now: not cooling down, breaker not open (half-open: no probe in flight). */
  available(targetId: string): boolean;
  /** When the target's cooldown ends, or undefined when it is not cooling down. */
  coolingUntil(targetId: string): number | undefined;
  /** When an open breaker lets its probe through, or undefined when the breaker is not open. */
  probeAt(targetId: string): number | undefined;
  breakerState(targetId: string): BreakerState;
  /** Claims the target for one attempt; false when it is not available (a probe is already out). */
  acquire(targetId: string): boolean;
  /** Cools the target down for `ms` from now (a longer cooldown already set is kept). */
  cooldown(targetId: string, ms: number): void;
  /** The attempt worked: a half-open breaker closes. */
  success(targetId: string): void;
  /** The attempt failed: counts towards opening the breaker; a half-open breaker opens again. */
  failure(targetId: string): void;
  /** The attempt ended without a verdict: a probe in flight is given back. */
  release(targetId: string): void;
  /** The store's clock. */
  now(): number;
}

/** A change made on another instance, applied to this one's copy (gateway/shared-health.ts). */
export type HealthChange = { cooldownUntil: number } | { breaker: 'open'; openedAt: number } | { breaker: 'closed' };

/** A HealthStore that other instances' changes can be applied to. */
export interface MirroredHealth extends HealthStore {
  /** Applies a change made elsewhere (a breaker move is reported to `onBreaker` like a local one). */
  apply(targetId: string, change: HealthChange): void;
}

export interface MemoryHealthOptions {
  breaker?: Partial<BreakerSettings>;
  /** The clock, ms; default `Date.now`. */
  now?: () => number;
  /** Called on every breaker change (the router forwards it to `GatewayEvents.breaker`). */
  onBreaker?: (targetId: string, state: BreakerState) => void;
}

interface TargetHealth {
  coolingUntil: number;
  state: BreakerState;
  /** Times of recent failures (closed state), oldest first. */
  failures: number[];
  openedAt: number;
  probing: boolean;
}

/**
 * The in-memory HealthStore: one process, no sharing.
 *
 * @example
 * const health = createMemoryHealth({ breaker: { failures: 3, windowMs: 10_000, probeAfterMs: 5_000 } });
 * health.cooldown('gpt-4o/0:azure:east.openai.azure.com', 2_000);
 * health.available('gpt-4o/0:azure:east.openai.azure.com'); // false for 2 s
 */
export function createMemoryHealth(options: MemoryHealthOptions = {}): MirroredHealth {
  const settings: BreakerSettings = { ...DEFAULT_BREAKER, ...options.breaker };
  const now = options.now ?? Date.now;
  const targets = new Map<string, TargetHealth>();

  const get = (id: string): TargetHealth => {
    let h = targets.get(id);
    if (!h) {
      h = { coolingUntil: 0, state: 'closed', failures: [], openedAt: 0, probing: false };
      targets.set(id, h);
    }
    return h;
  };
  const move = (id: string, h: TargetHealth, state: BreakerState) => {
    if (h.state === state) return;
    h.state = state;
    options.onBreaker?.(id, state);
  };
  /** An open breaker whose time is up becomes half-open on the first look. */
  const state = (id: string, h: TargetHealth, t: number): BreakerState => {
    if (h.state === 'open' && t >= h.openedAt + settings.probeAfterMs) move(id, h, 'half-open');
    return h.state;
  };
  const open = (id: string, h: TargetHealth, t: number) => {
    h.openedAt = t;
    h.failures.length = 0;
    h.probing = false;
    move(id, h, 'open');
  };

  const available = (id: string): boolean => {
    const h = targets.get(id);
    if (!h) return true;
    const t = now();
    if (h.coolingUntil > t) return false;
    const s = state(id, h, t);
    return s === 'closed' || (s === 'half-open' && !h.probing);
  };

  return {
    now,
    available,
    coolingUntil(id) {
      const until = targets.get(id)?.coolingUntil ?? 0;
      return until > now() ? until : undefined;
    },
    probeAt(id) {
      const h = targets.get(id);
      if (!h || state(id, h, now()) !== 'open') return undefined;
      return h.openedAt + settings.probeAfterMs;
    },
    breakerState(id) {
      const h = targets.get(id);
      return h ? state(id, h, now()) : 'closed';
    },
    acquire(id) {
      if (!available(id)) return false;
      const h = targets.get(id);
      if (h?.state === 'half-open') h.probing = true;
      return true;
    },
    cooldown(id, ms) {
      const h = get(id);
      h.coolingUntil = Math.max(h.coolingUntil, now() + Math.max(0, ms));
    },
    success(id) {
      const h = targets.get(id);
      if (!h) return;
      h.probing = false;
      if (h.state !== 'closed') {
        h.failures.length = 0;
        move(id, h, 'closed');
      }
    },
    failure(id) {
      const h = get(id);
      const t = now();
      const s = state(id, h, t);
      if (s === 'half-open') return open(id, h, t);
      if (s === 'open') return;
      const since = t - settings.windowMs;
      while (h.failures.length > 0 && (h.failures[0] as number) <= since) h.failures.shift();
      h.failures.push(t);
      if (h.failures.length >= settings.failures) open(id, h, t);
    },
    release(id) {
      const h = targets.get(id);
      if (h) h.probing = false;
    },
    apply(id, change) {
      const h = get(id);
      if ('cooldownUntil' in change) {
        h.coolingUntil = Math.max(h.coolingUntil, change.cooldownUntil);
      } else if (change.breaker === 'open') {
        if (h.state !== 'closed' && h.openedAt >= change.openedAt) return;
        open(id, h, change.openedAt);
      } else if (h.state !== 'closed') {
        h.failures.length = 0;
        h.probing = false;
        move(id, h, 'closed');
      }
    },
  };
}
