import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { TimeoutPhase } from '../errors.js';
import { Watchdog } from './watchdog.js';

function watch(limits: ConstructorParameters<typeof Watchdog>[0]) {
  const fired: Array<{ phase: TimeoutPhase; limit: number; at: number }> = [];
  const t0 = performance.now();
  const dog = new Watchdog(limits, (phase, limit) => fired.push({ phase, limit, at: performance.now() - t0 }), t0);
  return { dog, fired, t0 };
}

test('total fires even before the body starts', async () => {
  const { fired } = watch({ totalMs: 30, idleMs: 5 });
  await delay(80);
  assert.deepEqual(
    fired.map((f) => f.phase),
    ['total'],
  );
  assert.ok(fired[0]!.at >= 28);
});

test('idle is measured from the last event, so steady events keep it quiet', async () => {
  const { dog, fired } = watch({ idleMs: 40 });
  dog.body(performance.now());
  dog.pull(performance.now());
  for (let i = 0; i < 6; i++) {
    await delay(15);
    dog.alive(performance.now());
  }
  assert.equal(fired.length, 0, 'no time-out while events arrive every 15 ms');
  await delay(90);
  assert.deepEqual(
    fired.map((f) => [f.phase, f.limit]),
    [['idle', 40]],
  );
});

test('first-token fires despite other events, and is disarmed by a token', async () => {
  const a = watch({ firstTokenMs: 40, idleMs: 1000 });
  a.dog.body(performance.now());
  a.dog.pull(performance.now());
  const tick = setInterval(() => a.dog.alive(performance.now()), 5);
  await delay(90);
  clearInterval(tick);
  assert.deepEqual(
    a.fired.map((f) => f.phase),
    ['first-token'],
  );

  const b = watch({ firstTokenMs: 40 });
  b.dog.body(performance.now());
  b.dog.pull(performance.now());
  b.dog.token();
  await delay(80);
  assert.equal(b.fired.length, 0);
  b.dog.stop();
});

test('stop() silences everything; zero and Infinity mean no limit', async () => {
  const a = watch({ totalMs: 20 });
  a.dog.stop();
  const b = watch({ totalMs: 0, idleMs: Number.POSITIVE_INFINITY, firstTokenMs: 0 });
  b.dog.body(performance.now());
  await delay(50);
  assert.equal(a.fired.length + b.fired.length, 0);
});

test('time the consumer spends between chunks is not silence; waiting again restarts the count', async () => {
  const { dog, fired } = watch({ idleMs: 30 });
  dog.body(performance.now());
  dog.pull(performance.now());
  dog.event(performance.now()); // a chunk delivered; the consumer now works for a while
  await delay(100);
  assert.equal(fired.length, 0, 'no idle time-out while nobody waits');
  dog.pull(performance.now());
  await delay(80);
  assert.deepEqual(
    fired.map((f) => f.phase),
    ['idle'],
  );
});

test('first-token counts only the time spent waiting, over several pulls', async () => {
  const { dog, fired } = watch({ firstTokenMs: 60 });
  dog.body(performance.now());
  dog.pull(performance.now());
  await delay(40);
  dog.event(performance.now()); // the role chunk: no token; ~40 ms of the 60 used
  await delay(100); // the consumer is busy: not counted
  assert.equal(fired.length, 0);
  dog.pull(performance.now());
  await delay(5);
  assert.equal(fired.length, 0, 'the first 40 ms did not restart, but the busy time did not count');
  await delay(60);
  assert.deepEqual(
    fired.map((f) => f.phase),
    ['first-token'],
  );
});
