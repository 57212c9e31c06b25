/**
 * ChunkRelay: a streamed Chat Completions or Completions answer read to be forwarded as it
 * came — what a server or gateway relaying an upstream needs, and nothing it does not.
 *
 * It reads the same source as `ResponseStream` (client/http-source.ts: the request, its
 * redirects and error answers, the SSE body, resumption) and keeps the same rules: every
 * chunk checked (`checkChunk`) and accumulated, time-outs counted only while the reader
 * waits (client/watchdog.ts), an end without `[DONE]` or with an unfinished choice a
 * truncation with the partial kept, errors scrubbed of the client's credentials. What it
 * leaves out is what only a reader of the whole answer uses: `final()`, metrics, the
 * outcome, a second abort controller (the caller's signal is the request's, unless a limit
 * may expire before the headers). At 256 short streams at once, a gateway spent about a fifth
 * of its CPU per request in those parts (docs/gateway.md, Round 8).
 * @module
 */
import { abortError, followSignal } from '../abort.js';
import { NOT_READY, type PullIterator } from '../backend.js';
import { AbortError, ConnectionError, type SluiceError, TimeoutError, type TimeoutPhase } from '../errors.js';
import { redactError } from '../protocol/secrets.js';
import type { ShapeLimits } from '../protocol/shape.js';
import type { ApiKind, ApiTypes } from '../types.js';
import {
  type ItemIterator,
  type ResponseMeta,
  type SourceContext,
  type SourceEnd,
  shapeFailure,
  startSource,
  toSluiceError,
} from './event-stream.js';
import { isLimit, type Timeouts } from './options.js';
import { ChunkCodec, type ChunkSource } from './response-stream.js';
import { Watchdog } from './watchdog.js';

export interface ChunkRelayOptions {
  /** Cancels the request and the stream; the source listens to it directly. */
  signal?: AbortSignal | undefined;
  /** First-token, idle and total limits (headers are timed by the sender). */
  timeouts?: Timeouts | undefined;
  /** Bounds on choice and tool-call indexes; a chunk beyond them ends the stream. */
  limits: ShapeLimits;
  /** Credentials scrubbed from every error. */
  secrets?: Iterable<string> | undefined;
}

type Chunk<K extends ApiKind> = ApiTypes[K]['chunk'];

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A streamed answer for forwarding: each chunk as parsed, with its upstream JSON text kept
 * beside it (protocol/source-json.ts), so a relay writes the upstream's own bytes. Iterate it
 * once, with for-await or, without a promise per chunk, with `take()` and `wait()`
 * (`PullIterator`). A failure (cut, stall, malformed chunk, error frame, abort) is thrown as
 * the client's typed error, with what arrived as its `partial`.
 *
 * Leaving early (`return()`, `break`) cancels the body; abort the signal to cancel a request
 * still waiting for its headers.
 *
 * @example
 * const relay = client.relay('chat', { messages }, { signal });
 * for await (const chunk of relay) res.write(chunkFrame(chunk)); // protocol/sse-relay.ts
 */
export class ChunkRelay<K extends ApiKind> implements PullIterator<Chunk<K>>, AsyncIterable<Chunk<K>> {
  readonly kind: K;
  /** Resolves when the response headers arrive; rejects if the stream ended before. */
  readonly meta: Promise<ResponseMeta>;

  readonly #codec: ChunkCodec<K>;
  readonly #iter: ItemIterator<Chunk<K>>;
  readonly #watchdog: Watchdog;
  readonly #secrets: Iterable<string> | undefined;
  readonly #signal: AbortSignal;
  /** Our own controller, only when a limit may expire before the headers (the request must then be aborted). */
  readonly #controller: AbortController | undefined;
  readonly #unfollow: (() => void) | undefined;
  /** Settles `meta`; dropped once it did (kept, the resolvers would live as long as the stream). */
  #settleMeta: { resolve: (meta: ResponseMeta) => void; reject: (err: unknown) => void } | undefined;
  /** Set once the stream ended: `error` for a failure. */
  #result: { error: SluiceError | undefined } | undefined;
  /** The reader waits (`wait()` or `next()`): the watchdog counts silence. */
  #pulled = false;

