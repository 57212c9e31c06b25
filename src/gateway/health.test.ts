import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BreakerState, createMemoryHealth } from './health.js';

function clocked(breaker = { failures: 3, windowMs: 1_000, probeAfterMs: 500 }) {
  let now = 10_000;
  const changes: Array<[string, BreakerState]> = [];
  const health = createMemoryHealth({ breaker, now: () => now, onBreaker: (id, s) => changes.push([id, s]) });
  return { health, changes, advance: (ms: number) => (now += ms) };
}

test('a cooldown takes the target out until its time, and not a moment longer', () => {
  const { health, advance } = clocked();
  health.cooldown('a', 300);
  assert.equal(health.available('a'), false);
  assert.equal(health.coolingUntil('a'), 10_300);
  assert.equal(health.available('b'), true);
  advance(299);
  assert.equal(health.available('a'), false);
  advance(1);
  assert.equal(health.available('a'), true);
  assert.equal(health.coolingUntil('a'), undefined);
});

test('a shorter cooldown never cuts a longer one short', () => {
  const { health, advance } = clocked();
  health.cooldown('a', 1_000);
  health.cooldown('a', 10);
  advance(500);
  assert.equal(health.available('a'), false);
});

test('the breaker opens after N failures within the window; failures outside it do not count', () => {
  const { health, changes, advance } = clocked();
  health.failure('a');
  health.failure('a');
  advance(1_001); // the first two fall out of the window
  health.failure('a');
  health.failure('a');
  assert.equal(health.breakerState('a'), 'closed');
  health.failure('a');
  assert.equal(health.breakerState('a'), 'open');
  assert.equal(health.available('a'), false);
  assert.equal(health.probeAt('a'), 11_001 + 500);
  assert.deepEqual(changes, [['a', 'open']]);
});

test('half-open after probe_after_ms lets exactly one probe through; success closes it', () => {
  const { health, changes, advance } = clocked();
  for (let i = 0; i < 3; i++) health.failure('a');
  advance(499);
  assert.equal(health.acquire('a'), false);
  advance(1);
  assert.equal(health.breakerState('a'), 'half-open');
  assert.equal(health.acquire('a'), true, 'the probe');
  assert.equal(health.available('a'), false, 'no second request while the probe is out');
  assert.equal(health.acquire('a'), false);
  health.success('a');
  assert.equal(health.breakerState('a'), 'closed');
  assert.equal(health.acquire('a'), true);
  assert.equal(health.acquire('a'), true);
  assert.deepEqual(
    changes.map(([, s]) => s),
    ['open', 'half-open', 'closed'],
  );
});

test('a failed probe opens the breaker again for another probe_after_ms; a released probe frees the slot', () => {
  const { health, advance } = clocked();
  for (let i = 0; i < 3; i++) health.failure('a');
  advance(500);
  assert.equal(health.acquire('a'), true);
  health.release('a'); // the client left: no verdict
  assert.equal(health.acquire('a'), true, 'another probe may go');
  health.failure('a');
  assert.equal(health.breakerState('a'), 'open');
  advance(499);
  assert.equal(health.available('a'), false);
  advance(1);
  assert.equal(health.available('a'), true);
});
