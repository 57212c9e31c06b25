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
import { type PartialResult, ProtocolError, type SluiceError } from '../errors.js';
import { errorFromResponse, parseRateLimit, requestIdOf } from '../protocol/errors.js';
import { endsWithDone, type ParseEventOptions, parseStreamEvent } from '../protocol/events.js';
import { excerpt } from '../protocol/excerpt.js';
import { createDecoder, type DecoderEnd, type SseEvent } from '../sse/index.js';
import type { ApiKind, ApiTypes } from '../types.js';
import type { ItemSource, ResponseMeta, SourceContext, SourceEnd } from './event-stream.js';
import { MAX_ERROR_BODY_BYTES, readCapped, type Sent } from './http.js';

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
   */
  read(event: SseEvent, relay: boolean): T | typeof SSE_END | typeof SSE_SKIP;
  /** True for an item nothing may follow (the stream ends after it, as at `SSE_END`). */
  last?(item: T): boolean;
  /** Whether a body whose last event lacked its blank line still ended properly. */
  endedWell(end: DecoderEnd): boolean;
}

const KEEP_SOURCE_JSON: ParseEventOptions = Object.freeze({ keepSourceJson: true });

/** Chat Completions and Completions: `data: <chunk>` events ending with `data: [DONE]`. */
function chunkItems<K extends ApiKind>(): SseItems<ApiTypes[K]['chunk']> {
  return {
    read(e, relay) {
      const ev = parseStreamEvent<K>(e, relay ? KEEP_SOURCE_JSON : undefined);
      if (ev.type === 'chunk') return ev.chunk;
      if (ev.type === 'done') return SSE_END;
      throw ev.error;
    },
    // Azure may send `data: [DONE]` without its blank line: the decoder holds it back (the
    // spec discards an unterminated event), but it is a proper end (see `endsWithDone`).
    endedWell: endsWithDone,
  };
}

/**
 * A source that calls `start` at once (so the request is in flight before anyone iterates)
 * and streams the answer's chunks.
 */
export function httpSource<K extends ApiKind>(
  start: (signal: AbortSignal) => Promise<Sent>,
  resume?: Resumer,
): ItemSource<ApiTypes[K]['chunk']> {
  return sseSource(start, chunkItems<K>(), resume);
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
    return readSse(sent, ctx, items, resume);
  };
}

/** The metadata of an answer. */
export function metaOf(sent: Sent): ResponseMeta {
  const headers = sent.response.headers;
  const meta: ResponseMeta = {
    status: sent.response.status,
    rateLimit: parseRateLimit(headers),
    headers,
    attempts: sent.attempts,
    url: sent.url,
  };
  const requestId = requestIdOf(headers);
  if (requestId !== undefined) meta.requestId = requestId;
  const region = headers.get('x-ms-region');
  if (region !== null) meta.region = region;
  return meta;
}

const EVENT_STREAM = /^\s*text\/event-stream\s*(;|$)/i;

async function* readSse<T>(
  pending: Promise<Sent>,
  ctx: SourceContext,
  items: SseItems<T>,
  resume?: Resumer,
): AsyncGenerator<T, SourceEnd, undefined> {
  let sent = await pending;
  if (!EVENT_STREAM.test(sent.response.headers.get('content-type') ?? '')) throw await notEventStream(sent.response);
  // A Sluice gateway names its resumable streams; a drop mid-answer is then resumed there.
  const streamId = resume ? sent.response.headers.get(STREAM_ID_HEADER) : null;
  let lastEventId = '0';
  let resumes = 0;
  const last = items.last;
  for (;;) {
    const body = sent.response.body;
    if (body === null) return { sawDone: false };
    const reader = body.getReader();
    const events: SseEvent[] = [];
    const decoder = createDecoder({
      onEvent: (e) => {
        events.push(e);
      },
      // A heartbeat comment is a sign of life for the idle limit.
      onComment: () => ctx.alive(),
    });
    let end: SourceEnd | undefined;
    try {
      while (end === undefined) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        try {
          read = await reader.read();
        } catch (cause) {
          // Our own abort or time-out: the stream reports it. Anything else is the
          // connection dying mid-body, the common way streams fail: a truncation, not a crash.
          if (ctx.signal.aborted) throw cause;
          end = { sawDone: false, cause };
          break;
        }
        const { value, done } = read;
        if (done) {
          end = { sawDone: items.endedWell(decoder.end()) };
          break;
        }
        decoder.feed(value);
        if (events.length === 0) continue;
        const relay = ctx.relaying();
        for (let i = 0; i < events.length; i++) {
          const event = events[i]!;
          const item = items.read(event, relay);
          if (item === SSE_END) return { sawDone: true };
          if (event.id !== '') lastEventId = event.id;
          if (item === SSE_SKIP) {
            ctx.alive();
            continue;
          }
          yield item;
          if (last?.(item)) return { sawDone: true };
        }
        events.length = 0;
      }
    } finally {
      // Stop reading now: at the end mark, on an error, or when the consumer left. Cancelling
      // the body closes the connection; the server sees it and can stop generating.
      reader.cancel().catch(() => {});
    }
    if (end.sawDone || streamId === null || !resume || resumes >= MAX_RESUMES || ctx.signal.aborted) return end;
    resumes++;
    try {
      sent = await resume({ url: sent.url, streamId, lastEventId }, ctx.signal);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      return end; // Not resumable (expired, another instance without the log): the truncation stands.
    }
    sent.settled();
    if (!EVENT_STREAM.test(sent.response.headers.get('content-type') ?? '')) {
      sent.response.body?.cancel().catch(() => {});
      return end;
    }
  }
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
