/**
 * A response body's bytes by callbacks, for the SSE source: `more()` asks, `bytes` / `end` /
 * `error` answer. Two kinds of body:
 *
 * - a web `ReadableStream` (the global fetch, any fetch): one `reader.read()` per `more()`;
 * - a Node readable offered beside the Response by a fetch built on node:http
 *   (`offerNodeBody`, used by the remote backend's `createHttpFetch`): its bytes go straight
 *   to `bytes`, with no web-stream hop and no promise per read. A gateway reads every
 *   upstream chunk this way, so this is its hot path.
 *
 * Whoever reads a body first owns it: a Node body claimed here is no longer readable through
 * `response.body`, and one read through `response.body` is not offered here any more.
 * @module
 */
import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { serialize } from 'node:v8';
import { keepShape } from './shapes.js';

/** Where a feed's bytes go. After `onEnd` or `onError`, nothing more is called. */
export interface FeedHandlers {
  onBytes(chunk: Uint8Array): void;
  /** The body ended whole. */
  onEnd(): void;
  /** Reading failed: the connection died, or the request was aborted (`cause` = its reason). */
  onError(cause: unknown): void;
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

/** True while a Node body is offered for `response` and nobody took it: `bodyFeed` will read it, not `response.body`. */
export function offersNodeBody(response: Response): boolean {
  return nodeBodies.has(response);
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
 * A feed over `response`'s body: its offered Node body when there is one, else `body`
 * (undefined: `response.body`, read only then, so a fetch can make its web stream lazily).
 *
 * @example
 * const feed = bodyFeed(response, response.body, { onBytes: (b) => decoder.feed(b), onEnd, onError });
 * feed.more();
 */
export function bodyFeed(
  response: Response,
  body: ReadableStream<Uint8Array> | undefined,
  handlers: FeedHandlers,
): BodyFeed {
  const node = response.bodyUsed ? undefined : claimNodeBody(response);
  return node !== undefined
    ? new NodeFeed(node, handlers)
    : new WebFeed(body ?? (response.body as ReadableStream<Uint8Array>), handlers);
}

// The feeds are classes, not literals of closures: the SSE source calls `more()` once per
// read, and one method for every stream stays inlined in its optimized code, where a closure
// per stream is a new call target each time.

/** A web `ReadableStream`: one `reader.read()` per `more()`. */
class WebFeed implements BodyFeed {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #handlers: FeedHandlers;
  #reading = false;
  #over = false;

  constructor(body: ReadableStream<Uint8Array>, handlers: FeedHandlers) {
    this.#reader = body.getReader();
    this.#handlers = handlers;
  }

  more(): void {
    if (this.#reading || this.#over) return;
    this.#reading = true;
    this.#reader.read().then(this.#onRead, this.#onError);
  }

  pause(): void {}

  cancel(): void {
    this.#over = true;
    this.#reader.cancel().catch(() => {});
  }

  // Made once per feed (the reads' callbacks), not once per read.
  readonly #onRead = (read: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>): void => {
    this.#reading = false;
    if (this.#over) return;
    if (read.done) {
      this.#over = true;
      this.#handlers.onEnd();
    } else this.#handlers.onBytes(read.value);
  };

  readonly #onError = (cause: unknown): void => {
    this.#reading = false;
    if (this.#over) return;
    this.#over = true;
    this.#handlers.onError(cause);
  };
}

/** A node:http message whose `push` was taken over: it leads to its feed. */
type TakenOver = IncomingMessage & { [FEED]: NodeFeed };

/** Where a taken-over message's feed is: a property of the message, read by `pushToFeed`. */
const FEED: unique symbol = Symbol('sluice.feed');

/**
 * Every taken-over message's `push`: one function for all of them, so that the parser's call
 * (`parserOnBody`), compiled with it inlined, is not compiled again for every stream. (A
 * function made per feed is a new call target each time; code compiled while it was the only
 * one holds on to it, and a full collection after the stream throws that code away.)
 */
function pushToFeed(this: TakenOver, chunk: Uint8Array | null, encoding?: BufferEncoding): boolean {
  return this[FEED].push(this, chunk, encoding);
}

/**
 * A Node readable: its bytes go straight to the handlers.
 *
 * A node:http message is fed by its parser, which calls the message's `push` once per HTTP
 * chunk (`parserOnBody`); a server that writes each SSE event on its own sends one chunk per
 * event, so one socket read of 64 KiB can bring a hundred of them. Each `push` then costs the
 * Readable's bookkeeping and a `data` event before the bytes reach us: about 0.5 µs a chunk,
 * a third of what node:http costs per chunk (client bench, 20,000 chunks). So the message's
 * own `push` is taken over (`pushToFeed`): the bytes go to the handlers at once, and only the
 * end (`push(null)`) goes on to the Readable, which then emits `end` as before (and gives the
 * connection back to its pool). Back-pressure is the parser's: `push` answering false
 * stops the socket (`readStop`), `more()` starts it again. Anything that reaches the message
 * another way still comes through its `data` events.
 */
class NodeFeed implements BodyFeed {
  readonly #readable: Readable & { complete?: boolean };
  readonly #handlers: FeedHandlers;
  #over = false;
  #started = false;
  /** The message's own push is ours (a node:http message): its bytes skip the Readable. */
  #direct = false;
  /** `pause()` asked: `push` answers false, so the parser stops reading the socket. */
  #paused = false;

  constructor(readable: Readable & { complete?: boolean }, handlers: FeedHandlers) {
    this.#readable = readable;
    this.#handlers = handlers;
  }

  more(): void {
    if (this.#over) return;
    const readable = this.#readable;
    if (!this.#started && readable.destroyed) {
      // Destroyed before anyone read it (an abort, a reset): no event will come any more.
      const cause: unknown = readable.errored ?? new Error('The connection closed before the body was read');
      queueMicrotask(() => this.#finish(cause));
      return;
    }
    if (!this.#started) {
      this.#started = true;
      readable.on('end', this.#onEnd);
      readable.on('error', this.#onError);
      readable.on('close', this.#onClose);
      if (readable instanceof IncomingMessage && !Object.hasOwn(readable, 'push')) {
        this.#direct = true;
        const message = readable as TakenOver;
        message[FEED] = this;
        message.push = pushToFeed;
      }
      readable.on('data', this.#onData); // starts the flow
    } else if (this.#paused || readable.isPaused()) {
      this.#paused = false;
      readable.resume();
      // The parser stopped the socket when `push` said so (`readStop`); the Readable, whose
      // buffer stays empty, would not start it again. Until the message ends, it is ours.
      const socket = this.#direct && !readable.readableEnded ? (readable as IncomingMessage).socket : null;
      if (socket?.readable) socket.resume();
    }
  }

  pause(): void {
    if (this.#over || !this.#started) return;
    this.#paused = true;
    this.#readable.pause();
  }

  cancel(): void {
    const readable = this.#readable;
    if (this.#over && readable.readableEnded) return;
    this.#over = true;
    this.#paused = false;
    // A message that arrived whole is read to its end, so that its keep-alive connection
    // is reused; one still arriving is cut (the server sees the connection close). Decided
    // once the bytes of this network read are parsed: `[DONE]` is usually followed by the
    // message's end in the same read.
    setImmediate(() => {
      // (Complete, the parser has started the socket again itself, for the next message.)
      if (readable.complete === true) readable.resume();
      else readable.destroy();
    });
  }

  #finish(cause?: unknown): void {
    if (this.#over) return;
    this.#over = true;
    if (cause === undefined) this.#handlers.onEnd();
    else this.#handlers.onError(cause);
  }

  /**
   * @internal What the taken-over message's `push` does (`pushToFeed`): bytes to the handlers.
   * The end (and anything but bytes) is the Readable's, which emits `end` from it; so are bytes
   * while it still holds earlier ones (those that came with the headers, say): they queue
   * behind them, in order. A feed that is over drops what still comes.
   */
  push(readable: Readable, chunk: Uint8Array | null, encoding?: BufferEncoding): boolean {
    if (chunk === null || !(chunk instanceof Uint8Array) || readable.readableLength > 0 || readable.destroyed) {
      return Object.getPrototypeOf(readable).push.call(readable, chunk, encoding);
    }
    if (!this.#over) this.#handlers.onBytes(chunk);
    return !this.#paused;
  }

  // The listeners, made once per feed.
  readonly #onData = (chunk: Uint8Array): void => {
    if (!this.#over) this.#handlers.onBytes(chunk);
  };
  readonly #onEnd = (): void => this.#finish();
  readonly #onError = (err: unknown): void =>
    this.#finish(err ?? new Error('The connection failed while reading the body'));
  // Closed before its end without an error (destroyed quietly): the body was cut.
  readonly #onClose = (): void => {
    if (!this.#readable.readableEnded) this.#finish(new Error('The connection closed before the body ended'));
  };
}

// One feed of each kind kept for its hidden class (see client/shapes.ts); neither ever reads.
const noHandlers: FeedHandlers = { onBytes() {}, onEnd() {}, onError() {} };
keepShape(new WebFeed(new ReadableStream<Uint8Array>(), noHandlers));
const idleFeed = keepShape(new NodeFeed({} as Readable, noHandlers));
// A taken-over message's own: the two properties added give it a hidden class of its own,
// which a full collection while no message is alive would drop, and with it the parser's
// compiled code. The exemplar is made as node:http makes a client's answer (its `req` set,
// an `end` listener added), then taken over; a test checks that the classes match.
const idleMessage = new IncomingMessage(new PassThrough() as unknown as Socket) as TakenOver;
(idleMessage as unknown as { req: null }).req = null;
idleMessage.on('end', () => {});
idleMessage[FEED] = idleFeed;
idleMessage.push = pushToFeed;
keepShape(idleMessage);
// And the bytes' own: node:http's parser makes each body chunk in C++, a Uint8Array given
// Buffer's prototype there, whose hidden class is not that of buffers made in JavaScript
// (`Buffer.from`) and dies with the last of them. A buffer made the same way (here by V8's
// serializer, which every Node has) keeps it.
keepShape(serialize(0));
