/**
 * One timer for the first-token, idle and total limits of a stream.
 *
 * Resetting a timer per chunk costs a clearTimeout + setTimeout each time; instead the hot
 * path only stores timestamps, and a single timer wakes at the earliest possible deadline,
 * re-checks against the stored times and sleeps again if nothing has expired yet. Deadlines
 * only ever move later, so waking early is the only possible mistake, and it is harmless.
 *
 * Silence is counted only while the consumer waits for a chunk: time it spends between
 * chunks (writing them to a slow client, say) is not the server's silence, and chunks that
 * arrived meanwhile sit in the socket buffer.
 * @module
 */
import type { TimeoutPhase } from '../errors.js';
import { isLimit, type Timeouts } from './options.js';

export type OnTimeout = (phase: TimeoutPhase, limitMs: number) => void;

export class Watchdog {
  readonly #total: number;
  readonly #firstToken: number;
  readonly #idle: number;
  readonly #onTimeout: OnTimeout;
  readonly #startedAt: number;
  // The times are fractional milliseconds, and so is every start value here (-Infinity for
  // "not yet", -0 for nothing used): a field that starts as a small integer and then holds a
  // fraction gives the instances a new hidden class, which the kept one (client/shapes.ts)
  // would not be.
  /** When the body began (headers arrived); -Infinity before. */
  #bodyAt = Number.NEGATIVE_INFINITY;
  /** Last sign of life or the start of the current wait, whichever is later. */
  #lastEventAt = Number.NEGATIVE_INFINITY;
  #pullAt = Number.NEGATIVE_INFINITY;
  #waiting = false;
  #sawToken = false;
  /** Waiting time already spent before the first token, over earlier pulls. */
  #firstTokenUsed = -0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  readonly #clock: () => number;

  /**
   * Starts the total limit now (`now` = `clock()`). `clock` is the time source the timers
   * check against, `performance.now` unless a test steps time by hand.
   */
  constructor(limits: Timeouts, onTimeout: OnTimeout, now: number, clock: () => number = () => performance.now()) {
    this.#clock = clock;
    this.#total = isLimit(limits.totalMs) ? limits.totalMs : 0;
    this.#firstToken = isLimit(limits.firstTokenMs) ? limits.firstTokenMs : 0;
    this.#idle = isLimit(limits.idleMs) ? limits.idleMs : 0;
    this.#onTimeout = onTimeout;
    this.#startedAt = now;
    this.#schedule(now);
  }

  /** The response body begins (headers arrived): arms first-token and idle. */
  body(now: number): void {
    this.#bodyAt = now;
    this.#lastEventAt = now;
    this.#schedule(now);
  }

  /** The consumer asks for the next chunk. Hot path: three stores. */
  pull(now: number): void {
    this.#waiting = true;
    this.#pullAt = now;
    this.#lastEventAt = now;
  }

  /** A chunk was delivered to the consumer. Hot path. */
  event(now: number): void {
    if (!this.#sawToken && this.#waiting && this.#bodyAt >= 0) {
      this.#firstTokenUsed += now - Math.max(this.#pullAt, this.#bodyAt);
    }
    this.#waiting = false;
    this.#lastEventAt = now;
  }

  /** A sign of life that is not a chunk (a heartbeat comment) while the consumer waits. */
  alive(now: number): void {
    this.#lastEventAt = now;
  }

  /** The first text or tool-call delta arrived: the first-token limit is met. */
  token(): void {
    this.#sawToken = true;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The earliest deadline now pending (`wake` only: nothing can expire before it). */
  #next(now: number): { at: number; phase: TimeoutPhase; limit: number; wake: boolean } | undefined {
    let best: { at: number; phase: TimeoutPhase; limit: number; wake: boolean } | undefined;
    const consider = (at: number, phase: TimeoutPhase, limit: number, wake: boolean) => {
      if (best === undefined || at < best.at) best = { at, phase, limit, wake };
    };
    if (this.#total > 0) consider(this.#startedAt + this.#total, 'total', this.#total, false);
    if (this.#bodyAt >= 0) {
      const firstTokenLeft = this.#firstToken > 0 && !this.#sawToken ? this.#firstToken - this.#firstTokenUsed : -1;
      if (this.#waiting) {
        if (firstTokenLeft >= 0) {
          consider(Math.max(this.#pullAt, this.#bodyAt) + firstTokenLeft, 'first-token', this.#firstToken, false);
        }
        if (this.#idle > 0) consider(this.#lastEventAt + this.#idle, 'idle', this.#idle, false);
      } else {
        // Not waiting: nothing can expire before the next pull plus the shortest limit left.
        if (firstTokenLeft >= 0) consider(now + firstTokenLeft, 'first-token', this.#firstToken, true);
        if (this.#idle > 0) consider(now + this.#idle, 'idle', this.#idle, true);
      }
    }
    return best;
  }

  #schedule(now: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = this.#next(now);
    if (next === undefined) return;
    this.#timer = setTimeout(() => this.#check(), Math.max(1, Math.ceil(next.at - now)));
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = this.#clock();
    const next = this.#next(now);
    if (next === undefined) return;
    // Timers may fire a fraction of a millisecond early; 1 ms of slack avoids a busy loop.
    if (!next.wake && next.at <= now + 1) {
      this.stop();
      this.#onTimeout(next.phase, next.limit);
      return;
    }
    this.#schedule(now);
  }
}
