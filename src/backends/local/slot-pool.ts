/**
 * A fixed pool of slots (one per context sequence) with a bounded FIFO queue in front.
 * Full pool + full queue -> OverloadedError with an estimated wait, like Azure's 429.
 * @module
 */
import { AbortError, OverloadedError } from '../../errors.js';

export interface SlotPoolOptions {
  /** Number of slots. */
  size: number;
  /** Requests allowed to wait when every slot is taken. */
  queueSize: number;
}

interface Waiter {
  resolve(slot: number): void;
  reject(error: unknown): void;
  signal: AbortSignal;
  onAbort(): void;
}

/** Bounds for the retry-after estimate, in milliseconds. */
const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 60_000;
/** Assumed slot hold time before any request has finished. */
const INITIAL_HOLD_MS = 1000;
/** Weight of the newest hold time in the moving average. */
const HOLD_EWMA_WEIGHT = 0.2;

/**
 * @example
 * ```ts
 * const pool = new SlotPool({ size: 4, queueSize: 16 });
 * const slot = await pool.acquire(signal); // may queue; throws OverloadedError or AbortError
 * try { ... } finally { pool.release(slot); }
 * ```
 */
export class SlotPool {
  readonly size: number;
  readonly queueSize: number;
  readonly #free: number[];
  readonly #queue: Waiter[] = [];
  readonly #since = new Map<number, number>();
  #holdMs = INITIAL_HOLD_MS;

  constructor(options: SlotPoolOptions) {
    this.size = options.size;
    this.queueSize = options.queueSize;
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

  /** Takes a free slot, or waits in line; rejects at once when the line is full. */
  acquire(signal: AbortSignal): Promise<number> {
    if (signal.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    const slot = this.#free.pop();
    if (slot !== undefined) {
      this.#since.set(slot, performance.now());
      return Promise.resolve(slot);
    }
    if (this.#queue.length >= this.queueSize) return Promise.reject(new OverloadedError(this.retryAfterMs()));
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          // A queued request whose caller gave up leaves the line at once.
          const at = this.#queue.indexOf(waiter);
          if (at !== -1) this.#queue.splice(at, 1);
          reject(new AbortError(undefined, { cause: signal.reason }));
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Returns a slot: the first in line gets it, otherwise it goes back to the pool. */
  release(slot: number): void {
    const since = this.#since.get(slot);
    if (since === undefined) throw new Error(`Slot ${slot} released twice or never acquired`);
    this.#holdMs += HOLD_EWMA_WEIGHT * (performance.now() - since - this.#holdMs);
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#since.delete(slot);
      this.#free.push(slot);
      return;
    }
    next.signal.removeEventListener('abort', next.onAbort);
    this.#since.set(slot, performance.now());
    next.resolve(slot);
  }

  /**
   * Estimated wait before a new request would get a slot: everyone in line plus it, served
   * `size` at a time, each round taking the average hold time.
   */
  retryAfterMs(): number {
    const rounds = (this.#queue.length + 1) / this.size;
    return Math.round(Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, rounds * this.#holdMs)));
  }

  /** Rejects everyone in line (on close). */
  rejectQueued(error: unknown): void {
    for (const waiter of this.#queue.splice(0)) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.reject(error);
    }
  }
}
