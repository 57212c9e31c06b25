/**
 * EventStream: the machinery every streamed answer shares, whatever its items are (chat and
 * completions chunks in `ResponseStream`, Responses events in `ResponsesStream`) and
 * whatever produced them (an HTTP call, any Backend).
 *
 * It wraps an *item source* — a function that, given a signal and two callbacks, returns an
 * async iterator of items — and a *codec* (how to check, count and accumulate those items,
 * and what error an end state means), and adds what every consumer needs: the accumulated
 * result, an honest end state, time-outs, metrics, abort and a web-stream relay.
 *
 * Reading is pull-based: an item is parsed only when the consumer asks for it, so a slow
 * consumer back-pressures the socket instead of filling memory.
 * @module
 */
import { abortError } from '../abort.js';
import { NOT_READY, type PullIterator } from '../backend.js';
import {
  AbortError,
  ConnectionError,
  ProtocolError,
  type RateLimitInfo,
  SluiceError,
  TimeoutError,
  type TimeoutPhase,
} from '../errors.js';
import type { EndState, FinishHow } from '../protocol/end-state.js';
import { redactError, redactSecretsDeep } from '../protocol/secrets.js';
import type { Usage } from '../types.js';
import { MetricsRecorder, type StreamMetrics } from './metrics.js';
import type { Timeouts } from './options.js';
import { keepItemShapes } from './shapes.js';
import { Watchdog } from './watchdog.js';

/** What the response said about itself. */
export interface ResponseMeta {
  /** HTTP status (200 for a backend). */
  status: number;
  /** `apim-request-id` or `x-request-id`. */
  requestId?: string;
  /** `x-ms-region` (Azure). */
  region?: string;
  /** Parsed `x-ratelimit-*` headers. */
  rateLimit: RateLimitInfo;
  /** All response headers (empty for a backend). */
  headers: Headers;
  /** Attempts made, 1 + retries. */
  attempts: number;
  /** The URL that answered, after redirects (undefined for a backend). */
  url?: string;
}

/** The outcome of a stream: never a rejection for stream faults, the end state says it. */
export interface StreamOutcome<Result> {
  /** Everything that arrived, in the non-streaming response shape. */
  response: Result;
  end: EndState;
  metrics: StreamMetrics;
  /** The error that ended the stream, if one did (also in `end` when `failed`). */
  error?: SluiceError;
}

/** What an item source is given. */
export interface SourceContext {
  /** Aborted on `abort()`, the caller's signal, a time-out, or the consumer leaving. */
  readonly signal: AbortSignal;
  /** The response began (headers arrived): resolves `meta`, arms first-token and idle. */
  opened(meta: ResponseMeta): void;
  /** A sign of life that is not an item (an SSE comment or an ignored event). */
  alive(): void;
  /**
   * True when the items will be relayed as SSE as they are (`toSSE()`, a server forwarding
   * an upstream): a source that parses JSON then keeps each item's text beside it, so the
   * relay writes the upstream's own bytes (protocol/source-json.ts). It may turn true after
   * the source started, when iteration begins; ask per read.
   */
  relaying(): boolean;
}

/**
 * How a source ended normally: `sawDone: false` means the stream stopped without its end
 * mark (`[DONE]` for chat, a terminal event for Responses).
 */
export interface SourceEnd {
  sawDone: boolean;
  /** Why reading stopped early (e.g. the connection was cut), kept as the error's `cause`. */
  cause?: unknown;
}

/**
 * The iterator a source returns. `take` is optional: a source that holds items already read
 * (several SSE events arrive in one network read) hands them over without a promise each.
 */
export interface ItemIterator<Item> extends AsyncIterator<Item, SourceEnd | undefined, undefined> {
  /**
   * The next item if it is there now, else `NOT_READY` (then `next()` waits for it, or for
   * the end). Throws what `next()` would reject with; after a throw the source is closed.
   */
  take?(): Item | typeof NOT_READY;
  /**
   * Calls `wake` once, maybe at once, when `take()` may have news (an item, the end, a
   * failure): a consumer that pulls with `take()` waits without a promise per item. After a
   * wake, `take()` answering `NOT_READY` means `next()` tells the rest (the end, usually).
   */
  wait?(wake: () => void): void;
}

