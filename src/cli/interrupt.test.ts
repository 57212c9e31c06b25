import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenForInterrupt } from './interrupt.js';
import type { CliIO, SignalName } from './io.js';

function fakeIO() {
  const handlers = new Map<SignalName, Set<() => void>>();
  const exits: number[] = [];
  const io = {
    onSignal(signal: SignalName, handler: () => void) {
      const set = handlers.get(signal) ?? new Set();
      handlers.set(signal, set);
      set.add(handler);
      return () => set.delete(handler);
    },
    exit(code: number) {
      exits.push(code);
    },
  } as unknown as CliIO;
  const send = (signal: SignalName) => {
    for (const h of handlers.get(signal) ?? []) h();
  };
  return { io, send, exits, handlers };
}

describe('listenForInterrupt', () => {
  it('the first Ctrl-C aborts the signal; the second exits 130 at once', () => {
    const { io, send, exits } = fakeIO();
    const interrupt = listenForInterrupt(io);
    assert.equal(interrupt.signal.aborted, false);
    send('SIGINT');
    assert.equal(interrupt.signal.aborted, true);
    assert.equal(interrupt.interrupted, true);
    assert.deepEqual(exits, []);
    send('SIGINT');
    assert.deepEqual(exits, [130]);
  });

  it('dispose stops listening', () => {
    const { io, send, handlers } = fakeIO();
    const interrupt = listenForInterrupt(io);
    interrupt.dispose();
    assert.equal(handlers.get('SIGINT')?.size, 0);
    send('SIGINT');
    assert.equal(interrupt.signal.aborted, false);
  });
});
