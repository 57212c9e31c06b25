import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ClosableRedisClient, closeRedisClients, redisClientOptions } from './redis-client.js';

/** A client whose `close()` settles when `settle()` is called (or never), recording what was called. */
function fakeClient(isReady: boolean) {
  const calls: string[] = [];
  let settle: () => void = () => {};
  const client: ClosableRedisClient = {
    isReady,
    close() {
      calls.push('close');
      return new Promise<void>((resolve) => {
        settle = resolve;
      });
    },
    destroy() {
      calls.push('destroy');
      settle();
    },
  };
  return { client, calls, settle: () => settle() };
}

test('a client whose pending replies never come is destroyed after the grace, not waited on forever', {
  timeout: 5000,
}, async () => {
  const stuck = fakeClient(true);
  await closeRedisClients([stuck.client], 20);
  assert.deepEqual(stuck.calls, ['close', 'destroy']);
});

test('a client that drains in time is closed, not destroyed', async () => {
  const fine = fakeClient(true);
  const closing = closeRedisClients([fine.client], 10_000);
  fine.settle();
  await closing;
  assert.deepEqual(fine.calls, ['close']);
});

test('a client that is not connected is destroyed at once: it has nothing to drain', async () => {
  const down = fakeClient(false);
  await closeRedisClients([down.client], 10_000);
  assert.deepEqual(down.calls, ['destroy']);
});

test('a close that rejects is still a close: closeRedisClients never rejects', async () => {
  const client: ClosableRedisClient = {
    isReady: true,
    close: () => Promise.reject(new Error('The client is closed')),
    destroy: () => {},
  };
  await closeRedisClients([client], 10_000);
});

test('every client queues nothing while Redis is away and reconnects by itself, 50 ms doubling to 2 s', () => {
  const options = redisClientOptions('redis://127.0.0.1:6379');
  assert.equal(options.url, 'redis://127.0.0.1:6379');
  assert.equal(options.disableOfflineQueue, true);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 20].map(options.socket.reconnectStrategy),
    [50, 100, 200, 400, 800, 1600, 2000, 2000],
  );
});
