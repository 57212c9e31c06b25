/**
 * The HTTP item sources: a sent request's SSE body -> chunks (Chat Completions, Completions)
 * or events (Responses), for the streams.
 *
 * Reads with one reader, decodes with the push decoder, parses each event once, and stops at
 * the end mark (`[DONE]`, or a Responses terminal event) by cancelling the body: a proxy that
 * keeps the connection open after it cannot hang us. A 200 that is not `text/event-stream`
 * is an error, never an empty stream.
 * @module
 */

import { NOT_READY } from '../backend.js';
import { type PartialResult, ProtocolError, type SluiceError, StreamErrorFrame } from '../errors.js';
import { ChunkTemplate } from '../protocol/chunk-template.js';
import { errorFromResponse, parseRateLimit, requestIdOf } from '../protocol/errors.js';
import { endsWithDone, type ParseEventOptions, readStreamEvent, STREAM_DONE } from '../protocol/events.js';
import { excerpt } from '../protocol/excerpt.js';
import { createAttachedDecoder, feedDecoder } from '../sse/decoder.js';
import type { DecoderEnd, DecoderHandlers, SseDecoder, SseEvent } from '../sse/index.js';
import type { AnyChunk, ApiKind, ApiTypes } from '../types.js';
import { type BodyFeed, bodyFeed, type FeedHandlers, offersNodeBody } from './body-feed.js';
import type { ItemIterator, ItemSource, ResponseMeta, SourceContext, SourceEnd } from './event-stream.js';
import { MAX_ERROR_BODY_BYTES, readCapped, type Sent } from './http.js';
import { appendRawHeaders, headerLookupOf, rawHeadersOf } from './http-fetch.js';
import { keepShape } from './shapes.js';

/** The header a Sluice gateway names a resumable stream with. */
export const STREAM_ID_HEADER = 'x-sluice-stream-id';
/** Resumes per stream at most: a connection that keeps dropping is not chased for ever. */
const MAX_RESUMES = 5;

/**
 * Reopens a stream of a Sluice gateway after the event `lastEventId`
 * (`GET /sluice/v1/streams/{streamId}` on the origin of `url`).
 */
export type Resumer = (
  at: { url: string; streamId: string; lastEventId: string },
  signal: AbortSignal,
) => Promise<Sent>;

/** What `SseItems.read` returns for the stream's end mark. */
export const SSE_END: unique symbol = Symbol('end');
/** What `SseItems.read` returns for an event that is no item (a sign of life only). */
export const SSE_SKIP: unique symbol = Symbol('skip');

/** How one API's SSE events become items. */
export interface SseItems<T> {
  /**
   * One event -> an item, `SSE_END`, or `SSE_SKIP`; throws (a SluiceError) to fail the
   * stream. `relay`: the items will be relayed as SSE (see `SourceContext.relaying`).
   * `template`: the stream's own, for items that repeat (see `ChunkTemplate`).
   */
  read(event: SseEvent, relay: boolean, template: ChunkTemplate): T | typeof SSE_END | typeof SSE_SKIP;
  /** True for an item nothing may follow (the stream ends after it, as at `SSE_END`). */
  last?(item: T): boolean;
  /** Whether a body whose last event lacked its blank line still ended properly. */
  endedWell(end: DecoderEnd): boolean;
}

const KEEP_SOURCE_JSON: ParseEventOptions = Object.freeze({ keepSourceJson: true });

/**
 * Chat Completions and Completions: `data: <chunk>` events ending with `data: [DONE]`. One
 * object for every stream (it holds nothing): the reader calls `read` per event, and one
 * function stays inlined there where a closure per stream would not.
 */
const CHUNK_ITEMS: SseItems<AnyChunk> = {
  read(e, relay, template) {
    // A relay forwards the upstream's text and only reads the object, so it takes no template:
    // at 256 relayed streams the gateway used 6-10% more CPU with one (two sets of runs in ABBA order),
    // as copied chunks (objects of other hidden classes than JSON.parse's) went through every
    // function that reads chunks beside parsed ones.
    const read = relay ? readStreamEvent(e, KEEP_SOURCE_JSON) : readStreamEvent(e, undefined, template);
    if (read === STREAM_DONE) return SSE_END;
    if (read instanceof StreamErrorFrame) throw read;
    return read;
  },
  // Azure may send `data: [DONE]` without its blank line: the decoder holds it back (the
  // spec discards an unterminated event), but it is a proper end (see `endsWithDone`).
  endedWell: endsWithDone,
};

