import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { abortError, followSignal, linkSignals, sleep, throwIfAborted, untilAborted } from './abort.js';
import { AbortError, TimeoutError } from './errors.js';

describe('abortError', () => {
  test('a SluiceError reason is surfaced as it is', () => {
    const reason = new TimeoutError('idle', 1000);
    assert.equal(abortError(AbortSignal.abort(reason)), reason);
  });
  test('any other reason becomes an AbortError with the reason as cause', () => {
    const error = abortError(AbortSignal.abort('stop pressed'));
    assert.ok(error instanceof AbortError);
    assert.equal(error.code, 'SLUICE_ABORTED');
    assert.equal(error.cause, 'stop pressed');
  });
  test('throwIfAborted throws only for an aborted signal', () => {
    throwIfAborted(undefined);
    throwIfAborted(new AbortController().signal);
    assert.throws(() => throwIfAborted(AbortSignal.abort()), AbortError);
  });
});

describe('untilAborted', () => {
  test('settles like the promise when nothing aborts', async () => {
    assert.equal(await untilAborted(Promise.resolve(7), new AbortController().signal), 7);
    await assert.rejects(untilAborted(Promise.reject(new Error('boom')), new AbortController().signal), /boom/);
  });
  test('rejects at once when the signal aborts while the promise is pending', async () => {
    const controller = new AbortController();
    const pending = untilAborted(new Promise<never>(() => {}), controller.signal);
    controller.abort('bye');
    await assert.rejects(pending, (e: unknown) => e instanceof AbortError && e.cause === 'bye');
  });
  test('an already aborted signal rejects without waiting', async () => {
    await assert.rejects(untilAborted(new Promise<never>(() => {}), AbortSignal.abort()), AbortError);
  });
});

describe('sleep', () => {
  test('waits the given time', async () => {
    const start = performance.now();
    await sleep(20);
    assert.ok(performance.now() - start >= 15);
  });
  test('an abort ends the wait at once with the signal reason', async () => {
    const controller = new AbortController();
    const start = performance.now();
    const waiting = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(new TimeoutError('total', 5)), 5);
    await assert.rejects(waiting, TimeoutError);
    assert.ok(performance.now() - start < 1000);
  });
});

describe('linkSignals', () => {
  test('aborts with the first input reason and detaches from the others', () => {
    const a = new AbortController();
    const b = new AbortController();
    const link = linkSignals(a.signal, b.signal);
    a.abort('first');
    b.abort('second');
    assert.equal(link.signal.aborted, true);
    assert.equal(link.signal.reason, 'first');
  });
  test('an input already aborted aborts the link at once', () => {
    const link = linkSignals(new AbortController().signal, AbortSignal.abort('early'));
    assert.equal(link.signal.reason, 'early');
  });
  test('dispose removes every listener from long-lived inputs', () => {
    const long = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = long.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    for (let i = 0; i < 100; i++) linkSignals(new AbortController().signal, signal).dispose();
    assert.equal(added, 100);
    assert.equal(removed, 100);
    long.abort();
  });
});

describe('followSignal', () => {
  test("the controller aborts with the followed signal's reason, at once when it is already aborted", () => {
    const request = new AbortController();
    const attempt = new AbortController();
    followSignal(attempt, request.signal);
    assert.equal(attempt.signal.aborted, false);
    request.abort(new Error('gone'));
    assert.equal((attempt.signal.reason as Error).message, 'gone');
    const late = new AbortController();
    followSignal(late, request.signal);
    assert.equal((late.signal.reason as Error).message, 'gone');
  });

  test('after the detach, the followed signal aborts nothing and keeps no listener', () => {
    const request = new AbortController();
    const attempt = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = request.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      return add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      return remove(...args);
    }) as typeof remove;
    const unfollow = followSignal(attempt, signal);
    unfollow();
    request.abort();
    assert.equal(attempt.signal.aborted, false);
    assert.deepEqual([added, removed], [1, 1]);
  });
});
