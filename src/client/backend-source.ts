/**
 * `streamFromBackend`: a ResponseStream over any Backend (the local model, a scripted one,
 * a remote one), so the CLI, the server and the web UI consume every backend the same way.
 * @module
 */
import { abortError } from '../abort.js';
import type { Backend, BackendRequest } from '../backend.js';
import { shapeLimitsFor } from '../protocol/shape.js';
import type { ApiKind } from '../types.js';
import type { Timeouts } from './options.js';
import { type ChunkSource, ResponseStream } from './response-stream.js';

export interface BackendStreamOptions {
  signal?: AbortSignal;
  /** firstTokenMs, idleMs and totalMs apply (a backend has no headers). None by default. */
  timeouts?: Timeouts;
}

/**
 * Streams `request` from `backend` as a ResponseStream: same chunks, end states, metrics,
 * time-outs, abort and relays as an HTTP stream. `meta` resolves at once with status 200.
 *
 * A backend is asked to stop through the signal; the stream does not wait for it to comply
 * (a pending chunk is abandoned at once on abort or time-out, and the backend's iterator is
 * closed).
 * @example
 * const stream = streamFromBackend(createLocalBackend(), { kind: 'completions', body: { prompt: 'Once' } });
 * for await (const { text } of stream.textDeltas()) process.stdout.write(text);
 */
export function streamFromBackend<K extends ApiKind>(
  backend: Backend,
  request: BackendRequest<K>,
  options: BackendStreamOptions = {},
): ResponseStream<K> {
  return new ResponseStream(request.kind, backendSource(backend, request), {
    signal: options.signal,
    timeouts: options.timeouts,
    limits: shapeLimitsFor(request.kind, request.body),
  });
}

function backendSource<K extends ApiKind>(backend: Backend, request: BackendRequest<K>): ChunkSource<K> {
  return (ctx) => {
    ctx.opened({ status: 200, rateLimit: {}, headers: new Headers(), attempts: 1 });
    return abandonOnAbort(backend.stream(request, ctx.signal)[Symbol.asyncIterator](), ctx.signal);
  };
}

/**
 * The backend's iterator, except that a pending `next()` rejects as soon as `signal` aborts,
 * whatever the backend does; the backend's iterator is then closed in the background.
 */
function abandonOnAbort<T>(inner: AsyncIterator<T>, signal: AbortSignal): AsyncIterator<T, undefined, undefined> {
  let rejectAborted: ((err: unknown) => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    rejectAborted = reject;
  });
  aborted.catch(() => {});
  const close = () => {
    Promise.resolve()
      .then(() => inner.return?.())
      .catch(() => {});
  };
  const onAbort = () => {
    rejectAborted?.(abortError(signal));
    close();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const unlink = () => signal.removeEventListener('abort', onAbort);
  return {
    async next() {
      try {
        const r = await Promise.race([inner.next(), aborted]);
        if (r.done) {
          unlink();
          return { done: true, value: undefined };
        }
        return r;
      } catch (err) {
        unlink();
        throw err;
      }
    },
    async return() {
      unlink();
      close();
      return { done: true, value: undefined };
    },
  };
}
