/**
 * Writes an SSE answer's frames at the end of the event-loop turn that produced them, every
 * answer's together. Under load one turn relays chunks of many streams (one upstream read
 * each); written as they came, each write woke its reader on its own, and waking a reader is
 * kernel work the writer pays inside the write (on the 2-core VM the benches run on, more than
 * the relay's own work per chunk). Written together at the turn's end, readers are woken once per turn, and
 * an answer that got several frames in one turn sends them in one write. The delay is the
 * rest of the turn, not a timer: `setImmediate` runs right after the turn's I/O callbacks.
 * While only one answer is open there is nothing to gather, and frames are written at once.
 *
 * Everything written to one answer goes through its writer (frames, heartbeats, the end), so
 * the order on the wire is the order of the calls.
 * @module
 */
import type { ServerResponse } from 'node:http';

/**
 * Frames waiting past this many characters are written at once: a backend that yields without
 * ending the turn (chunks already in memory, promises only) would otherwise queue without
 * bound, and backpressure is the socket's to say (Node's default high-water mark, 16 KiB).
 */
const WRITE_NOW_AT = 16 * 1024;

/** Writers with frames waiting for the end of this turn, in the order they first got one. */
const waiting: TurnWriter[] = [];
let scheduled = false;
/** Writers made and not yet ended or closed. */
let openWriters = 0;

function flushWaiting(): void {
  scheduled = false;
  // Taken whole first: a writer queued while these are written waits for the next turn's end.
  const writers = waiting.splice(0);
  for (const writer of writers) writer.turnEnded();
}

/** One SSE answer's frames, written at the end of the turn (see the module comment). */
export class TurnWriter {
  readonly #res: ServerResponse;
  #pending = '';
  /** In `waiting` (at most once: a write past 16 KiB empties `#pending` but stays there). */
  #queued = false;
  #open = true;

  constructor(res: ServerResponse) {
    this.#res = res;
    openWriters++;
  }

  /**
   * Queues `frame` for the end of this turn (or writes what waits at once past 16 KiB).
   * Returns false when the caller should wait for `drain`, as `res.write` would: the answer's
   * buffer is full.
   */
  write(frame: string): boolean {
    if (openWriters === 1 && this.#pending === '') return this.#res.destroyed || this.#res.write(frame);
    if (!this.#queued) {
      this.#queued = true;
      waiting.push(this);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushWaiting);
      }
    }
    this.#pending += frame;
    if (this.#pending.length >= WRITE_NOW_AT) return this.flush();
    return !this.#res.writableNeedDrain;
  }

  /**
   * Sends what was written to the answer at once (a first token): Node holds an answer's
   * writes of one tick (corked) until the tick's callbacks are done, which on a gateway's
   * request path means every promise step queued behind the write. Frames that wait for the
   * turn's end are not written yet, and still wait: gathering them is the point (see the module).
   */
  sendNow(): void {
    this.#res.socket?.uncork();
  }

  /** The turn's end (flushWaiting): writes what waits. */
  turnEnded(): void {
    this.#queued = false;
    this.flush();
  }

  /** Writes what waits now (at the turn's end, or when enough waits); false as `res.write`'s. */
  flush(): boolean {
    const pending = this.#pending;
    if (pending === '') return !this.#res.writableNeedDrain;
    this.#pending = '';
    return this.#res.destroyed || this.#res.write(pending);
  }

  /** Ends the answer now, after what waits, with `tail` (if any) last. */
  end(tail = ''): void {
    const out = this.#pending + tail;
    this.close();
    if (out === '') this.#res.end();
    else this.#res.end(out);
  }

  /**
   * This answer is done with (ended, or its client left): it no longer counts as open, and
   * what waits is dropped, so the turn's end writes nothing to it. Idempotent.
   */
  close(): void {
    this.#pending = '';
    if (!this.#open) return;
    this.#open = false;
    openWriters--;
  }
}
