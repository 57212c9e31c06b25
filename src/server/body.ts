/**
 * Reads a request body up to a byte limit. A declared `content-length` over the limit is
 * refused before reading a byte; a chunked body stops being read (and buffered) as soon as
 * it passes the limit.
 * @module
 */
import type { IncomingMessage } from 'node:http';

/** Default request body limit: 1 MiB, far above any chat prompt a small local model accepts. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export type BodyResult = { ok: true; text: string } | { ok: false; reason: 'too-large' | 'aborted' };

/**
 * @example
 * ```ts
 * const body = await readBody(req, 1 << 20);
 * if (!body.ok) return body.reason === 'too-large' ? send413() : undefined;
 * JSON.parse(body.text);
 * ```
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.resolve({ ok: false, reason: 'too-large' });

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Stop reading: the caller answers 413 with `connection: close`.
        req.pause();
        resolve({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      resolve({ ok: true, text: buffer.toString('utf8') });
    };
    const onAbort = () => {
      cleanup();
      resolve({ ok: false, reason: 'aborted' });
    };
    function cleanup() {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}
