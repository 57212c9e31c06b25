/**
 * The two stream routes of `sluice serve`, on any instance that shares the stream log:
 *
 * - `GET /sluice/v1/streams/{id}` with `Last-Event-ID: N` (or `?after=N`; neither = from the
 *   start): the frames after position N with their `id:` lines, then the live ones to the
 *   end, in the original framing. A producer that died ends the answer with an error frame
 *   `stream_incomplete` and no `[DONE]`, unless the stream is taken over (stream-takeover.ts:
 *   `continue_on_failure` models), so that it goes on to its end.
 * - `POST /sluice/v1/streams/{id}/stop`: asks the producing instance to stop (202).
 *
 * 404 for an unknown or expired id, 403 for a key other than the one that created the
 * stream, 400 for a malformed position, 503 when the log cannot be read.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody } from '../protocol/error-body.js';
import { encodeComment } from '../sse/encoder.js';
import type { StreamInfo, StreamLog } from '../streams/log.js';
import { keyHashOf, STREAM_ID_HEADER } from '../streams/producer.js';
import { SSE_HEADERS } from './generation.js';
import { sendJson, writeHead } from './send.js';
import { INCOMPLETE_FRAME, type TakeoverContext, takeOver } from './stream-takeover.js';
import { TurnWriter } from './turn-writer.js';

/** A stream id as the producer makes it (a UUID); nothing else reaches the log. */
const STREAM_ID = /^[0-9a-f-]{36}$/;

/** Claims lost in a row, with no frame in between, before a reader gives up on an orphaned stream. */
const MAX_LOST_CLAIMS = 3;

/**
 * Answers `GET /sluice/v1/streams/{id}`. A stream whose producer died is taken over here
 * when its model continues on failure and this instance is the first to claim it
 * (stream-takeover.ts); the reader then simply follows the log on.
 *
 * @example
 * ```ts
 * await resumeStream(req, res, id, log, 15_000, { streams, backendFor, live });
 * ```
 */
export async function resumeStream(
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  log: StreamLog,
  heartbeatMs: number,
  takeover?: TakeoverContext,
): Promise<void> {
  const after = positionOf(req);
  if (typeof after === 'string') return problem(res, 400, 'invalid_last_event_id', after);
  const controller = new AbortController();
  // The first read goes out beside the access check (one round trip for both); its frames
  // are written only if the check passes. A malformed id is refused before it reaches Redis.
  const first = STREAM_ID.test(id) ? started(log.follow(id, after, controller.signal)) : undefined;
  const info = await checkAccess(req, res, id, log);
  if (!info) {
    controller.abort();
    first?.cancel();
    return;
  }
  const onClose = () => controller.abort();
  res.on('close', onClose);
  writeHead(res, 200, { ...SSE_HEADERS, [STREAM_ID_HEADER]: id });
  const out = new TurnWriter(res);
  let wrote = false;
  const heartbeat = setInterval(() => {
    if (!wrote) out.write(encodeComment('keep-alive'));
    wrote = false;
  }, heartbeatMs);
  let last = after;
  let lostClaims = 0;
  try {
    for (;;) {
      let orphaned = false;
      const items = first?.take() ?? log.follow(id, last, controller.signal);
      for await (const item of items) {
        if (controller.signal.aborted) return;
        wrote = true;
        if ('incomplete' in item) {
          orphaned = item.orphaned === true;
          break;
        }
        out.write(`id: ${item.position}\n${item.frame}`);
        last = item.position;
        lostClaims = 0;
        if (item.end !== undefined) return;
      }
      if (controller.signal.aborted) return;
      // Its producer is gone: take it over, or follow whoever did (a few lost claims with no
      // new frame in between mean nobody is producing after all).
      if (!orphaned || !info.takeover || !takeover || lostClaims >= MAX_LOST_CLAIMS) break;
      const entries = await log.claim(id);
      if (entries) void takeOver(takeover, id, info.takeover, entries);
      else lostClaims++;
    }
    out.write(INCOMPLETE_FRAME);
  } catch {
    if (!controller.signal.aborted) out.write(INCOMPLETE_FRAME);
  } finally {
    clearInterval(heartbeat);
    res.off('close', onClose);
    out.end();
  }
}

/**
 * Answers `POST /sluice/v1/streams/{id}/stop`.
 *
 * @example
 * ```ts
 * await stopStream(req, res, id, log);
 * ```
 */
export async function stopStream(req: IncomingMessage, res: ServerResponse, id: string, log: StreamLog): Promise<void> {
  if (!(await checkAccess(req, res, id, log))) return;
  try {
    await log.requestStop(id);
  } catch {
    return problem(
      res,
      503,
      'stream_log_unavailable',
      'The stop could not be sent (the stream log is unavailable); try again.',
    );
  }
  sendJson(res, 202, { id, status: 'stopping' });
}

// --- internal ---

/** The position to resume after: a number, or the message of a 400. */
function positionOf(req: IncomingMessage): number | string {
  const header = req.headers['last-event-id'];
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const query = q === -1 ? null : new URLSearchParams(url.slice(q + 1)).get('after');
  const raw = typeof header === 'string' ? header.trim() : query;
  if (raw === null || raw === undefined) return 0;
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const source = typeof header === 'string' ? 'Last-Event-ID' : "'after'";
  return `${source} must be the id: of the last event received (a whole number such as 12); got ${JSON.stringify(raw.slice(0, 40))}.`;
}

/** 404 unknown or expired, 403 foreign key, 503 log unreadable; the stream's info when the reader may go on. */
async function checkAccess(
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  log: StreamLog,
): Promise<StreamInfo | undefined> {
  let info: StreamInfo | undefined;
  try {
    info = STREAM_ID.test(id) ? await log.info(id) : undefined;
  } catch {
    problem(res, 503, 'stream_log_unavailable', 'The stream log is unavailable (Redis is down); try again shortly.');
    return undefined;
  }
  if (!info) {
    problem(
      res,
      404,
      'stream_not_found',
      'No stream has this id: it never existed, or it ended and expired. Send the request again.',
    );
    return undefined;
  }
  if (info.keyHash !== keyHashOf(req.headers)) {
    problem(
      res,
      403,
      'stream_forbidden',
      'This stream was created with another key; read it with the key that created it.',
    );
    return undefined;
  }
  return info;
}

/**
 * Starts iterating `items` at once; `take()` hands the started iteration over (once), and
 * `cancel()` ends it unread.
 */
function started<T>(items: AsyncIterable<T>): { take(): AsyncIterable<T> | undefined; cancel(): void } {
  const iterator = items[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<T>> | undefined = iterator.next();
  first.catch(() => {});
  let taken = false;
  const resumed: AsyncIterator<T> = {
    next() {
      const step = first ?? iterator.next();
      first = undefined;
      return step;
    },
    return: (value?: unknown) => iterator.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
  };
  return {
    take() {
      if (taken) return undefined;
      taken = true;
      return { [Symbol.asyncIterator]: () => resumed };
    },
    cancel() {
      iterator.return?.(undefined).catch(() => {});
    },
  };
}

function problem(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, errorBody(code, message));
}