/**
 * Produces items. Returning normally means the end mark was seen unless it returns
 * `{sawDone: false}`; throwing a SluiceError fails the stream. Work may start eagerly, when
 * the function is called (the HTTP source sends its request at once).
 */
export type ItemSource<Item> = (ctx: SourceContext) => ItemIterator<Item>;

/** What a stream needs to know about its items: one per stream (it holds the accumulator). */
export interface StreamCodec<Item, Result> {
  /** Checks one item and returns it; throws ProtocolError for a malformed one. */
  check(item: Item): Item;
  /** How many content deltas the item carries (first-token time, tokens/s). */
  tokens(item: Item): number;
  /** The usage the item reports, in Chat Completions' form, for the metrics. */
  usage(item: Item): Usage | null | undefined;
  /** Accumulates one checked item. */
  push(item: Item): void;
  /** Items pushed so far. */
  count(): number;
  /** A snapshot of everything so far. */
  response(): Result;
  /** The end state for how reading stopped. */
  finish(how: FinishHow): EndState;
  /**
   * The error an end the source reached means (with the partial, `response()`, built only
   * then: a good end's result is built once, for the outcome), or undefined for a good end.
   */
  endError(end: EndState, cause: unknown): SluiceError | undefined;
  /** The result when even accumulating failed. */
  empty(): Result;
}

export interface EventStreamOptions {
  signal?: AbortSignal | undefined;
  /** Only firstTokenMs, idleMs and totalMs apply here; headersMs is the source's business. */
  timeouts?: Timeouts | undefined;
  /**
   * Credentials to scrub from every error (message, upstream body, partial) before anyone
   * sees it; credential patterns are scrubbed whenever this is given. Read when the stream
   * ends, so a set that grows (a token provider's fresh tokens) is honoured.
   */
  secrets?: Iterable<string> | undefined;
  /**
   * The items will be forwarded as SSE (a server or gateway relaying an upstream): see
   * `SourceContext.relaying`. `toSSE()` turns it on by itself; no other consumer pays for it.
   */
  relay?: boolean | undefined;
}

/**
 * Items whose hidden classes are kept after a stream (client/shapes.ts): the first few (a
 * prompt-filter chunk, a role chunk, the first content chunk) and the last (a finish or usage chunk).
 */
const SAMPLED_FIRST_ITEMS = 3;

/** How a stream ended (the outcome is built from it when asked for). */
interface Settled {
  end: EndState;
  error: SluiceError | undefined;
}

