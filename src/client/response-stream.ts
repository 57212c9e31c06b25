/**
 * ResponseStream: one streamed response, whatever produced it (an HTTP call, any Backend).
 *
 * It wraps a *chunk source* — a function that, given a signal and two callbacks, returns an
 * async iterator of chunks — and adds what every consumer needs: the accumulated response,
 * an honest end state, time-outs, metrics, abort, and relays to SSE and web streams.
 *
 * Reading is pull-based: a chunk is parsed only when the consumer asks for it, so a slow
 * consumer back-pressures the socket instead of filling memory.
 * @module
 */
import { abortError, type LinkedSignal, linkSignals } from '../abort.js';
import {
  AbortError,
  ConnectionError,
  ProtocolError,
  type RateLimitInfo,
  SluiceError,
  TimeoutError,
  type TimeoutPhase,
} from '../errors.js';
import { type Accumulator, createAccumulator } from '../protocol/accumulate.js';
import { type EndState, truncationError } from '../protocol/end-state.js';
import { redactError, redactSecretsDeep } from '../protocol/secrets.js';
import { checkChunk, DEFAULT_SHAPE_LIMITS, type ShapeLimits } from '../protocol/shape.js';
import { relayToSse } from '../protocol/sse-relay.js';
import { choiceText, type TextDelta, textDeltas } from '../protocol/text.js';
import type { ApiKind, ApiTypes } from '../types.js';
import { MetricsRecorder, type StreamMetrics, tokenDeltas } from './metrics.js';
import type { Timeouts } from './options.js';
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
export interface StreamResult<K extends ApiKind> {
  /** Everything that arrived, in the non-streaming response shape. */
  response: ApiTypes[K]['response'];
  end: EndState;
  metrics: StreamMetrics;
  /** The error that ended the stream, if one did (also in `end` when `failed`). */
  error?: SluiceError;
}

/** What a chunk source is given. */
export interface SourceContext {
  /** Aborted on `abort()`, the caller's signal, a time-out, or the consumer leaving. */
  readonly signal: AbortSignal;
  /** The response began (headers arrived): resolves `meta`, arms first-token and idle. */
  opened(meta: ResponseMeta): void;
  /** A sign of life that is not a chunk (an SSE comment or an ignored event). */
  alive(): void;
}

/** How a source ended normally: `sawDone: false` means the stream stopped without `[DONE]`. */
export interface SourceEnd {
  sawDone: boolean;
  /** Why reading stopped early (e.g. the connection was cut), kept as the error's `cause`. */
  cause?: unknown;
}

/**
 * Produces chunks. Returning normally means `[DONE]` unless it returns `{sawDone: false}`;
 * throwing a SluiceError fails the stream. Work may start eagerly, when the function is
 * called (the HTTP source sends its request at once).
 */
export type ChunkSource<K extends ApiKind> = (
  ctx: SourceContext,
) => AsyncIterator<ApiTypes[K]['chunk'], SourceEnd | undefined, undefined>;

export interface ResponseStreamOptions {
  signal?: AbortSignal | undefined;
  /** Only firstTokenMs, idleMs and totalMs apply here; headersMs is the source's business. */
  timeouts?: Timeouts | undefined;
  /**
   * Bounds on choice and tool-call indexes (see `shapeLimitsFor` in `sluice/protocol`);
   * default 128 choices and 128 tool calls. A chunk beyond them ends the stream.
   */
  limits?: ShapeLimits | undefined;
  /**
   * Credentials to scrub from every error (message, upstream body, partial) before anyone
   * sees it; credential patterns are scrubbed whenever this is given. Read when the stream
   * ends, so a set that grows (a token provider's fresh tokens) is honoured.
   */
  secrets?: Iterable<string> | undefined;
}

type Chunk<K extends ApiKind> = ApiTypes[K]['chunk'];

const DONE_RESULT: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A streamed response. Iterate it once (for-await, `textDeltas()`, `toSSE()`,
 * `toReadableStream()`), or just await `final()` / `text()`.
 *
 * @example
 * const stream = client.chat.stream({ messages: [{ role: 'user', content: 'Hi' }] });
 * for await (const { text } of stream.textDeltas()) process.stdout.write(text);
 * const { end, metrics } = await stream.final();
 */
export class ResponseStream<K extends ApiKind> implements AsyncIterable<Chunk<K>> {
  readonly kind: K;
  /** Live metrics; final once the stream ended. */
  readonly metrics: StreamMetrics;
  /** Resolves when the response headers arrive; rejects if the call failed before. */
  readonly meta: Promise<ResponseMeta>;

