/**
 * The producing side of a resumable stream, as the server's writer uses it: a stream id,
 * each frame logged at its position and written with its SSE `id:` line, a stop request
 * heard from any instance, and the bounded keep-going after the client hangs up (the
 * generation goes on, logged, while a reader may come back; it stops once `keepGoingMs`
 * passes with no reader).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AbortError } from '../errors.js';
import { errorBody } from '../protocol/error-body.js';
import { encodeData } from '../sse/encoder.js';
import { keyDigest, presentedKey } from '../util/credentials.js';
import type { StreamEnd, StreamLog, TakeoverPlan } from './log.js';

/** What a server needs to make its streams resumable. */
export interface ResumableStreams {
  log: StreamLog;
  /** After the client hangs up, generation goes on until this long passes with no reader, ms. */
  keepGoingMs: number;
}

/** Who a stream belongs to, and what a takeover would need, as the server knows it per request. */
export interface StreamStart {
  /** `keyHashOf` the request's headers. */
  keyHash: string;
  /** Set for `continue_on_failure` models: logged so that another instance can continue the answer. */
  takeover?: TakeoverPlan | undefined;
}

/** Default keep-going window after a hang-up: 30 s (a phone that drops, a laptop lid, a proxy cut). */
export const DEFAULT_KEEP_GOING_MS = 30_000;

/** The header that names a response's stream. */
export const STREAM_ID_HEADER = 'x-sluice-stream-id';

/** Why a producer aborted its generation, as recorded in the log. */
export class StreamEndedError extends AbortError {
  readonly end: Extract<StreamEnd, 'stopped' | 'abandoned'>;
  constructor(end: 'stopped' | 'abandoned') {
    super(
      end === 'stopped'
        ? 'The stream was stopped by a stop request (POST /sluice/v1/streams/{id}/stop).'
        : 'The client left and no reader came back in time; the generation was stopped.',
    );
    this.end = end;
  }
}

/** The producer of one stream. */
export interface StreamProducer {
  readonly id: string;
  /** Logs `frame` at the next position and returns it with its `id:` line. */
  frame(frame: string, end?: StreamEnd): string;
  /** The frame that ends a stream the producer itself stopped (stop request, no reader). */
  endFrame(error: StreamEndedError): string;
  /** The client hung up: keep going while a reader may come back, then abort. */
  detached(): void;
  dispose(): void;
}

/**
 * Starts a stream: opens its log, listens for stops (which abort `controller`).
 *
 * @example
 * ```ts
 * const producer = beginStream({ ...streams, keyHash: keyHashOf(req.headers) }, controller);
 * res.write(producer.frame(chunkFrame(chunk)));
 * ```
 */
export function beginStream(streams: ResumableStreams & StreamStart, controller: AbortController): StreamProducer {
  const id = randomUUID();
  const { keyHash, takeover } = streams;
  streams.log.open(id, takeover ? { keyHash, takeover } : { keyHash });
  return continueStream(streams, id, 0, controller);
}

/**
 * Goes on producing stream `id` after position `after`, on the instance that claimed it
 * (`StreamLog.claim`: the first producer died); stops and the keep-going window as for
 * `beginStream`.
 *
 * @example
 * ```ts
 * const entries = await streams.log.claim(id);
 * if (entries) producer = continueStream(streams, id, entries.at(-1)!.position, controller);
 * ```
 */
export function continueStream(
  streams: ResumableStreams,
  id: string,
  after: number,
  controller: AbortController,
): StreamProducer {
  const { log, keepGoingMs } = streams;
  let position = after;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const unsubscribe = log.onStop(id, () => controller.abort(new StreamEndedError('stopped')));
  const check = () => {
    timer = undefined;
    if (ended || controller.signal.aborted) return;
    log.hasReader(id, keepGoingMs).then(
      (reading) => {
        if (ended || controller.signal.aborted) return;
        if (reading) timer = setTimeout(check, keepGoingMs);
        else controller.abort(new StreamEndedError('abandoned'));
      },
      () => controller.abort(new StreamEndedError('abandoned')),
    );
  };
  return {
    id,
    frame(frame, end) {
      if (ended) return frame;
      position++;
      if (end !== undefined) ended = true;
      log.append(id, position, frame, end);
      return `id: ${position}\n${frame}`;
    },
    endFrame(error) {
      const code = error.end === 'stopped' ? 'stream_stopped' : 'stream_abandoned';
      return this.frame(encodeData(JSON.stringify(errorBody(code, error.message))), error.end);
    },
    detached() {
      if (!ended && timer === undefined) timer = setTimeout(check, keepGoingMs);
    },
    dispose() {
      if (timer) clearTimeout(timer);
      unsubscribe();
    },
  };
}

/**
 * SHA-256 (hex) of the credential a request presented (`api-key`, else `Authorization:
 * Bearer`), or of '' when none: a stream is readable only with the key that created it,
 * and only this hash is stored.
 *
 * @example
 * keyHashOf({ 'api-key': 's3cret' }); // '…64 hex digits…'
 */
export function keyHashOf(headers: IncomingHttpHeaders): string {
  const key = presentedKey(headers);
  return key === undefined ? NO_KEY_HASH : keyDigest(key).toString('hex');
}

/** `keyHashOf` a request with no credential (a server without keys): hashed once, not per stream. */
const NO_KEY_HASH = keyDigest('').toString('hex');
