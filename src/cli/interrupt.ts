/**
 * Ctrl-C while an answer streams: the first one aborts the request (the HTTP request is
 * cancelled, local generation stops) and lets the command finish cleanly with what arrived;
 * a second one leaves at once.
 * @module
 */
import { abortError } from '../abort.js';
import { ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';

export interface Interrupt {
  readonly signal: AbortSignal;
  readonly interrupted: boolean;
  /** Acts as if Ctrl-C arrived (the chat reads Ctrl-C as a key while an answer streams). */
  trigger(): void;
  /** Stops listening (restores Node's default Ctrl-C behaviour). */
  dispose(): void;
}

/**
 * @example
 * const interrupt = listenForInterrupt(io);
 * try { await work(interrupt.signal); } finally { interrupt.dispose(); }
 */
export function listenForInterrupt(io: CliIO): Interrupt {
  const controller = new AbortController();
  let count = 0;
  const onInterrupt = () => {
    count++;
    if (count > 1) {
      io.exit(ExitCode.INTERRUPTED);
      return;
    }
    controller.abort(abortError(AbortSignal.abort('Ctrl-C'), 'Interrupted (Ctrl-C)'));
  };
  const off = io.onSignal('SIGINT', onInterrupt);
  return {
    signal: controller.signal,
    trigger: onInterrupt,
    get interrupted() {
      return count > 0;
    },
    dispose: off,
  };
}
