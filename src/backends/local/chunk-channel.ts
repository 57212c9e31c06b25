/**
 * The bounded hand-off between a generation loop (producer) and the stream's reader.
 * `push` resolves only when there is room, so generation never runs more than
 * `readAhead` chunks ahead of a slow reader: memory stays flat however slow it reads.
 * @module
 */

type Settled = { kind: 'end' } | { kind: 'error'; error: unknown };

/**
 * @example
 * ```ts
 * const ch = new ChunkChannel<string>(0, signal);
 * // producer:  if (!(await ch.push('x'))) return; ... ch.end();
 * // consumer:  for (;;) { const r = await ch.take(); if (r.done) break; use(r.value); }
 * ```
 */
export class ChunkChannel<T> {
  readonly #readAhead: number;
  readonly #signal: AbortSignal;
  readonly #onAbort = () => this.#resolveProducer(false);
  readonly #buffer: T[] = [];
  #settled: Settled | undefined;
  #closed = false;
  #wakeProducer: ((open: boolean) => void) | undefined;
  #wakeConsumer: (() => void) | undefined;

  /**
   * @param readAhead chunks the producer may buffer beyond the one being handed over
   *   (0: it waits until the reader has taken each chunk).
   * @param signal an abort wakes a waiting producer (push resolves false).
   */
  constructor(readAhead: number, signal: AbortSignal) {
    this.#readAhead = readAhead;
    this.#signal = signal;
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Stops listening to the signal (a long-lived signal must not collect listeners). */
  dispose(): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
  }

  /** Chunks waiting for the reader. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /**
   * Hands a chunk over. Resolves true when the producer may go on, false when the reader has
   * gone (closed) or the signal aborted: then stop generating.
   */
  push(item: T): Promise<boolean> {
    if (this.#closed || this.#signal.aborted) return Promise.resolve(false);
    this.#buffer.push(item);
    this.#resolveConsumer();
    if (this.#buffer.length <= this.#readAhead) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.#wakeProducer = resolve;
    });
  }

  /** Normal end, after the buffered chunks. */
  end(): void {
    this.#settled ??= { kind: 'end' };
    this.#resolveConsumer();
  }

  /** Ends with an error. `discard`: drop buffered chunks so the reader sees it at once (aborts). */
  fail(error: unknown, discard = false): void {
    if (discard) this.#buffer.length = 0;
    this.#settled ??= { kind: 'error', error };
    this.#resolveConsumer();
  }

  /** The reader's side: the next chunk, or done; throws the producer's error. */
  async take(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.#buffer.length > 0) {
        const value = this.#buffer.shift() as T;
        if (this.#buffer.length <= this.#readAhead) this.#resolveProducer(true);
        return { done: false, value };
      }
      const settled = this.#settled;
      if (settled?.kind === 'end') return { done: true, value: undefined };
      if (settled?.kind === 'error') throw settled.error;
      await new Promise<void>((resolve) => {
        this.#wakeConsumer = resolve;
      });
    }
  }

  /** The reader is gone: wakes the producer with false and drops what was buffered. */
  close(): void {
    this.#closed = true;
    this.#buffer.length = 0;
    this.#resolveProducer(false);
  }

  #resolveProducer(open: boolean): void {
    const wake = this.#wakeProducer;
    this.#wakeProducer = undefined;
    wake?.(open);
  }

  #resolveConsumer(): void {
    const wake = this.#wakeConsumer;
    this.#wakeConsumer = undefined;
    wake?.();
  }
}
