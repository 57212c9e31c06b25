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
  for (let i = 0; i < 6; i++) {
    await delay(15);
    dog.event(performance.now());
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
  const tick = setInterval(() => a.dog.event(performance.now()), 5);
  await delay(90);
  clearInterval(tick);
  assert.deepEqual(
    a.fired.map((f) => f.phase),
    ['first-token'],
  );

  const b = watch({ firstTokenMs: 40 });
  b.dog.body(performance.now());
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