/**
 * A source that calls `start` at once (so the request is in flight before anyone iterates)
 * and streams the answer's chunks.
 */
export function httpSource<K extends ApiKind>(
  start: (signal: AbortSignal) => Promise<Sent>,
  resume?: Resumer,
): ItemSource<ApiTypes[K]['chunk']> {
  return sseSource(start, CHUNK_ITEMS as SseItems<ApiTypes[K]['chunk']>, resume);
}

/**
 * A source that calls `start` at once and streams the items `items` reads from the SSE body.
 *
 * @example
 * const source = sseSource((signal) => send(plan, { ...o, signal }), responsesItems);
 */
export function sseSource<T>(
  start: (signal: AbortSignal) => Promise<Sent>,
  items: SseItems<T>,
  resume?: Resumer,
): ItemSource<T> {
  return (ctx) => {
    const sent = start(ctx.signal);
    // `meta` resolves when the headers arrive, whether or not anyone iterates yet. (A failure
    // is reported by the generator below; this only keeps it from being "unhandled".)
    sent.then(
      (s) => {
        s.settled();
        ctx.opened(metaOf(s));
      },
      () => {},
    );
    return new SseReader(sent, ctx, items, resume);
  };
}

/**
 * The metadata of an answer. A stream keeps it as long as it is open (`meta`); from this
 * client's own fetch it keeps node:http's raw header list, which the answer keeps anyway, and
 * makes `headers` from it when asked, rather than holding a `Headers` for the whole stream.
 */
export function metaOf(sent: Sent): ResponseMeta {
  const response = sent.response;
  const raw = rawHeadersOf(response);
  const headers = headerLookupOf(response);
  const meta: ResponseMeta =
    raw === undefined
      ? {
          status: response.status,
          rateLimit: parseRateLimit(headers),
          headers: response.headers,
          attempts: sent.attempts,
          url: sent.url,
        }
      : new LazyHeadersMeta(response.status, parseRateLimit(headers), raw, sent.attempts, sent.url);
  const requestId = requestIdOf(headers);
  if (requestId !== undefined) meta.requestId = requestId;
  const region = headers.get('x-ms-region');
  if (region !== null) meta.region = region;
  return meta;
}

/**
 * A `ResponseMeta` whose `headers` are made from node:http's raw list when first read. The
 * getter is an own, enumerable property, so a copy of the meta (`{ ...meta }`) still carries
 * them; it is one shared function defined on each instance in the same place, so every meta
 * keeps one hidden class with fast properties (an object literal with a getter would not).
 */
class LazyHeadersMeta implements ResponseMeta {
  declare readonly headers: Headers;
  // Set only when the answer has them, as on a plain meta.
  declare requestId?: string;
  declare region?: string;
  readonly status: number;
  readonly rateLimit: ResponseMeta['rateLimit'];
  readonly attempts: number;
  readonly url: string;
  #raw: readonly string[];
  #made: Headers | undefined = undefined;

  static readonly #headers: PropertyDescriptor = {
    enumerable: true,
    get(this: LazyHeadersMeta): Headers {
      this.#made ??= appendRawHeaders(new Headers(), this.#raw);
      return this.#made;
    },
  };

  constructor(
    status: number,
    rateLimit: ResponseMeta['rateLimit'],
    raw: readonly string[],
    attempts: number,
    url: string,
  ) {
    this.status = status;
    this.rateLimit = rateLimit;
    Object.defineProperty(this, 'headers', LazyHeadersMeta.#headers);
    this.attempts = attempts;
    this.url = url;
    this.#raw = raw;
  }
}

const EVENT_STREAM = /^\s*text\/event-stream\s*(;|$)/i;

/**
 * Decoded bytes a slow consumer has not taken yet, beyond which a Node body is paused (its
 * socket then fills and TCP slows the sender). A web body is only read when asked anyway.
 */
const QUEUED_BYTES_HIGH = 64 * 1024;

type Waiter<T> = {
  resolve(result: IteratorResult<T, SourceEnd>): void;
  reject(error: unknown): void;
};

/** How a body, or the whole source, ended: normally (maybe without its end mark) or by a failure. */
type Ending = { end: SourceEnd } | { error: unknown };

