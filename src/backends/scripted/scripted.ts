/**
 * A deterministic backend for tests: it plays a script of chunks, delays, gates, failures and
 * hangs, honours the AbortSignal, and records what it was asked and how each request ended.
 * Gates make it the gated backend too: the test decides when a stream moves on, so it can
 * look at a client while the stream is provably still open.
 * @module
 */

import { abortError, sleep, throwIfAborted, untilAborted } from '../../abort.js';
import type { Backend, BackendRequest, ModelInfo } from '../../backend.js';
import type { AnyChunk, ApiKind, ApiTypes } from '../../types.js';

/** One step of a script. */
export type ScriptStep =
  /** Yield this chunk (a fresh copy each time). `ifUsageRequested`: only when the request had `stream_options.include_usage`. */
  | { chunk: AnyChunk; ifUsageRequested?: boolean }
  /** Wait this many (finite) milliseconds; an abort cuts the wait short. */
  | { delay: number }
  /**
   * Wait for the test: each `release()` lets one waiting gate pass (the longest-waiting
   * first, across all requests) or, when none is waiting, the next gate reached; `open()`
   * lets every gate pass from then on. An abort ends the wait.
   */
  | { gate: true }
  /** Throw this error (or the one the function returns) from the iterator. */
  | { error: unknown }
  /** Never continue: wait until the signal aborts. */
  | { hang: true };

/** A fixed script, or one chosen per request (`call` counts from 0). */
export type Script = readonly ScriptStep[] | ((request: BackendRequest, call: number) => readonly ScriptStep[]);

/** How one request ended. `cancelled`: the consumer stopped iterating without aborting. */
export type ScriptedOutcome = 'running' | 'done' | 'error' | 'aborted' | 'cancelled';

export interface ScriptedCall {
  request: BackendRequest;
  outcome: ScriptedOutcome;
  /** Chunks handed to the consumer. */
  chunks: number;
  /** The signal's reason when the outcome is `aborted`. */
  abortReason?: unknown;
}

export interface ScriptedBackendOptions {
  /** Default `scripted`. */
  name?: string;
  /** What `models()` answers; default one model named after the backend. */
  models?: ModelInfo[];
}

export interface ScriptedBackend extends Backend {
  /** Every request received, in order. */
  readonly requests: BackendRequest[];
  /** One record per request, updated live. */
  readonly calls: ScriptedCall[];
  /** Requests that ended because their signal aborted. */
  readonly aborts: number;
  /** The reason of the most recent abort. */
  readonly lastAbortReason: unknown;
  /** Requests still being iterated. */
  readonly active: number;
  /** True once `close()` was called. */
  readonly closed: boolean;
  /** Lets `n` gates pass (default 1): those waiting first, then the next ones reached. */
  release(n?: number): void;
  /** Lets every gate pass, now and from now on. */
  open(): void;
  /** Requests waiting at a gate now. */
  readonly waiting: number;
}

/**
 * Creates a backend that plays `script` for every request.
 *
 * @example
 * ```ts
 * const backend = createScriptedBackend([
 *   ...textScript('chat', 'Hello there', { delayMs: 5 }),
 *   { error: new ServerError('boom', { status: 500 }) },
 * ]);
 * for await (const chunk of backend.stream({ kind: 'chat', body }, signal)) console.log(chunk);
 * backend.calls[0]?.outcome; // 'error'
 * ```
 */
export function createScriptedBackend(script: Script, options: ScriptedBackendOptions = {}): ScriptedBackend {
  const name = options.name ?? 'scripted';
  const requests: BackendRequest[] = [];
  const calls: ScriptedCall[] = [];
  let aborts = 0;
  let lastAbortReason: unknown;
  let active = 0;
  let closed = false;
  let passes = 0;
  let opened = false;
  const parked: Array<() => void> = [];

  async function passGate(signal: AbortSignal): Promise<void> {
    if (opened) return;
    if (passes > 0) {
      passes--;
      return;
    }
    let pass!: () => void;
    const released = new Promise<void>((resolve) => {
      pass = resolve;
    });
    parked.push(pass);
    try {
      await untilAborted(released, signal);
    } finally {
      // Aborted: leave the line, so a later release() goes to a gate that is still waiting.
      const at = parked.indexOf(pass);
      if (at !== -1) parked.splice(at, 1);
      pass();
    }
  }

  async function* play(request: BackendRequest, signal: AbortSignal): AsyncGenerator<AnyChunk> {
    const call: ScriptedCall = { request, outcome: 'running', chunks: 0 };
    const steps = typeof script === 'function' ? script(request, requests.length) : script;
    requests.push(request);
    calls.push(call);
    active++;
    const wantsUsage = request.body.stream_options?.include_usage === true;
    try {
      for (const step of steps) {
        throwIfAborted(signal);
        if ('chunk' in step) {
          if (step.ifUsageRequested && !wantsUsage) continue;
          call.chunks++;
          yield structuredClone(step.chunk);
        } else if ('delay' in step) {
          await sleep(step.delay, signal);
        } else if ('gate' in step) {
          await passGate(signal);
        } else if ('error' in step) {
          throw typeof step.error === 'function' ? step.error() : step.error;
        } else {
          await untilAborted(new Promise<never>(() => {}), signal);
        }
      }
      throwIfAborted(signal);
      call.outcome = 'done';
    } catch (error) {
      if (signal.aborted) {
        call.outcome = 'aborted';
        call.abortReason = signal.reason;
        aborts++;
        lastAbortReason = signal.reason;
        throw abortError(signal);
      }
      call.outcome = 'error';
      throw error;
    } finally {
      // Reached with outcome still 'running' only when the consumer called return().
      if (call.outcome === 'running') call.outcome = 'cancelled';
      active--;
    }
  }

  return {
    name,
    stream<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): AsyncIterable<ApiTypes[K]['chunk']> {
      // The script's chunks are the caller's business: it asked for this kind.
      return play(request as BackendRequest, signal) as AsyncIterable<ApiTypes[K]['chunk']>;
    },
    async models() {
      return options.models ?? [{ id: name, object: 'model', created: 0, owned_by: 'sluice' }];
    },
    async close() {
      closed = true;
    },
    requests,
    calls,
    get aborts() {
      return aborts;
    },
    get lastAbortReason() {
      return lastAbortReason;
    },
    get active() {
      return active;
    },
    get closed() {
      return closed;
    },
    release(n = 1) {
      for (let i = 0; i < n; i++) {
        const next = parked.shift();
        if (next) next();
        else passes++;
      }
    },
    open() {
      opened = true;
      for (const pass of parked.splice(0)) pass();
    },
    get waiting() {
      return parked.length;
    },
  };
}
