/**
 * Abort, in one place: the error an aborted signal stands for, waiting with an exit, and
 * linking signals. Every layer (client, backends, server, CLI) uses these, so an abort
 * surfaces the same way wherever it happens.
 * @module
 */
import { AbortError, SluiceError } from './errors.js';

/**
 * The error an aborted signal stands for: a SluiceError reason (our own time-outs, a
 * shutdown) as it is, anything else wrapped in an AbortError whose `cause` is the reason.
 *
 * @example
 * const controller = new AbortController();
 * controller.abort('user pressed stop');
 * abortError(controller.signal).code; // 'SLUICE_ABORTED'
 */
export function abortError(signal: AbortSignal, message?: string): SluiceError {
  const reason: unknown = signal.reason;
  if (reason instanceof SluiceError) return reason;
  return new AbortError(message, { cause: reason });
}

/**
 * Throws `abortError(signal)` when `signal` has aborted.
 *
 * @example
 * throwIfAborted(AbortSignal.abort()); // throws AbortError
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Settles like `promise`, or rejects with `abortError(signal)` as soon as `signal` aborts.
 * The listener is removed either way, so a long-lived signal collects none.
 *
 * @example
 * const engine = await untilAborted(loadEngine(), request.signal);
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Waits `ms`, or rejects at once with `abortError(signal)` when `signal` aborts: an abort
 * never waits out a back-off.
 *
 * @example
 * await sleep(500, signal);
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A signal that aborts when any of its inputs does; `dispose()` detaches it. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * One signal that aborts (with the first reason) when any input does. Unlike
 * `AbortSignal.any`, `dispose()` removes its listeners, so a long-lived input (a backend's
 * close signal, a server's shutdown) collects none per request.
 *
 * @example
 * const link = linkSignals(request.signal, closing.signal);
 * try { await work(link.signal); } finally { link.dispose(); }
 */
export function linkSignals(...inputs: AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const listeners: Array<[AbortSignal, () => void]> = [];
  const dispose = () => {
    for (const [input, listener] of listeners) input.removeEventListener('abort', listener);
    listeners.length = 0;
  };
  for (const input of inputs) {
    if (input.aborted) {
      dispose();
      controller.abort(input.reason);
      break;
    }
    const listener = () => {
      dispose();
      controller.abort(input.reason);
    };
    input.addEventListener('abort', listener, { once: true });
    listeners.push([input, listener]);
  }
  return { signal: controller.signal, dispose };
}

/**
 * Makes `controller` abort, with the same reason, when `signal` does: a controller you own
 * follows another signal with no extra controller (`linkSignals` makes one, which a
 * per-request path pays for). Returns the detach, to call once following is over.
 *
 * @example
 * const attempt = new AbortController();
 * const unfollow = followSignal(attempt, request.signal);
 * try { await work(attempt.signal); } finally { unfollow(); }
 */
export function followSignal(controller: AbortController, signal: AbortSignal): () => void {
  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => {};
  }
  const listener = () => controller.abort(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