/**
 * Reads an answer's SSE body into items, resuming a Sluice gateway's stream after a drop.
 *
 * Bytes arrive by callbacks (client/body-feed.ts) and are decoded at once; the events wait in
 * a queue and become items only when taken, one at a time, so a parse error surfaces after
 * the items before it, and nothing is parsed for a consumer that left. `take()` hands over
 * an item already here with no promise; `next()` waits for one; `wait()` only says when
 * something came (a relay pulling every chunk through `take()` pays no promise per chunk). Reading is pull-based: a web
 * body is read when the queue is empty and someone waits, a Node body is paused when a slow
 * consumer leaves too much in the queue.
 *
 * The reader is its decoder's and its feed's handlers itself (`onEvent`, `onBytes`, ...):
 * methods on the prototype rather than closures made per stream, so the decoder and the feed,
 * which call them per event and per read, see one call target for every stream and keep it
 * inlined in their optimized code.
 */
class SseReader<T> implements ItemIterator<T>, DecoderHandlers, FeedHandlers {
  readonly #ctx: SourceContext;
  readonly #items: SseItems<T>;
  readonly #resume: Resumer | undefined;
  /** This stream's chunk template: a chunk that repeats the one before needs no `JSON.parse`. */
  readonly #template = new ChunkTemplate();
  /** The first request, until reading it begins. */
  #pending: Promise<Sent> | undefined;
  /**
   * The URL that answered, for a resumption: the answer itself (its `Response` and headers)
   * is not kept, a stream may stay open for minutes and a long-held object costs the
   * collector on every scavenge (docs/gateway.md, Round 12).
   */
  #answeredUrl: string | undefined;
  /** The body being read, if any, and its decoder. */
  #feed: BodyFeed | undefined;
  #decoder: SseDecoder | undefined;
  /** Decoded events not taken yet: `#events[#head..]`. */
  readonly #events: SseEvent[] = [];
  #head = 0;
  #queuedBytes = 0;
  /** How the current body ended, once it did (its events may still be queued). */
  #bodyEnd: Ending | undefined;
  /** The source is over: `next()` answers this from now on. */
  #final: Ending | undefined;
  /** The consumer waiting in `next()`, if any. */
  #waiter: Waiter<T> | undefined;
  /** The consumer waiting in `wait()`, if any: told, not handed, that something came. */
  #wake: (() => void) | undefined;
  /** Opening or resuming: one step at a time. */
  #busy = false;
  #streamId: string | null = null;
  #lastEventId = '0';
  #resumes = 0;

  constructor(pending: Promise<Sent>, ctx: SourceContext, items: SseItems<T>, resume: Resumer | undefined) {
    this.#pending = pending;
    this.#ctx = ctx;
    this.#items = items;
    this.#resume = resume;
  }

