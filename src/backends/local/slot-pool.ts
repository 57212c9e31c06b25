/**
 * A fixed pool of slots (one per context sequence) with a bounded FIFO queue in front.
 * Full pool + full queue -> OverloadedError with an estimated wait, like Azure's 429.
 * @module
 */
import { abortError } from '../../abort.js';
import { OverloadedError } from '../../errors.js';

export interface SlotPoolOptions {
  /** Number of slots. */
  size: number;
  /** Requests allowed to wait when every slot is taken. */
  queueSize: number;
  /** Milliseconds on a monotonic clock. Default `performance.now` (tests pass their own). */
  now?: () => number;
}

interface Waiter {
  resolve(slot: number): void;
  reject(error: unknown): void;
  signal: AbortSignal;
  onAbort(): void;
  cost: number;
}

interface Holder {
  since: number;
  cost: number;
}

/** Bounds for the retry-after estimate, in milliseconds. */
const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 60_000;
/** Assumed slot hold time, whatever the cost, until the first request has finished. */
const INITIAL_HOLD_MS = 1000;
/** Weight of the newest sample in the moving averages. */
const EWMA_WEIGHT = 0.2;

/**
 * @example
 * ```ts
 * const pool = new SlotPool({ size: 4, queueSize: 16 });
 * const slot = await pool.acquire(signal, 200); // may queue; throws OverloadedError or AbortError
 * try { ... } finally { pool.release(slot); }
 * ```
 */
export class SlotPool {
  readonly size: number;
  readonly queueSize: number;
  readonly #now: () => number;
  readonly #free: number[];
  readonly #queue: Waiter[] = [];
  readonly #holders = new Map<number, Holder>();
  #holdMs = INITIAL_HOLD_MS;
  /** Learnt hold time per unit of cost; undefined until a request has finished. */
  #msPerCost: number | undefined;

  constructor(options: SlotPoolOptions) {
    this.size = options.size;
    this.queueSize = options.queueSize;
    this.#now = options.now ?? (() => performance.now());
    // Reversed so that pop() hands out slot 0 first (keeps one sequence warm under light load).
    this.#free = Array.from({ length: options.size }, (_, i) => options.size - 1 - i);
  }

  get active(): number {
    return this.size - this.#free.length;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Average time a request holds a slot (moving average), in milliseconds. */
  get averageHoldMs(): number {
    return this.#holdMs;
  }

  /**
   * Takes a free slot, or waits in line; rejects at once when the line is full.
   * `cost` is how much work the request asks for (the local backend passes its token
   * budget): hold times are learnt per unit of cost, so a long request is expected to hold
   * its slot longer than a short one.
   */
  acquire(signal: AbortSignal, cost = 1): Promise<number> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    const slot = this.#free.pop();
    if (slot !== undefined) {
      this.#holders.set(slot, { since: this.#now(), cost });
      return Promise.resolve(slot);
    }
    if (this.#queue.length >= this.queueSize) return Promise.reject(new OverloadedError(this.retryAfterMs()));
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        cost,
        onAbort: () => {
          // A queued request whose caller gave up leaves the line at once.
          const at = this.#queue.indexOf(waiter);
          if (at !== -1) this.#queue.splice(at, 1);
          reject(abortError(signal));
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Returns a slot: the first in line gets it, otherwise it goes back to the pool. */
  release(slot: number): void {
    const holder = this.#holders.get(slot);
    if (holder === undefined) throw new Error(`Slot ${slot} released twice or never acquired`);
    const now = this.#now();
    const held = now - holder.since;
    this.#holdMs += EWMA_WEIGHT * (held - this.#holdMs);
    const perCost = held / Math.max(1, holder.cost);
    this.#msPerCost =
      this.#msPerCost === undefined ? perCost : this.#msPerCost + EWMA_WEIGHT * (perCost - this.#msPerCost);
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#holders.delete(slot);
      this.#free.push(slot);
      return;
    }
    next.signal.removeEventListener('abort', next.onAbort);
    this.#holders.set(slot, { since: now, cost: next.cost });
    next.resolve(slot);
  }

  /**
   * Estimated wait before a new request would get a slot, so that a client told
   * to come back then finds room rather than burning a retry. Plays the line forward: each
   * busy slot frees when its request is expected to end (cost × the learnt time per unit,
   * less what it has run; a request that has outrun that estimate is given half as long
   * again as it has run), then everyone in line takes the earliest free slot in turn for
   * their own expected time, and the new request comes after them.
   */
  retryAfterMs(): number {
    const now = this.#now();
    const freeAt: number[] = [];
    for (const holder of this.#holders.values()) {
      const ran = now - holder.since;
      freeAt.push(Math.max(this.#expectedMs(holder.cost) - ran, ran / 2));
    }
    while (freeAt.length < this.size) freeAt.push(0);
    for (const waiter of this.#queue) {
      const earliest = indexOfMin(freeAt);
      freeAt[earliest] = (freeAt[earliest] as number) + this.#expectedMs(waiter.cost);
    }
    const wait = freeAt[indexOfMin(freeAt)] as number;
    return Math.round(Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, wait)));
  }

  /** Rejects everyone in line (on close). */
  rejectQueued(error: unknown): void {
    for (const waiter of this.#queue.splice(0)) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.reject(error);
    }
  }

  #expectedMs(cost: number): number {
    return this.#msPerCost === undefined ? INITIAL_HOLD_MS : Math.max(1, cost) * this.#msPerCost;
  }
}

// --- internal ---

function indexOfMin(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) < (values[best] as number)) best = i;
  return best;
}
