// Per-key limits (issue 13), store by store: the same rules in memory and in Redis (a real
// redis-server), with an injected clock. Reservations under concurrency never exceed the
// limit by more than one reservation; refusals say when the request would fit; budgets
// renew with their period; two instances sharing a Redis share the limits.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { type Admission, budgetPeriod, createMemoryLimitStore, type LimitStore } from '../../src/gateway/limits.js';
import { createRedisLimitStore } from '../../src/gateway/limits-redis.js';
import { type PrivateRedis, startRedis } from '../support/redis.js';

let redis: PrivateRedis;
const closers: Array<() => Promise<unknown>> = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const close of closers) await close().catch(() => {});
  await redis.stop();
});

async function redisStore(now: () => number): Promise<LimitStore> {
  const client = createClient({ url: redis.url });
  closers.push(() => client.close());
  await client.connect();
  return createRedisLimitStore({ sendCommand: (args) => client.sendCommand(args) }, { now });
}

let keySeq = 0;
const kinds: Array<[string, (now: () => number) => Promise<LimitStore>]> = [
  ['memory', async (now) => createMemoryLimitStore({ now })],
  ['redis', redisStore],
];

for (const [kind, make] of kinds) {
  describe(`limits in ${kind}`, () => {
    test('64 parallel reservations against 10,000 TPM: admitted tokens never exceed the limit plus one reservation', async () => {
      let clock = Date.UTC(2026, 10, 30, 12);
      const store = await make(() => clock);
      const key = `k${++keySeq}`;
      const sizes = Array.from({ length: 64 }, (_, i) => 300 + ((i * 137) % 600));
      const results = await Promise.all(
        sizes.map((tokens, i) => store.admit({ key, limits: { tpm: 10_000 }, tokens, id: `r${i}` })),
      );
      const admitted = results.flatMap((r, i) => (r.ok ? [sizes[i]!] : []));
      const total = admitted.reduce((a, b) => a + b, 0);
      assert.ok(total <= 10_000 + Math.max(...sizes), `admitted ${total}`);
      assert.ok(total > 10_000 - Math.max(...sizes), `admitted only ${total}: the limit is not used up`);
      const refused = results.filter((r): r is Extract<Admission, { ok: false }> => !r.ok);
      assert.ok(refused.length > 0);
      for (const r of refused) {
        assert.equal(r.reason, 'tpm');
        assert.ok('retryAfterMs' in r && r.retryAfterMs > 0 && r.retryAfterMs <= 60_000);
      }
      // A minute later the window is empty again.
      clock += 60_001;
      assert.ok((await store.admit({ key, limits: { tpm: 10_000 }, tokens: 9_000, id: 'later' })).ok);
    });

    test('settling to the exact count frees what was reserved and not used', async () => {
      const clock = Date.UTC(2026, 10, 30, 12);
      const store = await make(() => clock);
      const key = `k${++keySeq}`;
      const first = await store.admit({ key, limits: { tpm: 1000 }, tokens: 900, id: 'a' });
      assert.ok(first.ok);
      const second = await store.admit({ key, limits: { tpm: 1000 }, tokens: 500, id: 'b' });
      assert.equal(second.ok, false);
      await first.lease.settle(300);
      assert.ok((await store.admit({ key, limits: { tpm: 1000 }, tokens: 500, id: 'c' })).ok);
    });

    test('a request larger than the whole limit runs alone, when the window is empty', async () => {
      const store = await make(() => Date.UTC(2026, 10, 30, 12));
      const key = `k${++keySeq}`;
      assert.ok((await store.admit({ key, limits: { tpm: 1000 }, tokens: 5000, id: 'big' })).ok);
      assert.equal((await store.admit({ key, limits: { tpm: 1000 }, tokens: 1, id: 'next' })).ok, false);
    });

    test('rpm: the refusal says when the oldest request leaves the window', async () => {
      let clock = Date.UTC(2026, 10, 30, 12);
      const store = await make(() => clock);
      const key = `k${++keySeq}`;
      for (let i = 0; i < 3; i++) {
        assert.ok((await store.admit({ key, limits: { rpm: 3 }, tokens: 1, id: `r${i}` })).ok);
        clock += 1000;
      }
      const refused = await store.admit({ key, limits: { rpm: 3 }, tokens: 1, id: 'r3' });
      assert.deepEqual(refused, { ok: false, reason: 'rpm', retryAfterMs: 57_000 });
      clock += 57_000;
      assert.ok((await store.admit({ key, limits: { rpm: 3 }, tokens: 1, id: 'r4' })).ok);
    });

    test('concurrent: a slot frees when a stream settles', async () => {
      const store = await make(() => Date.UTC(2026, 10, 30, 12));
      const key = `k${++keySeq}`;
      const a = await store.admit({ key, limits: { concurrent: 2 }, tokens: 1, id: 'a' });
      const b = await store.admit({ key, limits: { concurrent: 2 }, tokens: 1, id: 'b' });
      assert.ok(a.ok && b.ok);
      const c = await store.admit({ key, limits: { concurrent: 2 }, tokens: 1, id: 'c' });
      assert.equal(c.ok, false);
      assert.equal(!c.ok && c.reason, 'concurrent');
      await a.lease.settle(1);
      await a.lease.settle(1); // settling twice frees once
      assert.ok((await store.admit({ key, limits: { concurrent: 2 }, tokens: 1, id: 'd' })).ok);
      assert.equal((await store.admit({ key, limits: { concurrent: 2 }, tokens: 1, id: 'e' })).ok, false);
    });

    test('budget: spent is refused until the period ends, then renews (injected clock)', async () => {
      let clock = Date.UTC(2026, 10, 30, 23, 0);
      const store = await make(() => clock);
      const key = `k${++keySeq}`;
      const limits = { budget: { tokens: 1000, per: 'day' as const } };
      const a = await store.admit({ key, limits, tokens: 800, id: 'a' });
      assert.ok(a.ok);
      await a.lease.settle(1000); // it used more than it reserved: exactly the budget
      const refused = await store.admit({ key, limits, tokens: 10, id: 'b' });
      assert.deepEqual(refused, { ok: false, reason: 'budget', resetsAt: Date.UTC(2026, 11, 1) });
      clock = Date.UTC(2026, 11, 1, 0, 0, 1);
      assert.ok((await store.admit({ key, limits, tokens: 10, id: 'c' })).ok);
    });
  });
}

test('budget periods are UTC days and months', () => {
  assert.deepEqual(budgetPeriod('day', Date.UTC(2026, 11, 31, 23, 59)), {
    id: '2026-12-31',
    endsAt: Date.UTC(2027, 0, 1),
  });
  assert.deepEqual(budgetPeriod('month', Date.UTC(2026, 11, 31, 23, 59)), {
    id: '2026-12',
    endsAt: Date.UTC(2027, 0, 1),
  });
});

test('two instances sharing a Redis share one limit: 64 reservations split between them stay within it', async () => {
  const clock = Date.UTC(2026, 10, 30, 12);
  const [a, b] = [await redisStore(() => clock), await redisStore(() => clock)];
  const key = `shared${++keySeq}`;
  const results = await Promise.all(
    Array.from({ length: 64 }, (_, i) =>
      (i % 2 ? a : b).admit({ key, limits: { tpm: 10_000, concurrent: 40 }, tokens: 700, id: `r${i}` }),
    ),
  );
  const admitted = results.filter((r) => r.ok).length;
  assert.equal(admitted, 14, `14 x 700 = 9,800 fit in 10,000; admitted ${admitted}`);
});