  take(): T | typeof NOT_READY {
    if (this.#final !== undefined) return NOT_READY;
    const events = this.#events;
    const items = this.#items;
    while (this.#head < events.length) {
      const event = events[this.#head++]!;
      let item: T | typeof SSE_END | typeof SSE_SKIP;
      try {
        item = items.read(event, this.#ctx.relaying(), this.#template);
      } catch (error) {
        this.#finish({ error });
        throw error;
      }
      if (item === SSE_END) {
        this.#finish({ end: { sawDone: true } });
        return NOT_READY;
      }
      if (event.id !== '') this.#lastEventId = event.id;
      if (item === SSE_SKIP) {
        this.#ctx.alive();
        continue;
      }
      if (items.last?.(item)) this.#finish({ end: { sawDone: true } });
      return item;
    }
    events.length = 0;
    this.#head = 0;
    this.#queuedBytes = 0;
    return NOT_READY;
  }

  next(): Promise<IteratorResult<T, SourceEnd>> {
    let item: T | typeof NOT_READY;
    try {
      item = this.take();
    } catch (error) {
      return Promise.reject(error);
    }
    if (item !== NOT_READY) return Promise.resolve({ value: item, done: false });
    const final = this.#final;
    if (final !== undefined) {
      return 'error' in final ? Promise.reject(final.error) : Promise.resolve(doneWith(final.end));
    }
    // One read at a time (EventStream never asks twice): a second waiter must not orphan the first.
    if (this.#waiter !== undefined) return Promise.reject(new TypeError('This source is already being read'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#advance();
    });
  }

  wait(wake: () => void): void {
    if (this.#waiter !== undefined || this.#wake !== undefined)
      throw new TypeError('This source is already being read');
    if (this.#final !== undefined || this.#head < this.#events.length) {
      wake();
      return;
    }
    this.#wake = wake;
    this.#advance();
  }

  return(): Promise<IteratorResult<T, SourceEnd>> {
    this.#finish({ end: { sawDone: false } });
    return Promise.resolve(doneWith({ sawDone: false }));
  }

  /** The queue is empty and someone waits: open, read on, or end the body (maybe resuming). */
  #advance(): void {
    if (this.#busy || this.#final !== undefined) return;
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      // Whatever the fetch does with the signal, an abort ends the reading (and the body) at once.
      const signal = this.#ctx.signal;
      if (signal.aborted) {
        this.#finish({ error: signal.reason });
        return;
      }
      signal.addEventListener('abort', this.#onAbort, { once: true });
      this.#step(this.#open(pending));
      return;
    }
    const ending = this.#bodyEnd;
    if (ending === undefined) {
      this.#feed?.more();
      return;
    }
    this.#bodyEnd = undefined;
    const url = this.#answeredUrl;
    const streamId = this.#streamId;
    const resume = this.#resume;
    if (
      'error' in ending ||
      ending.end.sawDone ||
      url === undefined ||
      streamId === null ||
      !resume ||
      this.#resumes >= MAX_RESUMES ||
      this.#ctx.signal.aborted
    ) {
      this.#finish(ending);
      return;
    }
    this.#resumes++;
    const at = { url, streamId, lastEventId: this.#lastEventId };
    this.#step(this.#resumeAfter(resume, at, ending.end));
  }

  /** Runs one asynchronous step (opening, resuming), then serves the waiter. */
  #step(work: Promise<void>): void {
    this.#busy = true;
    work.then(
      () => {
        this.#busy = false;
        this.#serve();
      },
      (error: unknown) => {
        this.#busy = false;
        this.#finish({ error });
      },
    );
  }

  async #open(pending: Promise<Sent>): Promise<void> {
    const sent = await pending;
    const headers = headerLookupOf(sent.response);
    if (!EVENT_STREAM.test(headers.get('content-type') ?? '')) throw await notEventStream(sent.response);
    // A Sluice gateway names its resumable streams; a drop mid-answer is then resumed there.
    this.#streamId = this.#resume ? headers.get(STREAM_ID_HEADER) : null;
    this.#read(sent);
  }

  async #resumeAfter(resume: Resumer, at: Parameters<Resumer>[0], end: SourceEnd): Promise<void> {
    let sent: Sent;
    try {
      sent = await resume(at, this.#ctx.signal);
    } catch (error) {
      if (this.#ctx.signal.aborted) throw error;
      this.#finish({ end }); // Not resumable (expired, another instance without the log): the truncation stands.
      return;
    }
    sent.settled();
    if (!EVENT_STREAM.test(headerLookupOf(sent.response).get('content-type') ?? '')) {
      sent.response.body?.cancel().catch(() => {});
      this.#finish({ end });
      return;
    }
    this.#read(sent);
  }

  /** Starts reading `sent`'s body with a fresh decoder. */
  #read(sent: Sent): void {
    const response = sent.response;
    if (this.#final !== undefined) {
      // Closed while the answer was on its way: let it go.
      response.body?.cancel().catch(() => {});
      return;
    }
    this.#answeredUrl = sent.url;
    // A Node body offered beside the response is read as it is: its web stream is never made.
    const body = offersNodeBody(response) ? undefined : response.body;
    if (body === null) {
      this.#bodyEnd = { end: { sawDone: false } };
      return;
    }
    this.#decoder = createAttachedDecoder(this);
    this.#feed = bodyFeed(response, body, this);
  }

  // The decoder's and the feed's handlers (see the class comment). Only they call these.

  /** @internal A decoded event: queued until taken. */
  onEvent(event: SseEvent): void {
    this.#events.push(event);
  }

  /** @internal A heartbeat comment: a sign of life for the idle limit. */
  onComment(): void {
    this.#ctx.alive();
  }

  /** @internal A network read of the current body. */
  onBytes(chunk: Uint8Array): void {
    try {
      feedDecoder(this.#decoder!, chunk);
    } catch (error) {
      // A line beyond the decoder's limit. The events before it still count.
      this.#feed?.cancel();
      this.#ended({ error });
      return;
    }
    if (this.#waiter !== undefined || this.#wake !== undefined) {
      this.#serve();
      return;
    }
    this.#queuedBytes += chunk.byteLength;
    if (this.#queuedBytes > QUEUED_BYTES_HIGH) this.#feed?.pause();
  }

  /** @internal The current body ended whole. */
  onEnd(): void {
    this.#ended({ end: { sawDone: this.#items.endedWell(this.#decoder!.end()) } });
  }

  /**
   * @internal Reading the current body failed. Our own abort or time-out: the stream reports
   * it. Anything else is the connection dying mid-body, the common way streams fail: a
   * truncation, not a crash.
   */
  onError(cause: unknown): void {
    this.#ended(this.#ctx.signal.aborted ? { error: cause } : { end: { sawDone: false, cause } });
  }

  /** The current body ended: once the events before are taken, this is how. */
  #ended(ending: Ending): void {
    // A feed calls nothing after it ended or was cancelled, so this is the current body's end.
    this.#feed = undefined;
    this.#decoder = undefined;
    this.#bodyEnd = ending;
    this.#serve();
  }

  /** Hands the waiter an item, or moves on (reads, ends, resumes) when none is queued. */
  #serve(): void {
    const wake = this.#wake;
    if (wake !== undefined) {
      if (this.#head < this.#events.length || this.#final !== undefined) {
        this.#wake = undefined;
        wake();
      } else this.#advance();
      return;
    }
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    // Detached while taking: an item that ends the source (a terminal event) is still handed over.
    this.#waiter = undefined;
    let item: T | typeof NOT_READY;
    try {
      item = this.take();
    } catch (error) {
      waiter.reject(error);
      return;
    }
    if (item !== NOT_READY) {
      waiter.resolve({ value: item, done: false });
      return;
    }
    const final = this.#final;
    if (final === undefined) {
      this.#waiter = waiter;
      this.#advance();
    } else if ('error' in final) waiter.reject(final.error);
    else waiter.resolve(doneWith(final.end));
  }

  readonly #onAbort = (): void => this.#finish({ error: this.#ctx.signal.reason });

  /** The source is over: stop reading, settle whoever waits. */
  #finish(final: Ending): void {
    if (this.#final !== undefined) return;
    this.#final = final;
    this.#ctx.signal.removeEventListener('abort', this.#onAbort);
    this.#events.length = 0;
    this.#head = 0;
    this.#feed?.cancel();
    this.#feed = undefined;
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    if ('error' in final) waiter.reject(final.error);
    else waiter.resolve(doneWith(final.end));
  }
}

function doneWith(end: SourceEnd): IteratorReturnResult<SourceEnd> {
  return { done: true, value: end };
}

/**
 * The error for a 2xx answer that is not an event stream. Its body explains: an API error
 * (kept as `cause`, mapped like an HTTP error), a whole non-streaming completion (the server
 * ignored `stream: true`; kept as `partial`), or anything else (a short excerpt).
 */
async function notEventStream(response: Response): Promise<SluiceError> {
  const type = response.headers.get('content-type') ?? 'no content-type';
  const text = await readCapped(response, MAX_ERROR_BODY_BYTES);
  const prefix = `Expected a text/event-stream answer to a streaming request, got HTTP ${response.status} ${type}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object') {
    const record = parsed as Record<string, unknown>;
    if (record.error !== undefined && record.error !== null) {
      const cause = errorFromResponse(response.status, response.headers, text);
      return new ProtocolError('not-event-stream', `${prefix} carrying an error: ${cause.message}`, { cause });
    }
    if (Array.isArray(record.choices) || record.object === 'response') {
      return new ProtocolError(
        'not-event-stream',
        `${prefix}: a whole non-streaming response (the server ignored stream: true); it is kept as the partial result`,
        { partial: parsed as PartialResult },
      );
    }
  }
  return new ProtocolError('not-event-stream', `${prefix}: ${text.trim() === '' ? '(empty body)' : excerpt(text)}`);
}

// A reader kept for its hidden class (client/shapes.ts): its decoder's hot loops keep its
// `onEvent` inlined, which a full collection while no stream is alive would otherwise undo.
keepShape(new SseReader<AnyChunk>(new Promise<Sent>(() => {}), {} as SourceContext, CHUNK_ITEMS, undefined));