const DONE_RESULT: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A streamed answer of `Item`s accumulating into a `Result`. Iterate it once (for-await,
 * `toReadableStream()`, or a subclass's helpers), or just await `final()`.
 *
 * @example
 * const stream = client.responses.stream({ input: 'Hi' }); // a ResponsesStream, an EventStream
 * for await (const event of stream) console.log(event.type);
 * const { end, metrics } = await stream.final();
 */
export class EventStream<Item, Result> implements AsyncIterable<Item> {
  /** Live metrics; final once the stream ended. */
  readonly metrics: StreamMetrics;
  /** Resolves when the response headers arrive; rejects if the call failed before. */
  readonly meta: Promise<ResponseMeta>;

  readonly #metrics: MetricsRecorder;
  readonly #codec: StreamCodec<Item, Result>;
  /** Aborted by `abort()`, a time-out, the consumer leaving or the caller's signal (`#abortWith`). */
  readonly #controller = new AbortController();
  /** What the source sees: the controller's signal. */
  readonly #signal: AbortSignal;
  /**
   * Whether the controller aborted: a field read per item, where the signal's `aborted` is a
   * getter call. Every abort goes through `#abortWith`, which sets it first.
   */
  #aborted = false;
  /** Stops following the caller's signal, when there is one. */
  readonly #unfollow: (() => void) | undefined;
  readonly #watchdog: Watchdog;
  readonly #iter: ItemIterator<Item>;
  readonly #secrets: Iterable<string> | undefined;
  #resolveMeta!: (meta: ResponseMeta) => void;
  #rejectMeta!: (err: unknown) => void;
  #metaSettled = false;
  /** `final()`'s promise, made when it is first asked for before the end. */
  #ended: Promise<StreamOutcome<Result>> | undefined;
  #resolveEnd: ((result: StreamOutcome<Result>) => void) | undefined;
  /** How the stream ended, once it did. */
  #result: Settled | undefined;
  /** The outcome, built when `final()` first wants it (see `#outcome`). */
  #outcomeBuilt: StreamOutcome<Result> | undefined;
  #consumed = false;
  #relay: boolean;
  /** A `PullIterator` consumer waits (the watchdog was told, as when `next()` waits). */
  #pulled = false;
  /** The first items and the last one, whose hidden classes are kept after the end (client/shapes.ts). */
  readonly #firstItems: Item[] = [];
  #lastItem: Item | undefined;

  /**
   * The iterator `[Symbol.asyncIterator]()` returns, and the context a source is given: class
   * instances whose methods live on the prototype, not literals of arrow functions. A
   * consumer's loop and a source call them per item; one function for every stream can stay
   * inlined in their optimized code, where a closure per stream is a new call target each
   * stream (the optimized code is thrown away when the target changes, and again when a
   * full collection frees the closure it was built for).
   */
  static readonly #Iterator = class StreamIterator<I, R> implements AsyncIterator<I, undefined, undefined> {
    protected readonly stream: EventStream<I, R>;
    constructor(stream: EventStream<I, R>) {
      this.stream = stream;
    }
    next(): Promise<IteratorResult<I, undefined>> {
      return this.stream.#next();
    }
    return(): Promise<IteratorResult<I, undefined>> {
      return this.stream.#leave();
    }
  };

  /** The iterator of a stream whose source can be pulled (`PullIterator`): `take` and `wait` too. */
  static readonly #PullIterator = class PullStreamIterator<I, R>
    extends EventStream.#Iterator<I, R>
    implements PullIterator<I>
  {
    take(): I | typeof NOT_READY {
      return this.stream.#take();
    }
    wait(wake: () => void): void {
      this.stream.#waitFor(wake);
    }
  };

  static readonly #Context = class StreamContext<I, R> implements SourceContext {
    readonly signal: AbortSignal;
    readonly #stream: EventStream<I, R>;
    constructor(stream: EventStream<I, R>) {
      this.#stream = stream;
      this.signal = stream.#signal;
    }
    opened(meta: ResponseMeta): void {
      this.#stream.#opened(meta);
    }
    alive(): void {
      this.#stream.#watchdog.alive(performance.now());
    }
    relaying(): boolean {
      return this.#stream.#relay;
    }
  };

  constructor(source: ItemSource<Item>, codec: StreamCodec<Item, Result>, options: EventStreamOptions = {}) {
    const t0 = performance.now();
    this.#metrics = new MetricsRecorder(t0);
    this.metrics = this.#metrics;
    this.#codec = codec;
    this.meta = new Promise<ResponseMeta>((resolve, reject) => {
      this.#resolveMeta = resolve;
      this.#rejectMeta = reject;
    });
    // Nobody has to look at meta: an unobserved rejection must not crash the process.
    this.meta.catch(() => {});
    this.#watchdog = new Watchdog(options.timeouts ?? {}, (phase, limit) => this.#timedOut(phase, limit), t0);

    this.#secrets = options.secrets;
    this.#relay = options.relay === true;
    this.#signal = this.#controller.signal;
    this.#unfollow = options.signal ? this.#follow(options.signal) : undefined;

    const ctx = new EventStream.#Context(this);
    this.#iter = startSource(source, ctx);
  }

  [Symbol.asyncIterator](): AsyncIterator<Item, undefined, undefined> {
    this.#claim();
    const iter = this.#iter;
    if (iter.take !== undefined && iter.wait !== undefined) return new EventStream.#PullIterator(this);
    return new EventStream.#Iterator(this);
  }

  /**
   * The accumulated response, the end state and the metrics. Never rejects for stream
   * faults. Reads the stream to its end if nobody is iterating it.
   */
  final(): Promise<StreamOutcome<Result>> {
    if (!this.#consumed) {
      this.#consumed = true;
      void this.#drain();
    }
    if (this.#result) return Promise.resolve(this.#settledOutcome());
    this.#ended ??= new Promise((resolve) => {
      this.#resolveEnd = resolve;
    });
    return this.#ended;
  }

  /**
   * Cancels the request at once (the server sees the connection close). Iteration throws an
   * AbortError (`cause` = `reason`); `final().end` is `aborted`.
   */
  abort(reason?: unknown): void {
    this.#abortWith(reason);
  }

  /**
   * The stream as a web ReadableStream of items; cancelling it aborts the request.
   */
  toReadableStream(): ReadableStream<Item> {
    const it = this[Symbol.asyncIterator]();
    return new ReadableStream<Item>(
      {
        async pull(controller) {
          try {
            const r = await it.next();
            if (r.done) controller.close();
            else controller.enqueue(r.value);
          } catch (err) {
            controller.error(err);
          }
        },
        async cancel() {
          await it.return?.();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * Iterates the stream for a relay to SSE (see `SourceContext.relaying`): the source keeps
   * each item's text, so the relay can forward the upstream's own bytes.
   */
  protected relayIterator(): AsyncIterator<Item, undefined, undefined> {
    const it = this[Symbol.asyncIterator](); // claims the stream first: a second reader throws here
    this.#relay = true;
    return it;
  }

  // --- internal ---

  #claim(): void {
    if (this.#consumed) {
      throw new TypeError(
        'This stream is already being read: iterate it once (for-await, textDeltas(), toReadableStream(), or toSSE() on a chat stream); final() and text() can still be awaited.',
      );
    }
    this.#consumed = true;
  }

  /** The response began (headers arrived): resolves `meta`, arms first-token and idle. */
  #opened(meta: ResponseMeta): void {
    const now = performance.now();
    this.#metrics.headers(now);
    this.#watchdog.body(now);
    if (!this.#metaSettled) {
      this.#metaSettled = true;
      this.#resolveMeta(meta);
    }
  }

  /**
   * The next item. An item the source already holds is delivered at once, without touching
   * the watchdog (nobody waited); otherwise the stream waits for one: told by a source that
   * can be pulled (`wait`), it takes and delivers the item as it comes, in the same call
   * (one promise per wait, the consumer's); any other source is awaited (`#wait`).
   */
  #next(): Promise<IteratorResult<Item, undefined>> {
    if (this.#result) return this.#afterEnd();
    // Items already parsed must not slip out after an abort or time-out.
    if (this.#aborted) return Promise.reject(this.#fail(this.#signal.reason));
    const iter = this.#iter;
    if (iter.take !== undefined) {
      let item: Item | typeof NOT_READY;
      try {
        item = iter.take();
      } catch (err) {
        return Promise.reject(this.#fail(err));
      }
      if (item !== NOT_READY) {
        try {
          return Promise.resolve({ value: this.#deliver(item, performance.now()), done: false });
        } catch (err) {
          return Promise.reject(err);
        }
      }
      if (iter.wait !== undefined) {
        const next = new Promise<IteratorResult<Item, undefined>>(this.#awaitNext);
        this.#waitFor(this.#onWake);
        return next;
      }
    }
    return this.#wait();
  }

  /** The consumer's pending `next()` while a pulled source is waited for (see `#next`). */
  #resolveNext:
    | ((result: IteratorResult<Item, undefined> | Promise<IteratorResult<Item, undefined>>) => void)
    | undefined;
  #rejectNext: ((error: unknown) => void) | undefined;
  // Made once per stream, not once per wait.
  readonly #awaitNext = (
    resolve: (result: IteratorResult<Item, undefined> | Promise<IteratorResult<Item, undefined>>) => void,
    reject: (error: unknown) => void,
  ): void => {
    this.#resolveNext = resolve;
    this.#rejectNext = reject;
  };

  /** The pulled source has news for the pending `next()`: an item, or else the end (which `#wait` reports). */
  readonly #onWake = (): void => {
    const resolve = this.#resolveNext;
    const reject = this.#rejectNext;
    if (resolve === undefined || reject === undefined) return;
    this.#resolveNext = undefined;
    this.#rejectNext = undefined;
    let item: Item | typeof NOT_READY;
    try {
      item = this.#take();
    } catch (err) {
      reject(err);
      return;
    }
    if (item !== NOT_READY) resolve({ value: item, done: false });
    else resolve(this.#wait());
  };

  /**
   * `PullIterator.take`: the next item if the source holds one, checked and counted as
   * `next()` would; `NOT_READY` when none is here or the stream ended (then `next()` says how).
   */
  #take(): Item | typeof NOT_READY {
    const result = this.#result;
    if (result) {
      if (result.error) throw result.error;
      return NOT_READY;
    }
    if (this.#aborted) throw this.#fail(this.#signal.reason);
    let item: Item | typeof NOT_READY;
    try {
      item = (this.#iter as Required<ItemIterator<Item>>).take();
    } catch (err) {
      throw this.#fail(err);
    }
    if (item === NOT_READY) return NOT_READY;
    const now = performance.now();
    if (this.#pulled) {
      // Waited for (see #waitFor): as an item `next()` waited for.
      this.#pulled = false;
      this.#watchdog.event(now);
    }
    return this.#deliver(item, now);
  }

  /** `PullIterator.wait`: as `next()` waiting, for the watchdog, with no promise. */
  #waitFor(wake: () => void): void {
    if (!this.#result && !this.#pulled) {
      this.#pulled = true;
      this.#watchdog.pull(performance.now());
    }
    (this.#iter as Required<ItemIterator<Item>>).wait(wake);
  }

  async #wait(): Promise<IteratorResult<Item, undefined>> {
    let r: IteratorResult<Item, SourceEnd | undefined>;
    this.#pulled = false;
    try {
      this.#watchdog.pull(performance.now());
      r = await this.#iter.next();
    } catch (err) {
      throw this.#fail(err);
    }
    // Ended meanwhile (the consumer left, an abort): that end stands.
    if (this.#result) return this.#afterEnd();
    const now = performance.now();
    if (!r.done) {
      this.#watchdog.event(now);
      return { value: this.#deliver(r.value, now), done: false };
    }
    // Past this point every throw ends the stream: nothing may leave final() or text() unsettled.
    const codec = this.#codec;
    try {
      const end = codec.finish({ sawDone: r.value ? r.value.sawDone : true });
      const err = codec.endError(end, r.value?.cause);
      this.#settle(end, now, err);
      if (err !== undefined) throw err;
      return DONE_RESULT;
    } catch (err) {
      // An end settled above is thrown as it is.
      const settled = this.#result as Settled | undefined;
      if (settled) throw settled.error ?? err;
      throw this.#stop(err);
    }
  }

  /** After the end: a failed stream keeps failing (so a second caller cannot mistake it for success). */
  #afterEnd(): Promise<IteratorResult<Item, undefined>> {
    const error = this.#result?.error;
    return error ? Promise.reject(error) : Promise.resolve(DONE_RESULT);
  }

  /** Checks, counts and accumulates one item arriving at `now`; throws the stream's error for a bad one. */
  #deliver(raw: Item, now: number): Item {
    const codec = this.#codec;
    try {
      const item = codec.check(raw);
      const tokens = codec.tokens(item);
      if (tokens > 0) this.#watchdog.token();
      this.#metrics.chunk(now, tokens, codec.usage(item));
      codec.push(item);
      if (this.#firstItems.length < SAMPLED_FIRST_ITEMS) this.#firstItems.push(item);
      this.#lastItem = item;
      return item;
    } catch (err) {
      const settled = this.#result as Settled | undefined;
      if (settled) throw settled.error ?? err;
      throw this.#stop(err);
    }
  }

  /**
   * Ends the stream for a fault found here (a malformed item), not by the source: the
   * failure is settled first (partial kept), then the source is told to stop.
   */
  #stop(raw: unknown): SluiceError {
    const err = this.#fail(shapeFailure(raw));
    this.#abortWith(err);
    this.#closeSource();
    return err;
  }

  /** Closes the source in the background; it is already told to stop through the signal. */
  #closeSource(): void {
    Promise.resolve()
      .then(() => this.#iter.return?.())
      .catch(() => {});
  }

  /** The consumer left early (break / return in for-await): cancel the request now. */
  async #leave(): Promise<IteratorResult<Item, undefined>> {
    if (!this.#result) {
      const reason = new AbortError('The consumer stopped reading the stream');
      this.#abortWith(reason);
      this.#fail(reason);
      try {
        await this.#iter.return?.();
      } catch {
        // The source is already torn down by the abort.
      }
    }
    return DONE_RESULT;
  }

  async #drain(): Promise<void> {
    try {
      while (!(await this.#next()).done) {
        // reading to the end
      }
    } catch {
      // recorded in the result
    }
  }

  /** Aborts the controller (the source sees it) with `reason`. */
  #abortWith(reason: unknown): void {
    this.#aborted = true;
    this.#controller.abort(reason);
  }

  /**
   * Aborts with the caller's signal, now or when it aborts; returns the detach. (abort.ts's
   * `followSignal`, but through `#abortWith`, so that the flag is set too.)
   */
  #follow(signal: AbortSignal): (() => void) | undefined {
    if (signal.aborted) {
      this.#abortWith(signal.reason);
      return undefined;
    }
    const listener = () => this.#abortWith(signal.reason);
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  }

  #timedOut(phase: TimeoutPhase, limit: number): void {
    this.#abortWith(new TimeoutError(phase, limit));
  }

  /** Maps whatever stopped the source to the error the consumer sees, and ends the stream. */
  #fail(raw: unknown): SluiceError {
    if (this.#result) return this.#result.error ?? toSluiceError(raw);
    const signal = this.#signal;
    const err = signal.aborted ? abortError(signal) : toSluiceError(raw);
    const codec = this.#codec;
    let end: EndState;
    try {
      end = err instanceof AbortError ? codec.finish({ aborted: err.cause }) : codec.finish({ error: err });
      if (err.partial === undefined && codec.count() > 0) err.partial = codec.response() as SluiceError['partial'];
    } catch {
      // Accumulating what arrived failed too: report the error without a partial.
      end = err instanceof AbortError ? { state: 'aborted', reason: err.cause } : { state: 'failed', error: err };
    }
    this.#settle(end, performance.now(), err);
    return err;
  }

  #settle(end: EndState, now: number, error: SluiceError | undefined): void {
    this.#watchdog.stop();
    this.#metrics.end(now);
    this.#unfollow?.();
    if (error !== undefined && this.#secrets !== undefined) redactError(error, this.#secrets);
    if (!this.#metaSettled) {
      this.#metaSettled = true;
      this.#rejectMeta(error ?? new ConnectionError('The stream ended before a response arrived'));
    }
    this.#result = { end, error };
    this.#resolveEnd?.(this.#settledOutcome());
    if (this.#lastItem !== undefined) keepItemShapes([...this.#firstItems, this.#lastItem], now);
  }

  /** The outcome of a settled stream, built once. */
  #settledOutcome(): StreamOutcome<Result> {
    if (this.#outcomeBuilt === undefined) {
      const { end, error } = this.#result as Settled;
      this.#outcomeBuilt = this.#outcome(end, error);
    }
    return this.#outcomeBuilt;
  }

  /**
   * The outcome object, plain data, built at the end if `final()` was asked for by then, else
   * when it is (the response clones the merged filter results, the metrics sort the gaps): a
   * relay that reads the items and never the outcome does not build it (about 3 % of a
   * gateway's CPU per short stream). Not getters: a literal's getters close over the stream
   * and keep it in the old generation, and they show as `[Getter]` when the outcome is logged.
   */
  #outcome(end: EndState, error: SluiceError | undefined): StreamOutcome<Result> {
    const codec = this.#codec;
    let response: Result;
    try {
      response = codec.response();
    } catch {
      response = (error?.partial as Result | undefined) ?? codec.empty();
    }
    // A failed stream's response is its partial result: scrubbed like the error's copy.
    if (error !== undefined && this.#secrets !== undefined) response = redactSecretsDeep(response, this.#secrets);
    return { response, end, metrics: this.#metrics.snapshot(), ...(error ? { error } : {}) };
  }
}

/**
 * Calls the source; one that throws at once (a bug, bad arguments) becomes an iterator
 * that fails with that error, so the stream ends like any other failure instead of the
 * constructor throwing past `final()`.
 */
export function startSource<Item>(source: ItemSource<Item>, ctx: SourceContext): ItemIterator<Item> {
  try {
    return source(ctx);
  } catch (err) {
    return {
      next: () => Promise.reject(err),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }
}

/** A fault found in an item (a check that threw), as the stream's error: a ProtocolError unless it is one of ours. */
export function shapeFailure(raw: unknown): SluiceError {
  if (raw instanceof SluiceError) return raw;
  const message = raw instanceof Error ? raw.message : String(raw);
  return new ProtocolError('unexpected-shape', `A chunk could not be read: ${message}. What arrived before is kept.`, {
    cause: raw,
  });
}

/** Anything a source throws, as a SluiceError (network failures become ConnectionError). */
export function toSluiceError(err: unknown): SluiceError {
  if (err instanceof SluiceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ConnectionError(`The stream failed: ${message}`, { cause: err });
}