  constructor(kind: K, source: ChunkSource<K>, options: ChunkRelayOptions) {
    const t0 = performance.now();
    this.kind = kind;
    this.#codec = new ChunkCodec(kind, options.limits);
    this.#secrets = options.secrets;
    this.meta = new Promise<ResponseMeta>((resolve, reject) => {
      this.#settleMeta = { resolve, reject };
    });
    // Nobody has to look at meta: an unobserved rejection must not crash the process.
    this.meta.catch(() => {});
    const timeouts = options.timeouts ?? {};
    this.#watchdog = new Watchdog(timeouts, (phase, limit) => this.#timedOut(phase, limit), t0);
    const early = isLimit(timeouts.firstTokenMs) || isLimit(timeouts.totalMs);
    if (options.signal !== undefined && !early) {
      this.#controller = undefined;
      this.#signal = options.signal;
      this.#unfollow = undefined;
    } else {
      const controller = new AbortController();
      this.#controller = controller;
      this.#signal = controller.signal;
      this.#unfollow = options.signal ? followSignal(controller, options.signal) : undefined;
    }
    this.#iter = startSource(source, new ChunkRelay.#Context(this));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next chunk if it is here now, checked; `NOT_READY` when none is, or after the end (`next()` says how). */
  take(): Chunk<K> | typeof NOT_READY {
    const result = this.#result;
    if (result !== undefined) {
      if (result.error !== undefined) throw result.error;
      return NOT_READY;
    }
    const iter = this.#iter;
    // (A source that failed as it started has no take(): its next() says why.)
    if (iter.take === undefined) return NOT_READY;
    let chunk: Chunk<K> | typeof NOT_READY;
    try {
      chunk = iter.take();
    } catch (err) {
      throw this.#fail(err);
    }
    if (chunk === NOT_READY) return NOT_READY;
    if (this.#pulled) {
      this.#pulled = false;
      this.#watchdog.event(performance.now());
    }
    return this.#deliver(chunk);
  }

  /** Calls `wake` once when `take()` may have news (a chunk, the end, a failure). */
  wait(wake: () => void): void {
    const iter = this.#iter;
    if (this.#result !== undefined || iter.wait === undefined) {
      wake();
      return;
    }
    if (!this.#pulled) {
      this.#pulled = true;
      this.#watchdog.pull(performance.now());
    }
    iter.wait(wake);
  }

  next(): Promise<IteratorResult<Chunk<K>, undefined>> {
    const result = this.#result;
    if (result !== undefined) return result.error ? Promise.reject(result.error) : Promise.resolve(DONE);
    let chunk: Chunk<K> | typeof NOT_READY;
    try {
      chunk = this.take();
    } catch (err) {
      return Promise.reject(err);
    }
    if (chunk !== NOT_READY) return Promise.resolve({ value: chunk, done: false });
    return this.#wait();
  }

  /** Leaves early: cancels the body; the stream ends as aborted by its consumer. */
  return(): Promise<IteratorResult<Chunk<K>, undefined>> {
    if (this.#result === undefined) {
      const reason = new AbortError('The consumer stopped reading the stream');
      this.#controller?.abort(reason);
      this.#settle(reason);
      this.#closeSource();
    }
    return Promise.resolve(DONE);
  }

  // --- internal ---

  /** What the source is given: the relay's signal, and its calls back (a class: see EventStream's). */
  static readonly #Context = class RelayContext<C extends ApiKind> implements SourceContext {
    readonly signal: AbortSignal;
    readonly #relay: ChunkRelay<C>;
    constructor(relay: ChunkRelay<C>) {
      this.#relay = relay;
      this.signal = relay.#signal;
    }
    opened(meta: ResponseMeta): void {
      const relay = this.#relay;
      relay.#watchdog.body(performance.now());
      const settle = relay.#settleMeta;
      relay.#settleMeta = undefined;
      settle?.resolve(meta);
    }
    alive(): void {
      this.#relay.#watchdog.alive(performance.now());
    }
    relaying(): boolean {
      return true;
    }
  };

  async #wait(): Promise<IteratorResult<Chunk<K>, undefined>> {
    let step: IteratorResult<Chunk<K>, SourceEnd | undefined>;
    this.#pulled = false;
    try {
      this.#watchdog.pull(performance.now());
      step = await this.#iter.next();
    } catch (err) {
      throw this.#fail(err);
    }
    const result = this.#result;
    if (result !== undefined) {
      if (result.error !== undefined) throw result.error;
      return DONE;
    }
    if (!step.done) {
      this.#watchdog.event(performance.now());
      return { value: this.#deliver(step.value), done: false };
    }
    // Past this point every throw ends the stream.
    let error: SluiceError | undefined;
    try {
      const end = this.#codec.finish({ sawDone: step.value ? step.value.sawDone : true });
      error = this.#codec.endError(end, step.value?.cause);
    } catch (err) {
      throw this.#stop(err);
    }
    this.#settle(error);
    if (error !== undefined) throw error;
    return DONE;
  }

  /** Checks and accumulates one chunk; a bad one ends the stream. */
  #deliver(raw: Chunk<K>): Chunk<K> {
    const codec = this.#codec;
    try {
      const chunk = codec.check(raw);
      if (codec.tokens(chunk) > 0) this.#watchdog.token();
      codec.push(chunk);
      return chunk;
    } catch (err) {
      throw this.#stop(err);
    }
  }

  /** A fault found here (a malformed chunk): the failure is settled, then the source is closed. */
  #stop(raw: unknown): SluiceError {
    const err = this.#fail(shapeFailure(raw));
    this.#controller?.abort(err);
    this.#closeSource();
    return err;
  }

  #timedOut(phase: TimeoutPhase, limit: number): void {
    if (this.#result !== undefined) return;
    const err = new TimeoutError(phase, limit);
    this.#controller?.abort(err);
    this.#fail(err);
    this.#closeSource();
  }

  /** Maps whatever stopped the source to the error the reader sees, with the partial, and ends the stream. */
  #fail(raw: unknown): SluiceError {
    const result = this.#result;
    if (result !== undefined) return result.error ?? toSluiceError(raw);
    const err = this.#signal.aborted ? abortError(this.#signal) : toSluiceError(raw);
    const codec = this.#codec;
    try {
      if (err.partial === undefined && codec.count() > 0) err.partial = codec.response() as SluiceError['partial'];
    } catch {
      // Accumulating what arrived failed too: report the error without a partial.
    }
    this.#settle(err);
    return err;
  }

  #settle(error: SluiceError | undefined): void {
    this.#watchdog.stop();
    this.#unfollow?.();
    if (error !== undefined && this.#secrets !== undefined) redactError(error, this.#secrets);
    const settle = this.#settleMeta;
    this.#settleMeta = undefined;
    settle?.reject(error ?? new ConnectionError('The stream ended before a response arrived'));
    this.#result = { error };
  }

  /** Closes the source in the background (its body is cancelled). */
  #closeSource(): void {
    Promise.resolve()
      .then(() => this.#iter.return?.())
      .catch(() => {});
  }
}
