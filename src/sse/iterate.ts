/**
 * The decoder as an async generator over any byte source: a fetch body, a Node stream, any
 * `AsyncIterable<Uint8Array>`.
 * @module
 */
import { createDecoder, type DecoderEnd, type DecoderOptions, type SseEvent } from './decoder.js';

/**
 * Yields every event of a byte stream; returns what `end()` reported (whether the last event
 * was left unterminated, and its pending data).
 *
 * Stopping early (`break`, `return`, a throw in the loop body) cancels the source: a
 * `ReadableStream` reader is cancelled and released, an async iterator gets `return()`, so
 * the connection underneath can close.
 *
 * @example
 * ```ts
 * import { iterateSse } from 'sluice/sse';
 *
 * const res = await fetch('http://127.0.0.1:8080/v1/chat/completions', { method: 'POST', body });
 * const events = iterateSse(res.body!);
 * for await (const event of events) {
 *   if (event.data === '[DONE]') break; // cancels the body
 *   console.log(JSON.parse(event.data));
 * }
 * ```
 *
 * @example Reading the end state
 * ```ts
 * const it = iterateSse(body);
 * let r = await it.next();
 * while (!r.done) r = await it.next();
 * if (r.value.unterminated && r.value.pendingData === '[DONE]') {
 *   // Azure sent `data: [DONE]` without its blank line: the stream did complete.
 * }
 * ```
 */
export async function* iterateSse(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options?: DecoderOptions,
): AsyncGenerator<SseEvent, DecoderEnd, undefined> {
  const queue: SseEvent[] = [];
  const decoder = createDecoder({ onEvent: (e) => queue.push(e) }, options);
  if (
    !isReadableStream(source) &&
    typeof (source as AsyncIterable<Uint8Array>)?.[Symbol.asyncIterator] !== 'function'
  ) {
    throw new TypeError(
      'iterateSse reads a ReadableStream<Uint8Array> or an AsyncIterable<Uint8Array>, e.g. response.body',
    );
  }
  const chunks = isReadableStream(source) ? readChunks(source) : source;
  for await (const chunk of chunks) {
    decoder.feed(chunk);
    // Drain by index, then clear: shift() per event would be O(n²) on a big chunk.
    for (let i = 0; i < queue.length; i++) yield queue[i] as SseEvent;
    queue.length = 0;
  }
  return decoder.end();
}

function isReadableStream(source: unknown): source is ReadableStream<Uint8Array> {
  return typeof (source as ReadableStream<Uint8Array> | undefined)?.getReader === 'function';
}

/** Reads a stream with a reader (portable: not every browser makes streams async-iterable). */
async function* readChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    // Stopped early or failed: tell the source we are not reading any more.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
