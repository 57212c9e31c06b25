/**
 * Per-key limits that hold for streams: requests per minute, tokens per minute by
 * reservation, requests running at once, and a token budget per UTC day or month. One
 * interface, two stores: in memory (one instance; JavaScript runs one admission at a time,
 * so each is atomic) and in Redis (limits-redis.ts: the same rules in one Lua script, so
 * they hold across instances).
 *
 * The rules, the same in both stores:
 * - A request reserves its estimate (prompt tokens + max_tokens) when it is admitted, in a
 *   60-second window counted from its start; when it ends, the reservation is settled to the
 *   exact count. A request is admitted only if the window's tokens plus its reservation fit
 *   the limit, or if the window is empty (a request larger than the whole limit runs alone):
 *   admitted tokens never exceed the limit by more than one reservation.
 * - Refusals say when the request would fit (`retryAfterMs`): when enough of the window has
 *   expired (tpm, rpm), or one second for a running stream to end (concurrent).
 * - A budget counts reservations at once and settles them too; at or past it, requests are
 *   refused until the period ends (UTC midnight, or the first of next month).
 * @module
 */
import type { KeyLimits } from './keys.js';

/** The window of per-minute limits, ms. */
export const WINDOW_MS = 60_000;
/** A running request older than this no longer counts as concurrent (an instance that died holding it). */
export const STALE_LEASE_MS = 3_600_000;
/** How long to wait on a concurrency refusal: a stream's end cannot be predicted. */
export const CONCURRENT_RETRY_MS = 1_000;

/** One request asking to be admitted. */
export interface AdmitRequest {
  /** The key's name (never the key). */
  key: string;
  limits: KeyLimits;
  /** The reservation: prompt tokens + max_tokens. */
  tokens: number;
  /** Unique per request. */
  id: string;
}

export type Admission =
  | { ok: true; lease: LimitLease }
  | { ok: false; reason: 'rpm' | 'tpm' | 'concurrent'; retryAfterMs: number }
  | { ok: false; reason: 'budget'; resetsAt: number };

/** An admitted request's hold on its key's limits. */
export interface LimitLease {
  readonly reserved: number;
  /** Settles the reservation to `tokens` and frees the concurrency slot. Only the first call counts. */
  settle(tokens: number): Promise<void>;
}

/** Where limits are kept. */
export interface LimitStore {
  admit(request: AdmitRequest): Promise<Admission>;
  close?(): Promise<void>;
}

/**
 * The budget period containing `now`: its id and when it ends (UTC).
 *
 * @example
 * budgetPeriod('day', Date.UTC(2026, 10, 30, 12)) // { id: '2026-11-30', endsAt: Date.UTC(2026, 11, 1) }
 */
export function budgetPeriod(per: 'day' | 'month', now: number): { id: string; endsAt: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (per === 'month') return { id: `${y}-${pad(m + 1)}`, endsAt: Date.UTC(y, m + 1, 1) };
  return { id: `${y}-${pad(m + 1)}-${pad(d.getUTCDate())}`, endsAt: Date.UTC(y, m, d.getUTCDate() + 1) };
}

/**
 * Limits in this process's memory.
 *
 * @example
 * ```ts
 * const store = createMemoryLimitStore();
 * const a = await store.admit({ key: 'team-a', limits: { tpm: 10_000 }, tokens: 600, id: 'r1' });
 * if (a.ok) await a.lease.settle(412);
 * ```
 */
