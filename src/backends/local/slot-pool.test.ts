import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortError, OverloadedError } from '../../errors.js';
import { SlotPool } from './slot-pool.js';

const never = new AbortController().signal;

describe('SlotPool', () => {
  test('hands out every slot once, then queues, then refuses', async () => {
    const pool = new SlotPool({ size: 2, queueSize: 1 });
    const a = await pool.acquire(never);
    const b = await pool.acquire(never);
    assert.notEqual(a, b);
    assert.equal(pool.active, 2);
    const queued = pool.acquire(never);
    assert.equal(pool.queued, 1);
    await assert.rejects(pool.acquire(never), (e: unknown) => e instanceof OverloadedError && e.retryAfterMs > 0);
    pool.release(a);
    assert.equal(await queued, a, 'the first in line gets the released slot');
    assert.equal(pool.queued, 0);
    assert.equal(pool.active, 2);
    pool.release(a);
    pool.release(b);
    assert.equal(pool.active, 0);
  });

  test('the queue is first in, first out', async () => {
    const pool = new SlotPool({ size: 1, queueSize: 3 });
    const slot = await pool.acquire(never);
    const order: number[] = [];
    const waits = [1, 2, 3].map((i) =>
      pool.acquire(never).then((s) => {
        order.push(i);
        pool.release(s);
      }),
    );
    pool.release(slot);
    await Promise.all(waits);
    assert.deepEqual(order, [1, 2, 3]);
  });

  test('a queued request whose signal aborts leaves the queue at once', async () => {
    const pool = new SlotPool({ size: 1, queueSize: 1 });
    const slot = await pool.acquire(never);
    const ac = new AbortController();
    const waiting = pool.acquire(ac.signal);
    assert.equal(pool.queued, 1);
    ac.abort('gone');
    await assert.rejects(waiting, (e: unknown) => e instanceof AbortError && e.cause === 'gone');
    assert.equal(pool.queued, 0);
    // Its place is free again: a new request may queue.
    const next = pool.acquire(never);
    pool.release(slot);
    assert.equal(await next, slot);
  });

  test('an already aborted signal is refused without taking a slot', async () => {
    const pool = new SlotPool({ size: 1, queueSize: 0 });
    await assert.rejects(pool.acquire(AbortSignal.abort()), AbortError);
    assert.equal(pool.active, 0);
  });

  test('retryAfterMs grows with the queue and with the time requests hold a slot', async () => {
    const pool = new SlotPool({ size: 1, queueSize: 4 });
    const first = pool.retryAfterMs();
    const slot = await pool.acquire(never);
    const queued = [pool.acquire(never), pool.acquire(never)];
    assert.ok(pool.retryAfterMs() > first, `${pool.retryAfterMs()} > ${first}`);
    // Short holds bring the estimate down from its initial guess.
    pool.release(slot);
    for (const q of queued) pool.release(await q);
    assert.ok(pool.averageHoldMs < 1000);
    assert.ok(pool.retryAfterMs() >= 50, 'never below the floor');
  });

  test('releasing a slot twice is a bug and says so', async () => {
    const pool = new SlotPool({ size: 1, queueSize: 0 });
    const slot = await pool.acquire(never);
    pool.release(slot);
    assert.throws(() => pool.release(slot), /released twice/);
  });

  test('rejectQueued empties the line', async () => {
    const pool = new SlotPool({ size: 1, queueSize: 2 });
    await pool.acquire(never);
    const waits = [pool.acquire(never), pool.acquire(never)];
    pool.rejectQueued(new AbortError('closed'));
    for (const w of waits) await assert.rejects(w, /closed/);
    assert.equal(pool.queued, 0);
  });
});
