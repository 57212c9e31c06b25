import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { handOver } from './hand-over.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('hands the value over once, then refuses', () => {
  const body = { messages: [] };
  const take = handOver(body);
  assert.equal(take(), body);
  assert.throws(take, /already handed over/);
});

test('holds an undefined value as a value (it can be handed over once too)', () => {
  const take = handOver<string | undefined>(undefined);
  assert.equal(take(), undefined);
  assert.throws(take, /already handed over/);
});

test('lets go of the value once handed over: the hand-over alone does not keep it alive', async () => {
  const take = handOver({ conversation: 'x'.repeat(1000) });
  const ref = new WeakRef(take());
  // The next turn: a WeakRef keeps its target until the end of the job that made it.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  assert.equal(ref.deref(), undefined);
  // (The hand-over itself is still alive here.)
  assert.throws(take, /already handed over/);
});
