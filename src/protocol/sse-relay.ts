/**
 * The one relay from chunks to SSE, used by the server's writer and `ResponseStream.toSSE`.
 *
 * The rule: a stream that has begun ends either with `data: [DONE]` (success) or with
 * exactly one `data: {"error": ...}` frame and no `[DONE]` (any failure: an upstream error,
 * a truncated upstream, a time-out, an abort such as a server shutting down), so a reader
 * that is still there always learns why the stream ended. The frame's body is the body an
 * HTTP answer for the same failure carries (protocol/error-body.ts). Once the reader has
 * gone (it cancelled, the socket closed) nothing more is written.
 * @module
 */
import { encodeData } from '../sse/encoder.js';
import type { ApiErrorBody } from '../types.js';
import { describeFailure } from './error-body.js';
import { sourceJsonOf } from './source-json.js';

/** The frame that ends a successful stream. */
export const DONE_FRAME = 'data: [DONE]\n\n';

/**
 * The frame for one chunk: the upstream's own JSON text when the chunk is as parsed
 * (protocol/source-json.ts), else one `JSON.stringify`.
 */
export function chunkFrame(chunk: object): string {
  return encodeData(sourceJsonOf(chunk) ?? JSON.stringify(chunk));
}

/**
 * The frame that ends a failed stream: the error body, as the HTTP answer would carry it.
 *
 * @example
 * failureFrame(new StreamTruncatedError('no-done', 'cut')); // 'data: {"error":{"code":"BadGateway",...}}\n\n'
 */
export function failureFrame(error: unknown, bodyOf: (error: unknown) => ApiErrorBody = defaultBody): string {
  return encodeData(JSON.stringify(bodyOf(error)));
}

/**
 * Relays an iterator of chunks as SSE bytes under the rule above; cancelling the stream
 * ends the iterator (`return()`), which aborts whatever produces the chunks.
 *
 * @example
 * ```ts
 * const sse = relayToSse(stream[Symbol.asyncIterator]());
 * return new Response(sse, { headers: { 'content-type': 'text/event-stream' } });
 * ```
 */
export function relayToSse(
  iterator: AsyncIterator<unknown>,
  bodyOf: (error: unknown) => ApiErrorBody = defaultBody,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let frame: string;
        let last = false;
        try {
          const step = await iterator.next();
          last = step.done === true;
          frame = last ? DONE_FRAME : chunkFrame(step.value);
        } catch (error) {
          last = true;
          frame = failureFrame(error, bodyOf);
        }
        controller.enqueue(encoder.encode(frame));
        if (last) controller.close();
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

// --- internal ---

function defaultBody(error: unknown): ApiErrorBody {
  return describeFailure(error).body;
}
