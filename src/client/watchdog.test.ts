/**
 * The watchdog's limits, on a stepped clock: `setTimeout` is mocked and the clock advances
 * only when a test says so, so each case is exact however loaded the machine is.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import type { TimeoutPhase } from '../errors.js';
import { Watchdog } from './watchdog.js';

let time = 0;
const clock = () => time;
/** Moves the clock and fires every timer due by then, 1 ms at a time (as the event loop would). */
function advance(ms: number): void {
  for (let i = 0; i < ms; i++) {
    time += 1;
    mock.timers.tick(1);
  }
}

beforeEach(() => {
  time = 1000;
  mock.timers.enable({ apis: ['setTimeout'] });
});
afterEach(() => mock.timers.reset());

function watch(limits: ConstructorParameters<typeof Watchdog>[0]) {
  const fired: Array<{ phase: TimeoutPhase; limit: number; at: number }> = [];
  const t0 = clock();
  const dog = new Watchdog(limits, (phase, limit) => fired.push({ phase, limit, at: clock() - t0 }), t0, clock);
  return { dog, fired };
}

test('total fires even before the body starts, at its limit', () => {
  const { fired } = watch({ totalMs: 30, idleMs: 5 });
  advance(29);
  assert.equal(fired.length, 0);
  advance(51);
  assert.deepEqual(fired, [{ phase: 'total', limit: 30, at: 30 }]);
});

test('idle is measured from the last event, so steady events keep it quiet', () => {
  const { dog, fired } = watch({ idleMs: 40 });
  dog.body(clock());
  dog.pull(clock());
  for (let i = 0; i < 6; i++) {
    advance(15);
    dog.alive(clock());
  }
  assert.equal(fired.length, 0, 'no time-out while events arrive every 15 ms');
  advance(39);
  assert.equal(fired.length, 0);
  advance(51);
  assert.deepEqual(
    fired.map((f) => [f.phase, f.limit, f.at]),
    [['idle', 40, 90 + 40]],
  );
});

test('first-token fires despite other events, and is disarmed by a token', () => {
  const a = watch({ firstTokenMs: 40, idleMs: 1000 });
  a.dog.body(clock());
  a.dog.pull(clock());
  for (let i = 0; i < 18; i++) {
    advance(5);
    a.dog.alive(clock());
  }
  assert.deepEqual(
    a.fired.map((f) => [f.phase, f.at]),
    [['first-token', 40]],
  );

  const b = watch({ firstTokenMs: 40 });
  b.dog.body(clock());
  b.dog.pull(clock());
  b.dog.token();
  advance(80);
  assert.equal(b.fired.length, 0);
  b.dog.stop();
});

test('stop() silences everything; zero and Infinity mean no limit', () => {
  const a = watch({ totalMs: 20 });
  a.dog.stop();
  const b = watch({ totalMs: 0, idleMs: Number.POSITIVE_INFINITY, firstTokenMs: 0 });
  b.dog.body(clock());
  advance(50);
  assert.equal(a.fired.length + b.fired.length, 0);
});

test('time the consumer spends between chunks is not silence; waiting again restarts the count', () => {
  const { dog, fired } = watch({ idleMs: 30 });
  dog.body(clock());
  dog.pull(clock());
  dog.event(clock()); // a chunk delivered; the consumer now works for a while
  advance(100);
  assert.equal(fired.length, 0, 'no idle time-out while nobody waits');
  dog.pull(clock());
  advance(29);
  assert.equal(fired.length, 0);
  advance(51);
  assert.deepEqual(
    fired.map((f) => [f.phase, f.at]),
    [['idle', 130]],
  );
});

test('first-token counts only the time spent waiting, over several pulls', () => {
  const { dog, fired } = watch({ firstTokenMs: 60 });
  dog.body(clock());
  dog.pull(clock());
  advance(40);
  dog.event(clock()); // the role chunk: no token; 40 ms of the 60 used
  advance(100); // the consumer is busy: not counted
  assert.equal(fired.length, 0);
  dog.pull(clock());
  advance(19);
  assert.equal(fired.length, 0, 'the first 40 ms did not restart, but the busy time did not count');
  advance(41);
  assert.deepEqual(
    fired.map((f) => [f.phase, f.at]),
    [['first-token', 160]],
  );
});
