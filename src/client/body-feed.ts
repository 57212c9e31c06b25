/**
 * A response body's bytes by callbacks, for the SSE source: `more()` asks, `bytes` / `end` /
 * `error` answer. Two kinds of body:
 *
 * - a web `ReadableStream` (the global fetch, any fetch): one `reader.read()` per `more()`;
 * - a Node readable offered beside the Response by a fetch built on node:http
 *   (`offerNodeBody`, used by the remote backend's `createHttpFetch`): its `data` events go
 *   straight to `bytes`, with no web-stream hop and no promise per read. A gateway reads every
 *   upstream chunk this way, so this is its hot path.
 *
 * Whoever reads a body first owns it: a Node body claimed here is no longer readable through
 * `response.body`, and one read through `response.body` is not offered here any more.
 * @module
 */
import type { Readable } from 'node:stream';

/** Where a feed's bytes go. After `end` or `error`, nothing more is called. */
export interface FeedHandlers {
  bytes(chunk: Uint8Array): void;
  /** The body ended whole. */
  end(): void;
  /** Reading failed: the connection died, or the request was aborted (`cause` = its reason). */
  error(cause: unknown): void;
}

/** Reads one body. Handlers are never called synchronously from `more()`. */
export interface BodyFeed {
  /** Asks for bytes. A web body reads once; a Node body flows until `pause()`. */
  more(): void;
  /** Asks a Node body to stop flowing until the next `more()` (back-pressure); a web body only reads when asked. */
  pause(): void;
  /** Stops reading and lets the body go; no handler is called after it. */
  cancel(): void;
}

/** The Node bodies offered beside their Responses and not yet claimed. */
const nodeBodies = new WeakMap<Response, Readable & { complete?: boolean }>();

/**
 * Offers `readable` as the body of `response` to `bodyFeed`, for a fetch built on node:http
 * whose `response.body` reads the same bytes (through `claimNodeBody`) when used instead.
 *
 * @example
 * const response = new Response(lazyBody, { status, headers });
 * offerNodeBody(response, incomingMessage);
 */
export function offerNodeBody(response: Response, readable: Readable): void {
  nodeBodies.set(response, readable);
}

/**
 * Takes the Node body offered for `response`, once: undefined when none was offered or
 * someone took it already. `response.body`'s own reader claims it the same way.
 */
export function claimNodeBody(response: Response): (Readable & { complete?: boolean }) | undefined {
  const readable = nodeBodies.get(response);
  if (readable !== undefined) nodeBodies.delete(response);
  return readable;
}

/**
 * A feed over `response`'s body: its offered Node body when there is one, else `body`.
 *
 * @example
 * const feed = bodyFeed(response, response.body, { bytes: (b) => decoder.feed(b), end, error });
 * feed.more();
 */
export function bodyFeed(response: Response, body: ReadableStream<Uint8Array>, handlers: FeedHandlers): BodyFeed {
  const node = response.bodyUsed ? undefined : claimNodeBody(response);
  return node !== undefined ? nodeFeed(node, handlers) : webFeed(body, handlers);
}

function webFeed(body: ReadableStream<Uint8Array>, handlers: FeedHandlers): BodyFeed {
  const reader = body.getReader();
  let reading = false;
  let over = false;
  const onRead = (read: Awaited<ReturnType<typeof reader.read>>) => {
    reading = false;
    if (over) return;
    if (read.done) {
      over = true;
      handlers.end();
    } else handlers.bytes(read.value);
  };
  const onError = (cause: unknown) => {
    reading = false;
    if (over) return;
    over = true;
    handlers.error(cause);
  };
  return {
    more() {
      if (reading || over) return;
      reading = true;
      reader.read().then(onRead, onError);
    },
    pause() {},
    cancel() {
      over = true;
      reader.cancel().catch(() => {});
    },
  };
}

function nodeFeed(readable: Readable & { complete?: boolean }, handlers: FeedHandlers): BodyFeed {
  let over = false;
  let started = false;
  const onData = (chunk: Uint8Array) => {
    if (!over) handlers.bytes(chunk);
  };
  const finish = (cause?: unknown) => {
    if (over) return;
    over = true;
    if (cause === undefined) handlers.end();
    else handlers.error(cause);
  };
  const onEnd = () => finish();
  const onError = (err: unknown) => finish(err ?? new Error('The connection failed while reading the body'));
  // Closed before its end without an error (destroyed quietly): the body was cut.
  const onClose = () => {
    if (!readable.readableEnded) finish(new Error('The connection closed before the body ended'));
  };
  return {
    more() {
      if (over) return;
      if (!started && readable.destroyed) {
        // Destroyed before anyone read it (an abort, a reset): no event will come any more.
        const cause: unknown = readable.errored ?? new Error('The connection closed before the body was read');
        queueMicrotask(() => finish(cause));
        return;
      }
      if (!started) {
        started = true;
        readable.on('end', onEnd);
        readable.on('error', onError);
        readable.on('close', onClose);
        readable.on('data', onData); // starts the flow
      } else if (readable.isPaused()) readable.resume();
    },
    pause() {
      if (!over && started) readable.pause();
    },
    cancel() {
      if (over && readable.readableEnded) return;
      over = true;
      // A message that arrived whole is read to its end, so that its keep-alive connection
      // is reused; one still arriving is cut (the server sees the connection close). Decided
      // once the bytes of this network read are parsed: `[DONE]` is usually followed by the
      // message's end in the same read.
      setImmediate(() => {
        if (readable.complete === true) readable.resume();
        else readable.destroy();
      });
    },
  };
}
