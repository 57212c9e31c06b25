/**
 * One timer for the first-token, idle and total limits of a stream.
 *
 * Resetting a timer per chunk costs a clearTimeout + setTimeout each time; instead the hot
 * path only stores a timestamp, and a single timer wakes at the earliest possible deadline,
 * re-checks against the stored times and sleeps again if nothing has expired yet. Deadlines
 * only ever move later, so waking early is the only possible mistake, and it is harmless.
 * @module
 */
import type { TimeoutPhase } from '../errors.js';
import type { Timeouts } from './options.js';

export type OnTimeout = (phase: TimeoutPhase, limitMs: number) => void;

/** A limit of 0, a negative or a non-finite number means "no limit". */
function active(ms: number | undefined): ms is number {
  return ms !== undefined && ms > 0 && Number.isFinite(ms);
}

export class Watchdog {
  readonly #limits: Timeouts;
  readonly #onTimeout: OnTimeout;
  readonly #startedAt: number;
  #bodyAt = -1;
  #lastEventAt = -1;
  #sawToken = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** Starts the total limit now (`now` = performance.now()). */
  constructor(limits: Timeouts, onTimeout: OnTimeout, now: number) {
    this.#limits = limits;
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

  /** Any sign of life (event, chunk, heartbeat comment). Hot path: one store. */
  event(now: number): void {
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

  /** The earliest deadline still pending, with its phase. */
  #next(): { at: number; phase: TimeoutPhase; limit: number } | undefined {
    const { totalMs, firstTokenMs, idleMs } = this.#limits;
    let best: { at: number; phase: TimeoutPhase; limit: number } | undefined;
    const consider = (at: number, phase: TimeoutPhase, limit: number) => {
      if (best === undefined || at < best.at) best = { at, phase, limit };
    };
    if (active(totalMs)) consider(this.#startedAt + totalMs, 'total', totalMs);
    if (this.#bodyAt >= 0) {
      if (active(firstTokenMs) && !this.#sawToken) consider(this.#bodyAt + firstTokenMs, 'first-token', firstTokenMs);
      if (active(idleMs)) consider(this.#lastEventAt + idleMs, 'idle', idleMs);
    }
    return best;
  }

  #schedule(now: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = this.#next();
    if (next === undefined) return;
    this.#timer = setTimeout(() => this.#check(), Math.max(0, Math.ceil(next.at - now)));
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = performance.now();
    const next = this.#next();
    if (next === undefined) return;
    // Timers may fire a fraction of a millisecond early; 1 ms of slack avoids a busy loop.
    if (next.at <= now + 1) {
      this.stop();
      this.#onTimeout(next.phase, next.limit);
      return;
    }
    this.#schedule(now);
  }
}
