/**
 * An incremental, byte-level `text/event-stream` decoder that follows the WHATWG rules
 * exactly: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 *
 * Push-based and synchronous: `feed(bytes)` calls your handlers for every event completed by
 * those bytes. Network chunks may be cut anywhere — inside a line, inside a multi-byte
 * character, inside the first BOM, between the CR and LF of a CRLF.
 *
 * How it stays fast: lines are found with `indexOf` on the bytes (memchr on Node), and only
 * field values are decoded, one UTF-8 decode per line, so ASCII lines become compact one-byte
 * strings however much non-ASCII text their neighbours carry. Lines never split a character
 * (CR and LF never occur inside a UTF-8 sequence), so decoding per line is the same as
 * decoding the whole stream at once. A line spread over many chunks is gathered in one buffer
 * that grows by doubling, so it costs O(n), not O(n²), and no chunk boundary allocates.
 * @module
 */
import { SseDecodeError } from '../errors.js';
import { type ByteOps, defaultByteOps } from './bytes.js';

/** One dispatched event. */
export interface SseEvent {
  /** The `event` field, or `'message'` when absent or empty. */
  type: string;
  /** The `data` lines joined with LF. */
  data: string;
  /** The last event ID: the latest `id` field seen so far in the stream (it persists), or `''`. */
  id: string;
}

export interface DecoderHandlers {
  /** Called for every dispatched event, in order. Taken once, when the decoder is made. */
  onEvent(event: SseEvent): void;
  /** Called for every `retry` field whose value is all ASCII digits, with that number (ms). */
  onRetry?(ms: number): void;
  /** Called for every comment line (`:text`), with one leading space removed. */
  onComment?(text: string): void;
}

export interface DecoderOptions {
  /**
   * Longest line accepted, in bytes, not counting its line ending. A longer line makes
   * `feed` throw `SseDecodeError` (type `'line-too-long'`) instead of buffering without
   * bound. Default 16 MiB (16 777 216).
   */
  maxLineLength?: number;
}

/** What `end()` found when the input stopped. */
export interface DecoderEnd {
  /**
   * True when the input stopped mid-line, or after field lines (anything but comments)
   * whose blank line never came. That event was not dispatched (the spec discards it).
   */
  unterminated: boolean;
  /**
   * The data the undispatched event would have carried, counting a final line that lacks
   * its line ending. Lets a client accept an Azure `data: [DONE]` sent without its blank line.
   */
  pendingData?: string;
}

export interface SseDecoder {
  /** Decodes the next bytes; calls the handlers for every event they complete. */
  feed(bytes: Uint8Array): void;
  /**
   * The input ended: discards the undispatched event (per spec) and reports it. The decoder
   * is then ready for a new stream (a reconnection): the BOM check restarts, `lastEventId` is kept.
   */
  end(): DecoderEnd;
  /** Forgets everything, `lastEventId` and a `line-too-long` failure included. */
  reset(): void;
  /** The last event ID so far, to send as `Last-Event-ID` when reconnecting. */
  readonly lastEventId: string;
}

/** 16 MiB: far above any real event, far below what would exhaust memory. */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const LOWER_D = 0x64;
const LOWER_A = 0x61;
const LOWER_T = 0x74;
const BOM = [0xef, 0xbb, 0xbf] as const;
const DIGITS = /^[0-9]+$/;
const EMPTY = new Uint8Array(0);
/**
 * Carry buffer: initial size (under 4 KiB, so on Node it is a slice of Buffer's shared pool,
 * not an allocation of its own per stream), and the size above which it is released after use.
 */
const CARRY_INITIAL = 2 * 1024;
const CARRY_KEEP = 1024 * 1024;