  readonly #metrics: MetricsRecorder;
  readonly #acc: Accumulator<K>;
  /** Aborted by `abort()`, a time-out or the consumer leaving. */
  readonly #controller = new AbortController();
  /** The controller's signal joined with the caller's, when there is one. */
  readonly #link: LinkedSignal | undefined;
  /** What the source sees: aborts on any of the above. */
  readonly #signal: AbortSignal;
  readonly #watchdog: Watchdog;
  readonly #iter: AsyncIterator<Chunk<K>, SourceEnd | undefined, undefined>;
  readonly #limits: ShapeLimits;
  readonly #secrets: Iterable<string> | undefined;
  #resolveMeta!: (meta: ResponseMeta) => void;
  #rejectMeta!: (err: unknown) => void;
  #metaSettled = false;
  #resolveEnd!: (result: StreamResult<K>) => void;
  readonly #ended: Promise<StreamResult<K>>;
  #result: StreamResult<K> | undefined;
  #consumed = false;

  constructor(kind: K, source: ChunkSource<K>, options: ResponseStreamOptions = {}) {
    const t0 = performance.now();
    this.kind = kind;
    this.#metrics = new MetricsRecorder(t0);
    this.metrics = this.#metrics;
    this.#acc = createAccumulator(kind);
    this.meta = new Promise<ResponseMeta>((resolve, reject) => {
      this.#resolveMeta = resolve;
      this.#rejectMeta = reject;
    });
    // Nobody has to look at meta: an unobserved rejection must not crash the process.
    this.meta.catch(() => {});
    this.#ended = new Promise((resolve) => {
      this.#resolveEnd = resolve;
    });
    this.#watchdog = new Watchdog(options.timeouts ?? {}, (phase, limit) => this.#timedOut(phase, limit), t0);

    this.#limits = options.limits ?? DEFAULT_SHAPE_LIMITS;
    this.#secrets = options.secrets;
    this.#link = options.signal ? linkSignals(this.#controller.signal, options.signal) : undefined;
    this.#signal = this.#link?.signal ?? this.#controller.signal;

    const ctx: SourceContext = {
      signal: this.#signal,
      opened: (meta) => {
        const now = performance.now();
        this.#metrics.headers(now);
        this.#watchdog.body(now);
        if (!this.#metaSettled) {
          this.#metaSettled = true;
          this.#resolveMeta(meta);
        }
      },
      alive: () => this.#watchdog.alive(performance.now()),
    };
    this.#iter = startSource(source, ctx);
  }

  [Symbol.asyncIterator](): AsyncIterator<Chunk<K>, undefined, undefined> {
    this.#claim();
    return {
      next: () => this.#next(),
      return: () => this.#leave(),
    };
  }

  /**
   * Per-choice text as it arrives (chunks and choices without text are skipped).
   * @example
   * for await (const { index, text } of stream.textDeltas()) if (index === 0) process.stdout.write(text);
   */
  async *textDeltas(): AsyncGenerator<TextDelta, void, undefined> {
    for await (const chunk of this) {
      const deltas = textDeltas(chunk);
      for (let i = 0; i < deltas.length; i++) yield deltas[i]!;
    }
  }

  /**
   * Choice 0's whole text. Rejects with the stream's error (its `partial` keeps what
   * arrived) when the stream failed, was truncated or aborted; a completion stopped by the
   * content filter resolves with the text that was let through.
   */
  async text(): Promise<string> {
    const result = await this.final();
    if (result.error) throw result.error;
    const choices: ReadonlyArray<{ index: number }> = result.response.choices;
    return choiceText(choices.find((c) => c.index === 0)) ?? '';
  }

  /**
   * The accumulated response, the end state and the metrics. Never rejects for stream
   * faults. Reads the stream to its end if nobody is iterating it.
   */
  final(): Promise<StreamResult<K>> {
    if (!this.#consumed) {
      this.#consumed = true;
      void this.#drain();
    }
    return this.#ended;
  }

  /**
   * Cancels the request at once (the server sees the connection close). Iteration throws an
   * AbortError (`cause` = `reason`); `final().end` is `aborted`.
   */
  abort(reason?: unknown): void {
    this.#controller.abort(reason);
  }

  /**
   * The stream as a web ReadableStream of chunks; cancelling it aborts the request.
   */
  toReadableStream(): ReadableStream<Chunk<K>> {
    const it = this[Symbol.asyncIterator]();
    return new ReadableStream<Chunk<K>>(
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
   * The stream re-encoded as SSE bytes for a server to forward, by the one relay
   * (protocol/sse-relay.ts): `data: <chunk json>` per chunk, then `data: [DONE]`; any
   * failure (truncation and abort included) ends it with one `data: {"error": ...}` frame
   * and no `[DONE]`. Cancelling it aborts the request.
   */
  toSSE(): ReadableStream<Uint8Array> {
    return relayToSse(this[Symbol.asyncIterator]());
  }

  // --- internal ---

  #claim(): void {
    if (this.#consumed) {
      throw new TypeError(
        'This ResponseStream is already being read: iterate it once (for-await, textDeltas(), toSSE() or toReadableStream()); final() and text() can still be awaited.',
      );
    }
    this.#consumed = true;
  }

  async #next(): Promise<IteratorResult<Chunk<K>, undefined>> {
    if (this.#result) {
      // After the end: a failed stream keeps failing (so a second caller cannot mistake it for success).
      if (this.#result.error) throw this.#result.error;
      return DONE_RESULT;
    }
    // Chunks already parsed must not slip out after an abort or time-out.
    if (this.#signal.aborted) throw this.#fail(this.#signal.reason);
    let r: IteratorResult<Chunk<K>, SourceEnd | undefined>;
    try {
      this.#watchdog.pull(performance.now());
      r = await this.#iter.next();
    } catch (err) {
      throw this.#fail(err);
    }
    // Past this point every throw ends the stream: nothing may leave final() or text() unsettled.
    try {
      const now = performance.now();
      if (r.done) {
        const sawDone = r.value ? r.value.sawDone : true;
        const end = this.#acc.finish({ sawDone });
        if (end.state === 'truncated') {
          const err = truncationError(end, this.#acc.response(), r.value?.cause);
          this.#settle(end, now, err);
          throw err;
        }
        this.#settle(end, now, undefined);
        return DONE_RESULT;
      }
      const chunk = checkChunk(r.value, this.#limits);
      const tokens = tokenDeltas(chunk);
      this.#watchdog.event(now);
      if (tokens > 0) this.#watchdog.token();
      this.#metrics.chunk(now, tokens, chunk.usage);
      this.#acc.push(chunk);
      return { value: chunk, done: false };
    } catch (err) {
      // A truncation was settled above and is thrown as it is.
      const settled = this.#result as StreamResult<K> | undefined;
      if (settled) throw settled.error ?? err;
      throw this.#stop(err);
    }
  }

  /**
   * Ends the stream for a fault found here (a malformed chunk), not by the source: the
   * failure is settled first (partial kept), then the source is told to stop.
   */
  #stop(raw: unknown): SluiceError {
    const cause =
      raw instanceof SluiceError
        ? raw
        : new ProtocolError(
            'unexpected-shape',
            `A chunk could not be read: ${raw instanceof Error ? raw.message : String(raw)}. What arrived before is kept.`,
            { cause: raw },
          );
    const err = this.#fail(cause);
    this.#controller.abort(err);
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
  async #leave(): Promise<IteratorResult<Chunk<K>, undefined>> {
    if (!this.#result) {
      const reason = new AbortError('The consumer stopped reading the stream');
      this.#controller.abort(reason);
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

  #timedOut(phase: TimeoutPhase, limit: number): void {
    this.#controller.abort(new TimeoutError(phase, limit));
  }

  /** Maps whatever stopped the source to the error the consumer sees, and ends the stream. */
  #fail(raw: unknown): SluiceError {
    if (this.#result) return this.#result.error ?? toSluiceError(raw);
    const signal = this.#signal;
    const err = signal.aborted ? abortError(signal) : toSluiceError(raw);
    let end: EndState;
    try {
      end = err instanceof AbortError ? this.#acc.finish({ aborted: err.cause }) : this.#acc.finish({ error: err });
      if (err.partial === undefined && this.#acc.chunkCount > 0) err.partial = this.#acc.response();
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
    this.#link?.dispose();
    if (error !== undefined && this.#secrets !== undefined) redactError(error, this.#secrets);
    if (!this.#metaSettled) {
      this.#metaSettled = true;
      this.#rejectMeta(error ?? new ConnectionError('The stream ended before a response arrived'));
    }
    let response: ApiTypes[K]['response'];
    try {
      response = this.#acc.response();
    } catch {
      response = error?.partial ?? ({ choices: [] } as unknown as ApiTypes[K]['response']);
    }
    // A failed stream's response is its partial result: scrubbed like the error's copy.
    if (error !== undefined && this.#secrets !== undefined) response = redactSecretsDeep(response, this.#secrets);
    const result: StreamResult<K> = {
      response,
      end,
      metrics: this.#metrics.snapshot(),
      ...(error ? { error } : {}),
    };
    this.#result = result;
    this.#resolveEnd(result);
  }
}

/**
 * Calls the source; one that throws at once (a bug, bad arguments) becomes an iterator
 * that fails with that error, so the stream ends like any other failure instead of the
 * constructor throwing past `final()`.
 */
function startSource<K extends ApiKind>(
  source: ChunkSource<K>,
  ctx: SourceContext,
): AsyncIterator<Chunk<K>, SourceEnd | undefined, undefined> {
  try {
    return source(ctx);
  } catch (err) {
    return {
      next: () => Promise.reject(err),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }
}

/** Anything a source throws, as a SluiceError (network failures become ConnectionError). */
export function toSluiceError(err: unknown): SluiceError {
  if (err instanceof SluiceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ConnectionError(`The stream failed: ${message}`, { cause: err });
}