export function createMemoryLimitStore(options: { now?: () => number } = {}): LimitStore {
  const now = options.now ?? Date.now;
  const keys = new Map<string, KeyState>();
  const stateOf = (key: string) => {
    let state = keys.get(key);
    if (!state) {
      state = { requests: [], tokens: [], tokenSum: 0, running: new Map(), budgets: new Map() };
      keys.set(key, state);
    }
    return state;
  };

  return {
    async admit({ key, limits, tokens, id }) {
      const at = now();
      const state = stateOf(key);
      const from = at - WINDOW_MS;
      let period: { id: string; endsAt: number } | undefined;
      if (limits.budget) {
        period = budgetPeriod(limits.budget.per, at);
        for (const old of state.budgets.keys()) if (old !== period.id) state.budgets.delete(old);
        if ((state.budgets.get(period.id) ?? 0) >= limits.budget.tokens) {
          return { ok: false, reason: 'budget', resetsAt: period.endsAt };
        }
      }
      if (limits.concurrent !== undefined) {
        for (const [lease, startedAt] of state.running)
          if (startedAt <= at - STALE_LEASE_MS) state.running.delete(lease);
        if (state.running.size >= limits.concurrent) {
          return { ok: false, reason: 'concurrent', retryAfterMs: CONCURRENT_RETRY_MS };
        }
      }
      if (limits.rpm !== undefined) {
        dropBefore(state.requests, from);
        const n = state.requests.length;
        if (n >= limits.rpm) {
          // The request whose expiry leaves room for one more.
          return { ok: false, reason: 'rpm', retryAfterMs: state.requests[n - limits.rpm]!.at + WINDOW_MS - at };
        }
      }
      const entry: TokenEntry = { at, tokens, live: true };
      if (limits.tpm !== undefined) {
        for (const gone of dropBefore(state.tokens, from)) {
          gone.live = false;
          state.tokenSum -= gone.tokens;
        }
        const sum = state.tokenSum;
        if (state.tokens.length > 0 && sum + tokens > limits.tpm) {
          let excess = sum + tokens - limits.tpm;
          let retry = WINDOW_MS;
          for (const e of state.tokens) {
            excess -= e.tokens;
            if (excess <= 0) {
              retry = e.at + WINDOW_MS - at;
              break;
            }
          }
          return { ok: false, reason: 'tpm', retryAfterMs: Math.max(1, retry) };
        }
        state.tokens.push(entry);
        state.tokenSum += tokens;
      }
      if (limits.rpm !== undefined) state.requests.push({ at, tokens: 1 });
      if (limits.concurrent !== undefined) state.running.set(id, at);
      if (period) state.budgets.set(period.id, (state.budgets.get(period.id) ?? 0) + tokens);
      const budgetId = period?.id;
      return admitted(tokens, async (actual) => {
        state.running.delete(id);
        // Entries that left the window are gone; settling them changes nothing.
        if (entry.live) state.tokenSum += actual - entry.tokens;
        entry.tokens = actual;
        if (budgetId !== undefined && state.budgets.has(budgetId)) {
          state.budgets.set(budgetId, state.budgets.get(budgetId)! + actual - tokens);
        }
      });
    },
  };
}

/** An admission whose lease settles once, however often `settle` is called. */
export function admitted(reserved: number, settle: (actual: number) => Promise<void>): Admission {
  let settled = false;
  return {
    ok: true,
    lease: {
      reserved,
      settle(actual) {
        if (settled) return Promise.resolve();
        settled = true;
        return settle(actual);
      },
    },
  };
}

// --- internal ---

interface TokenEntry {
  at: number;
  tokens: number;
  /** Still in the window (counted in `tokenSum`). */
  live?: boolean;
}

interface KeyState {
  /** Admission times in the last minute (oldest first). */
  requests: TokenEntry[];
  /** Reservations (settled or not) in the last minute (oldest first). */
  tokens: TokenEntry[];
  /** The sum of `tokens`, kept as they come and go (no walk per admission). */
  tokenSum: number;
  /** Running requests: id -> start time. */
  running: Map<string, number>;
  /** Tokens used per budget period id. */
  budgets: Map<string, number>;
}

/** Removes the entries at or before `from` (the oldest first); returns them. */
function dropBefore(entries: TokenEntry[], from: number): TokenEntry[] {
  let i = 0;
  while (i < entries.length && entries[i]!.at <= from) i++;
  return i > 0 ? entries.splice(0, i) : [];
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
