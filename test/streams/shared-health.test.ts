// Gateway health shared through a real redis-server: two instances (routers over the same
// target, each with its own shared store, as two processes would have), a 429 on A cools
// the target for B (B answers 429 without calling the upstream), a breaker opened on A is
// open on B, and a store whose Redis is unreachable still answers synchronously.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { createRouterBackend } from '../../src/gateway/router.js';
import { createSharedHealth, type SharedHealth } from '../../src/gateway/shared-health.js';
import { azureError, chatChunks, reply, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { type PrivateRedis, startRedis } from '../support/redis.js';
import { post, start } from '../support/server.js';

let redis: PrivateRedis;
const stores: SharedHealth[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await redis.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await sleep(20);
  assert.ok(condition(), what);
}

const BODY = { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] };

test('a 429 on instance A cools the target for instance B; a breaker opened on A is open on B', async (t) => {
  const upstream = await startAzureServer({
    scenarios: {
      busy: (_request, n) =>
        n === 0
          ? reply(429, azureError('429', 'Rate limit reached'), { 'retry-after-ms': '60000' })
          : stream(chatChunks(['ok'])),
      broken: reply(500, azureError('InternalServerError', 'boom')),
    },
  });
  t.after(() => upstream.close());
  const instance = async (breakerFailures: number) => {
    const health = createSharedHealth({ url: redis.url, breaker: { failures: breakerFailures }, refreshMs: 200 });
    stores.push(health);
    const target = (deployment: string, index: number) => ({
      id: `gpt-4o/${index}:azure:127.0.0.1:${upstream.port}`,
      backend: createRemoteBackend({ endpoint: upstream.url, apiKey: 'k', deployment, maxRetries: 0 }),
      priority: 1,
      weight: 1,
      timeouts: {},
    });
    const busy = createRouterBackend({ model: 'gpt-4o', targets: [target('busy', 0)], health });
    const broken = createRouterBackend({ model: 'gpt-4o', targets: [target('broken', 1)], health });
    const { url } = await start(t, { deployments: { 'gpt-4o': busy, other: broken } });
    return { url, health };
  };
  const a = await instance(1);
  const b = await instance(1);
  await sleep(200); // both subscribed

  const first = await post(`${a.url}/v1/chat/completions`, BODY);
  assert.equal(first.status, 429);
  await first.text();
  assert.equal(upstream.requests.length, 1);
  const busyId = `gpt-4o/0:azure:127.0.0.1:${upstream.port}`;
  await until(() => b.health.coolingUntil(busyId) !== undefined, 'B sees the cooldown');
  const onB = await post(`${b.url}/v1/chat/completions`, BODY);
  assert.equal(onB.status, 429, 'B does not send to a target A found rate-limited');
  assert.ok(Number(onB.headers.get('retry-after-ms')) > 50_000, 'with the time left');
  await onB.text();
  assert.equal(upstream.requests.length, 1, 'the upstream was not called by B');

  const brokenId = `gpt-4o/1:azure:127.0.0.1:${upstream.port}`;
  const failed = await post(`${a.url}/v1/chat/completions`, { ...BODY, model: 'other' });
  await failed.text();
  assert.equal(a.health.breakerState(brokenId), 'open');
  await until(() => b.health.breakerState(brokenId) === 'open', 'B sees the open breaker');
  const calls = upstream.requests.length;
  await (await post(`${b.url}/v1/chat/completions`, { ...BODY, model: 'other' })).text();
  assert.equal(upstream.requests.length, calls, 'B does not call a target whose breaker A opened');

  // A new instance catches up from the shared hash, not only from later messages.
  const c = createSharedHealth({ url: redis.url, refreshMs: 200 });
  stores.push(c);
  await until(() => c.coolingUntil(busyId) !== undefined && c.breakerState(brokenId) === 'open', 'C catches up');
});

test('Redis unreachable: the shared store answers synchronously from its local copy', async () => {
  const health = createSharedHealth({ url: 'redis://127.0.0.1:1' });
  stores.push(health);
  health.cooldown('x', 10_000);
  assert.equal(health.available('x'), false);
  assert.equal(health.available('y'), true);
});
