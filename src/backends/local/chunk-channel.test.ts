import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkChannel } from './chunk-channel.js';

const never = new AbortController().signal;
const tick = () => new Promise((r) => setImmediate(r));

describe('ChunkChannel', () => {
  test('readAhead 0: the producer waits until each chunk is taken', async () => {
    const ch = new ChunkChannel<number>(0, never);
    let pushed = 0;
    const producer = (async () => {
      for (let i = 0; i < 5; i++) {
        assert.equal(await ch.push(i), true);
        pushed++;
      }
      ch.end();
    })();
    await tick();
    assert.equal(pushed, 0, 'nothing taken yet: the first push is still pending');
    assert.equal(ch.buffered, 1);
    assert.deepEqual(await ch.take(), { done: false, value: 0 });
    await tick();
    assert.equal(pushed, 1);
    const rest: number[] = [];
    for (let r = await ch.take(); !r.done; r = await ch.take()) rest.push(r.value);
    assert.deepEqual(rest, [1, 2, 3, 4]);
    await producer;
  });

  test('readAhead N: a slow reader never lets more than N+1 chunks pile up', async () => {
    const ch = new ChunkChannel<number>(3, never);
    let maxBuffered = 0;
    const producer = (async () => {
      for (let i = 0; i < 100; i++) {
        if (!(await ch.push(i))) return;
        maxBuffered = Math.max(maxBuffered, ch.buffered);
      }
      ch.end();
    })();
    const got: number[] = [];
    for (let r = await ch.take(); !r.done; r = await ch.take()) {
      got.push(r.value);
      await tick();
      await tick();
    }
    await producer;
    assert.equal(got.length, 100);
    assert.ok(maxBuffered <= 4, `max buffered ${maxBuffered}`);
  });

  test('close wakes a waiting producer with false and drops the buffer', async () => {
    const ch = new ChunkChannel<number>(0, never);
    const pending = ch.push(1);
    ch.close();
    assert.equal(await pending, false);
    assert.equal(await ch.push(2), false);
    assert.equal(ch.buffered, 0);
  });

  test('an abort wakes a waiting producer with false', async () => {
    const ac = new AbortController();
    const ch = new ChunkChannel<number>(0, ac.signal);
    const pending = ch.push(1);
    ac.abort();
    assert.equal(await pending, false);
    assert.equal(await ch.push(2), false);
  });

  test('an error arrives after buffered chunks; a discarding error arrives at once', async () => {
    const a = new ChunkChannel<number>(5, never);
    await a.push(1);
    a.fail(new Error('late'));
    assert.deepEqual(await a.take(), { done: false, value: 1 });
    await assert.rejects(a.take(), /late/);

    const b = new ChunkChannel<number>(5, never);
    await b.push(1);
    b.fail(new Error('now'), true);
    await assert.rejects(b.take(), /now/);
  });

  test('a waiting reader is woken by a push, an end and an error', async () => {
    const ch = new ChunkChannel<string>(0, never);
    const first = ch.take();
    void ch.push('x');
    assert.deepEqual(await first, { done: false, value: 'x' });
    const second = ch.take();
    ch.end();
    assert.deepEqual(await second, { done: true, value: undefined });
  });

  test('dispose removes the abort listener', () => {
    const ac = new AbortController();
    let listeners = 0;
    const signal = ac.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--;
      remove(...args);
    }) as typeof remove;
    const ch = new ChunkChannel<number>(0, signal);
    assert.equal(listeners, 1);
    ch.dispose();
    assert.equal(listeners, 0);
  });
});