/**
 * Creates a decoder.
 *
 * @example
 * ```ts
 * import { createDecoder } from 'sluice/sse';
 *
 * const decoder = createDecoder({ onEvent: (e) => console.log(e.type, e.data) });
 * const bytes = new TextEncoder().encode('data: {"a":1}\n\nevent: ping\ndata: x\n\n');
 * decoder.feed(bytes.subarray(0, 7)); // nothing yet
 * decoder.feed(bytes.subarray(7)); // logs: message {"a":1} / ping x
 * decoder.end(); // { unterminated: false }
 * ```
 */
export function createDecoder(handlers: DecoderHandlers, options: DecoderOptions = {}): SseDecoder {
  return createDecoderWith(defaultByteOps, handlers, options);
}

/**
 * @internal A decoder whose steps are only called on it, never detached (a stream's reader):
 * it has none of the three bound functions, which a stream would hold as long as it is open.
 */
export function createAttachedDecoder(handlers: DecoderHandlers): SseDecoder {
  return createDecoderWith(defaultByteOps, handlers, {}, false);
}

/** @internal The decoder over given byte operations (tests run both the Node and the portable ones). */
export function createDecoderWith(
  ops: ByteOps,
  handlers: DecoderHandlers,
  options: DecoderOptions = {},
  detachable = true,
): SseDecoder {
  if (handlers === null || typeof handlers !== 'object' || typeof handlers.onEvent !== 'function') {
    throw new TypeError('createDecoder needs handlers with an onEvent function: createDecoder({ onEvent(e) {...} })');
  }
  const maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  if (!(maxLineLength >= 0) || (!Number.isInteger(maxLineLength) && maxLineLength !== Number.POSITIVE_INFINITY)) {
    throw new TypeError(`maxLineLength must be a whole number of bytes >= 0, got ${String(options.maxLineLength)}`);
  }
  return new Decoder(ops, handlers, maxLineLength, detachable);
}

/**
 * The decoder's state and steps. A class rather than closures over local state: a client
 * makes one decoder per response, and methods on the prototype cost nothing per decoder,
 * where a dozen closures per decoder cost microseconds per short stream.
 */
class Decoder implements SseDecoder {
  /**
   * A decoder that lives as long as the module, so the instances' hidden class does too. The
   * engine keeps that class only while some instance exists: a full GC while no decoder is
   * alive (a client between requests, a benchmark's forced GC) would drop it, and the next
   * decoder would throw away the optimized code of every method and compile it again.
   */
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held, never read, on purpose (see above)
  static readonly #keepShape = new Decoder(defaultByteOps, { onEvent() {} }, DEFAULT_MAX_LINE_LENGTH, true);
  readonly #ops: ByteOps;
  /**
   * Called as methods of this object (`this.#handlers.onEvent(event)`): a handler class's
   * method is one call target for every decoder, which the hot loops' compiled code may keep
   * inlined. (A function bound per decoder, as this was, is a new target every stream: code
   * compiled while only one stream ran holds on to it, and a full collection after that
   * stream threw the loops' code away, before every stream of a client bench's runs.)
   */
  readonly #handlers: DecoderHandlers;
  readonly #maxLineLength: number;
  // Stream state.
  #started = false; // the leading-BOM check is done
  #held: Uint8Array = EMPTY; // the first bytes while they could still be a BOM
  #skipLF = false; // the previous chunk ended with CR: an LF starting this one is its pair
  // The current unterminated line, copied into one reusable buffer that grows by doubling:
  // no allocation per chunk, and O(n) for a line spread over many chunks. Taken on first use.
  #carry: Uint8Array = EMPTY;
  #carryLength = 0;
  #failure: SseDecodeError | undefined = undefined;
  // Event state.
  #data = '';
  #dataLines = 0;
  #eventType = '';
  #lastEventId = '';
  #inEvent = false; // a field line arrived since the last blank line

  constructor(ops: ByteOps, handlers: DecoderHandlers, maxLineLength: number, detachable: boolean) {
    this.#ops = ops;
    this.#handlers = handlers;
    this.#maxLineLength = maxLineLength;
    // The public steps stay usable detached (`stream.on('data', decoder.feed)`), as they were
    // when the decoder was closures: three bound functions, about 0.1 µs per decoder.
    // An attached decoder gets the shared methods themselves, as own properties all the same:
    // one hidden class for every decoder.
    this.feed = detachable ? this.feed.bind(this) : this.feed;
    this.end = detachable ? this.end.bind(this) : this.end;
    this.reset = detachable ? this.reset.bind(this) : this.reset;
  }

