import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortError, OverloadedError } from '../../errors.js';
import { SlotPool } from './slot-pool.js';

const never = new AbortController().signal;

/** A clock the test moves by hand. */
function manualClock() {
  let t = 0;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** The retry-after of the OverloadedError that `acquire` rejects with. */
async function refusedAfter(pool: SlotPool): Promise<number> {
  try {
    await pool.acquire(never);
  } catch (error) {
    if (error instanceof OverloadedError) return error.retryAfterMs;
    throw error;
  }
  throw new Error('expected OverloadedError, got a slot');
}

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

  test('after many short requests, a long one in flight still gives a long retry-after', async () => {
    // The bug: 58 ms advised while the one slot stayed busy for 900 ms more, because the
    // average of earlier short holds said nothing about the request holding the slot now.
    const clock = manualClock();
    const pool = new SlotPool({ size: 1, queueSize: 0, now: clock.now });
    for (let i = 0; i < 20; i++) {
      const slot = await pool.acquire(never, 10); // 10 tokens in 10 ms
      clock.advance(10);
      pool.release(slot);
    }
    const long = await pool.acquire(never, 900); // 900 tokens: about 900 ms at the learnt speed
    clock.advance(5);
    const wait = await refusedAfter(pool);
    assert.ok(wait >= 850 && wait <= 950, `retry-after ${wait} ms for a slot that frees in ~895 ms`);
    pool.release(long);
  });

  test('a request that outruns its estimate pushes the estimate out with it', async () => {
    const clock = manualClock();
    const pool = new SlotPool({ size: 1, queueSize: 0, now: clock.now });
    for (let i = 0; i < 20; i++) {
      const slot = await pool.acquire(never, 10);
      clock.advance(10);
      pool.release(slot);
    }
    const slow = await pool.acquire(never, 10); // expected to take 10 ms
    clock.advance(900);
    const wait = await refusedAfter(pool);
    assert.ok(wait >= 450, `retry-after ${wait} ms after the request already ran 900 ms`);
    pool.release(slow);
  });

  test('steady load: a client that comes back after retry-after gets a slot', async () => {
    const clock = manualClock();
    const pool = new SlotPool({ size: 2, queueSize: 2, now: clock.now });
    // Learn the speed: 100 units take 100 ms.
    const warm = await pool.acquire(never, 100);
    clock.advance(100);
    pool.release(warm);

    const a = await pool.acquire(never, 100);
    const b = await pool.acquire(never, 100);
    const c = pool.acquire(never, 100);
    const d = pool.acquire(never, 100);
    clock.advance(40);
    const wait = await refusedAfter(pool);
    // a and b end at 100, c and d take their slots and end at 200: 160 ms from now.
    assert.equal(wait, 160);

    clock.advance(60);
    pool.release(a);
    pool.release(b);
    const [sc, sd] = [await c, await d];
    clock.advance(100);
    pool.release(sc);
    pool.release(sd);
    // Now (retry-after ms after the refusal) a retry is served at once.
    assert.equal(pool.active, 0);
    const retried = await pool.acquire(never, 100);
    assert.equal(pool.active, 1);
    pool.release(retried);
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