  get lastEventId(): string {
    return this.#lastEventId;
  }

  feed(chunk: Uint8Array): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (!ArrayBuffer.isView(chunk)) {
      throw new TypeError(`feed() takes bytes (a Uint8Array), got ${typeof chunk}; encode text with TextEncoder first`);
    }
    if (!this.#started) {
      const rest = this.#stripBom(chunk);
      if (rest === undefined) return;
      chunk = rest;
    }
    if (chunk.length === 0) return;
    const b = this.#ops.view(chunk);
    let pos = 0;
    if (this.#skipLF) {
      this.#skipLF = false;
      if (b[0] === LF) pos = 1;
    }
    // One search for CR per chunk: most streams have none, and then every line ends at an LF.
    let cr = b.indexOf(CR, pos);
    if (this.#carryLength > 0) {
      pos = this.#completeLine(b, pos, cr);
      if (pos === -1) return;
      if (cr !== -1 && cr < pos) cr = b.indexOf(CR, pos);
    }
    if (cr === -1) this.#scanLF(b, pos);
    else this.#scanAny(b, pos, cr);
  }

  end(): DecoderEnd {
    if (this.#failure !== undefined) {
      this.#clearStream();
      return { unterminated: true };
    }
    let unterminated = this.#inEvent;
    let pendingData = this.#dataLines > 0 ? this.#data : undefined;
    const partial = !this.#started ? this.#ops.view(this.#held) : this.#carry;
    const partialLength = !this.#started ? this.#held.length : this.#carryLength;
    if (partialLength > 0) {
      unterminated = true;
      const value = this.#dataOfPartialLine(partial, partialLength);
      if (value !== undefined) pendingData = pendingData === undefined ? value : `${pendingData}\n${value}`;
    }
    this.#clearStream();
    return pendingData === undefined ? { unterminated } : { unterminated, pendingData };
  }

  reset(): void {
    this.#clearStream();
    this.#lastEventId = '';
  }

  #fail(length: number): never {
    const failure = new SseDecodeError(
      'line-too-long',
      `An SSE line of at least ${length} bytes exceeds maxLineLength (${this.#maxLineLength} bytes); ` +
        'raise the decoder option maxLineLength if the server really sends lines this long',
    );
    this.#failure = failure;
    this.#dropCarry();
    this.#data = '';
    this.#dataLines = 0;
    throw failure;
  }

  #dispatch(): void {
    this.#inEvent = false;
    if (this.#dataLines === 0) {
      // Spec: an empty data buffer dispatches nothing and resets the event type.
      this.#eventType = '';
      return;
    }
    const event = this.#event(this.#data);
    this.#data = '';
    this.#dataLines = 0;
    this.#eventType = '';
    this.#handlers.onEvent(event);
  }

  /** The event to dispatch with `data`, of the current type and last event ID. */
  #event(data: string): SseEvent {
    return { type: this.#eventType === '' ? 'message' : this.#eventType, data, id: this.#lastEventId };
  }

  #appendData(value: string): void {
    this.#data = this.#dataLines === 0 ? value : `${this.#data}\n${value}`;
    this.#dataLines++;
    this.#inEvent = true;
  }

  /** Interprets one complete line `b[s, e)` (line ending excluded). */
  #line(b: Uint8Array, s: number, e: number): void {
    if (s === e) {
      this.#dispatch();
      return;
    }
    const first = b[s];
    if (first === LOWER_D && s + 4 <= e && b[s + 1] === LOWER_A && b[s + 2] === LOWER_T && b[s + 3] === LOWER_A) {
      if (s + 4 === e) {
        this.#appendData(''); // `data` with no colon: the value is empty
        return;
      }
      if (b[s + 4] === COLON) {
        const v = s + 5 < e && b[s + 5] === SPACE ? s + 6 : s + 5;
        this.#appendData(v < e ? this.#ops.text(b, v, e) : '');
        return;
      }
    }
    if (first === COLON) {
      const onComment = this.#handlers.onComment;
      if (onComment !== undefined) {
        const c = s + 1 < e && b[s + 1] === SPACE ? s + 2 : s + 1;
        onComment.call(this.#handlers, c < e ? this.#ops.text(b, c, e) : '');
      }
      return;
    }
    this.#field(this.#ops.text(b, s, e));
  }

  /** The rarer fields (`event`, `id`, `retry`, unknown ones), from the decoded line. */
  #field(lineText: string): void {
    this.#inEvent = true;
    const colon = lineText.indexOf(':');
    const name = colon === -1 ? lineText : lineText.slice(0, colon);
    const value = colon === -1 ? '' : lineText.slice(lineText.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    switch (name) {
      case 'event':
        this.#eventType = value;
        break;
      case 'data':
        this.#appendData(value);
        break;
      case 'id':
        // Spec: an id containing NULL is ignored.
        if (!value.includes('\0')) this.#lastEventId = value;
        break;
      case 'retry':
        if (DIGITS.test(value)) this.#handlers.onRetry?.(Number.parseInt(value, 10));
        break;
      default:
      // Spec: any other field is ignored.
    }
  }

  /** Appends `b[from, to)` to the carried line (copied: callers may reuse their buffers). */
  #carryAppend(b: Uint8Array, from: number, to: number): void {
    const length = to - from;
    if (length === 0) return;
    const needed = this.#carryLength + length;
    if (needed > this.#maxLineLength) this.#fail(needed);
    if (needed > this.#carry.length) {
      let size = Math.max(this.#carry.length * 2, CARRY_INITIAL);
      while (size < needed) size *= 2;
      const grown = this.#ops.alloc(size);
      grown.set(this.#carry.subarray(0, this.#carryLength));
      this.#carry = grown;
    }
    this.#carry.set(b.subarray(from, to), this.#carryLength);
    this.#carryLength = needed;
  }

  /** Empties the carried line, giving back the memory of a very long one. */
  #dropCarry(): void {
    this.#carryLength = 0;
    if (this.#carry.length > CARRY_KEEP) this.#carry = EMPTY;
  }

  /**
   * Finishes the carried line, given the first CR at or after `from` (-1: none); returns
   * where scanning resumes, or -1 if `b` had no line ending.
   */
  #completeLine(b: Uint8Array, from: number, cr: number): number {
    const lf = b.indexOf(LF, from);
    const end = lf === -1 ? cr : cr === -1 || lf < cr ? lf : cr;
    if (end === -1) {
      this.#carryAppend(b, from, b.length);
      return -1;
    }
    this.#carryAppend(b, from, end);
    const length = this.#carryLength;
    this.#carryLength = 0; // before line(): a throwing handler must not leave the line carried
    this.#line(this.#carry, 0, length);
    if (this.#carry.length > CARRY_KEEP) this.#dropCarry();
    return this.#afterEnding(b, end);
  }

  /** The index after the line ending at `end` (CR, LF or CRLF). */
  #afterEnding(b: Uint8Array, end: number): number {
    if (b[end] === LF) return end + 1;
    if (end + 1 === b.length) {
      this.#skipLF = true; // half of a CRLF may follow in the next chunk
      return end + 1;
    }
    return b[end + 1] === LF ? end + 2 : end + 1;
  }

  /** The common case: no CR in the chunk, so every line ends at the next LF. */
  #scanLF(b: Uint8Array, pos: number): void {
    const maxLineLength = this.#maxLineLength;
    let lf = b.indexOf(LF, pos);
    while (lf !== -1) {
      if (lf - pos > maxLineLength) this.#fail(lf - pos);
      if (lf === pos) {
        this.#dispatch();
      } else if (
        b[pos] === LOWER_D &&
        b[pos + 1] === LOWER_A &&
        b[pos + 2] === LOWER_T &&
        b[pos + 3] === LOWER_A &&
        b[pos + 4] === COLON
      ) {
        // `data:` (the LF itself guards every index above: it matches none of those bytes).
        const v = b[pos + 5] === SPACE ? pos + 6 : pos + 5;
        const value = v < lf ? this.#ops.text(b, v, lf) : '';
        if (this.#dataLines === 0 && b[lf + 1] === LF) {
          // Fast path, exact: a lone `data:` line followed by a blank line is a whole event.
          const event = this.#event(value);
          this.#eventType = '';
          this.#inEvent = false;
          pos = lf + 2;
          lf = b.indexOf(LF, pos);
          this.#handlers.onEvent(event);
          continue;
        }
        this.#appendData(value);
      } else {
        this.#line(b, pos, lf);
      }
      pos = lf + 1;
      lf = b.indexOf(LF, pos);
    }
    this.#carryAppend(b, pos, b.length);
  }

  /** Any mix of CR, LF and CRLF, given the first CR at or after `pos`. */
  #scanAny(b: Uint8Array, pos: number, firstCR: number): void {
    let cr = firstCR;
    let lf = b.indexOf(LF, pos);
    while (cr !== -1 || lf !== -1) {
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      if (end - pos > this.#maxLineLength) this.#fail(end - pos);
      this.#line(b, pos, end);
      pos = this.#afterEnding(b, end);
      if (cr !== -1 && cr < pos) cr = b.indexOf(CR, pos);
      if (lf !== -1 && lf < pos) lf = b.indexOf(LF, pos);
    }
    this.#carryAppend(b, pos, b.length);
  }

  /** Strips one leading BOM, even when it arrives split; returns the bytes to decode, or undefined to wait. */
  #stripBom(chunk: Uint8Array): Uint8Array | undefined {
    let bytes = chunk;
    if (this.#held.length > 0) {
      bytes = new Uint8Array(this.#held.length + chunk.length);
      bytes.set(this.#held);
      bytes.set(chunk, this.#held.length);
    }
    const n = Math.min(bytes.length, 3);
    let matches = true;
    for (let i = 0; i < n; i++) if (bytes[i] !== BOM[i]) matches = false;
    if (matches && n < 3) {
      this.#held = bytes.slice();
      return undefined;
    }
    this.#started = true;
    this.#held = EMPTY;
    return matches ? bytes.subarray(3) : bytes;
  }

  /** The data of a final line that never got its line ending, if it is a `data` field. */
  #dataOfPartialLine(bytes: Uint8Array, length: number): string | undefined {
    const lineText = this.#ops.text(bytes, 0, length);
    const colon = lineText.indexOf(':');
    if (colon === -1) return lineText === 'data' ? '' : undefined;
    if (lineText.slice(0, colon) !== 'data') return undefined;
    return lineText.slice(lineText.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
  }

  #clearStream(): void {
    this.#started = false;
    this.#held = EMPTY;
    this.#skipLF = false;
    this.#dropCarry();
    this.#failure = undefined;
    this.#data = '';
    this.#dataLines = 0;
    this.#eventType = '';
    this.#inEvent = false;
  }
}

/**
 * @internal `decoder.feed(chunk)` by the class's own method, not by the decoder's bound copy of
 * it: one call target for every decoder (see `#handlers` above). For the client's SSE source,
 * whose decoders all come from `createDecoder`.
 *
 * @example
 * feedDecoder(createDecoder({ onEvent: (e) => console.log(e.data) }), new TextEncoder().encode('data: x\n\n'));
 */
export function feedDecoder(decoder: SseDecoder, chunk: Uint8Array): void {
  DECODER_FEED.call(decoder as Decoder, chunk);
}
const DECODER_FEED = Decoder.prototype.feed;
