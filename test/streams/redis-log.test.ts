// The Redis stream log on its own, against a private redis-server: a reader far behind
// catches up page by page and then follows live, with no gap and no duplicate; an orphaned
// stream (its producer's lease lapsed, no end logged) is claimed by exactly one of the
// instances that try at once, and a finished one by none.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { createClient } from 'redis';
import type { FollowItem, StreamLog } from '../../src/streams/log.js';
import { createRedisStreamLog, type RedisStreamLogOptions } from '../../src/streams/redis.js';
import { startRedis } from '../support/redis.js';

async function ready(log: StreamLog): Promise<void> {
  for (let i = 0; i < 100 && log.degraded; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(log.degraded, false, 'connected to Redis');
}

const frame = (n: number) => `data: {"n":${n}}\n\n`;

/** A private Redis, a connected log on it, and two plain clients: one looks at what it wrote. */
async function logAndClients(t: TestContext, options: Partial<RedisStreamLogOptions> = {}) {
  const redis = await startRedis(t);
  const log = createRedisStreamLog({ url: redis.url, ...options });
  const [raw, other] = [createClient({ url: redis.url }), createClient({ url: redis.url })];
  for (const client of [raw, other]) client.on('error', () => {});
  t.after(async () => {
    await log.close();
    await Promise.all([raw.close(), other.close()]);
  });
  await Promise.all([ready(log), raw.connect(), other.connect()]);
  return { log, raw, other, url: redis.url };
}

test('a reader far behind catches up page by page, then follows live to the end: no gap, no duplicate', async (t) => {
  const redis = await startRedis(t);
  const log = createRedisStreamLog({ url: redis.url });
  t.after(() => log.close());
  await ready(log);
  const id = randomUUID();
  log.open(id, { keyHash: 'k' });
  for (let n = 1; n <= 600; n++) log.append(id, n, frame(n));
  await log.hasReader(id, 0); // a round trip: the appends above have landed
  const items: FollowItem[] = [];
  const reading = (async () => {
    for await (const item of log.follow(id, 0, new AbortController().signal)) items.push(item);
  })();
  while (items.length < 600) await new Promise((resolve) => setTimeout(resolve, 10));
  for (let n = 601; n <= 610; n++) log.append(id, n, frame(n), n === 610 ? 'done' : undefined);
  await reading;
  const positions = items.map((item) => ('position' in item ? item.position : -1));
  assert.deepEqual(
    positions,
    Array.from({ length: 610 }, (_, i) => i + 1),
  );
  const last = items.at(-1);
  assert.equal(last && 'position' in last ? last.end : undefined, 'done');
});

test('an orphaned stream is claimed by exactly one instance, with every logged entry; a finished one by none', async (t) => {
  const redis = await startRedis(t);
  const [a, b, c] = [0, 1, 2].map(() => createRedisStreamLog({ url: redis.url, leaseMs: 300 }));
  t.after(() => Promise.all([b!.close(), c!.close()]));
  await Promise.all([a!, b!, c!].map(ready));
  const orphan = randomUUID();
  const finished = randomUUID();
  a!.open(orphan, { keyHash: 'k' });
  a!.open(finished, { keyHash: 'k' });
  for (let n = 1; n <= 3; n++) a!.append(orphan, n, frame(n));
  a!.append(finished, 1, frame(1));
  a!.append(finished, 2, 'data: [DONE]\n\n', 'done');
  await a!.hasReader(orphan, 0);
  assert.equal(await b!.claim(orphan), undefined, 'not while its producer holds the lease');
  await a!.close(); // the producer dies: its lease is no longer renewed
  await new Promise((resolve) => setTimeout(resolve, 400));
  const claims = await Promise.all([b!.claim(orphan), c!.claim(orphan), b!.claim(finished), c!.claim(finished)]);
  const won = claims.slice(0, 2).filter((entries) => entries !== undefined);
  assert.equal(won.length, 1, 'one winner');
  assert.deepEqual(
    won[0]?.map((entry) => [entry.position, entry.frame]),
    [1, 2, 3].map((n) => [n, frame(n)]),
  );
  assert.deepEqual(claims.slice(2), [undefined, undefined], 'a finished stream is not taken over');
});

test('a refused append (its position was taken: another instance took the stream over) stops only that stream', async (t) => {
  const { log, raw } = await logAndClients(t);
  const [taken, other] = [randomUUID(), randomUUID()];
  log.open(taken, { keyHash: 'k' });
  log.open(other, { keyHash: 'k' });
  log.append(taken, 1, frame(1));
  await log.hasReader(taken, 0);
  await raw.sendCommand(['XADD', `sluice:stream:${taken}`, '0-2', 'f', 'data: {"by":"another instance"}\n\n']);
  // One event-loop turn: both go out together; only the first is refused.
  log.append(taken, 2, frame(2));
  log.append(other, 1, frame(1));
  await new Promise((resolve) => setTimeout(resolve, 100));
  log.append(taken, 3, frame(3));
  log.append(other, 2, frame(2));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const frames = async (id: string) =>
    ((await raw.sendCommand(['XRANGE', `sluice:stream:${id}`, '-', '+'])) as [string, string[]][]).map(
      ([position, fields]) => `${position} ${fields[1]}`,
    );
  assert.deepEqual(await frames(taken), [`0-1 ${frame(1)}`, '0-2 data: {"by":"another instance"}\n\n']);
  assert.deepEqual(await frames(other), [`0-1 ${frame(1)}`, `0-2 ${frame(2)}`]);
  assert.match(log.metrics(), /sluice_stream_log_failures_total\{store="redis"\} 1\n/);
});

/** INFO commandstats: calls of `command` so far. */
async function calls(raw: { sendCommand(args: string[]): Promise<unknown> }, command: string): Promise<number> {
  const text = String(await raw.sendCommand(['INFO', 'commandstats']));
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(text)?.[1] ?? 0);
}

/** The positions and ends logged for `id`, once `count` entries are there (or after a second). */
async function logged(raw: { sendCommand(args: string[]): Promise<unknown> }, id: string, count: number) {
  let entries: [string, string[]][] = [];
  for (let i = 0; i < 50 && entries.length < count; i++) {
    entries = (await raw.sendCommand(['XRANGE', `sluice:stream:${id}`, '-', '+'])) as [string, string[]][];
    if (entries.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return entries.map(([position, fields]) => [position, ...fields].join(' '));
}

test('while Redis is busy, frames written meanwhile wait for the write in flight and go out together, in order', async (t) => {
  const { log, raw, other: blocker } = await logAndClients(t, { flushMs: 2 });
  const id = randomUUID();
  log.open(id, { keyHash: 'k' });
  for (let i = 0; i < 50 && String(await raw.sendCommand(['EXISTS', `sluice:stream:${id}:lease`])) !== '1'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const before = await calls(raw, 'evalsha');
  // Redis busy for 200 ms (a script spinning on TIME): the first frame's write waits for it.
  const busy = blocker.sendCommand([
    'EVAL',
    "local s = redis.call('TIME') repeat local t = redis.call('TIME') until (t[1] - s[1]) * 1e6 + t[2] - s[2] > 2e5 return 1",
    '0',
  ]);
  await new Promise((resolve) => setTimeout(resolve, 30));
  for (let n = 1; n <= 10; n++) {
    log.append(id, n, frame(n), n === 10 ? 'done' : undefined);
    await new Promise((resolve) => setTimeout(resolve, 5)); // longer than a batch waits for more
  }
  await busy;
  assert.deepEqual(
    await logged(raw, id, 10),
    Array.from({ length: 10 }, (_, i) => `0-${i + 1} f ${frame(i + 1)}${i === 9 ? ' e done' : ''}`),
  );
  assert.equal((await calls(raw, 'evalsha')) - before, 2, 'frame 1, then frames 2-10 in one write');
});

test('Redis lost the log script (SCRIPT FLUSH, a restart): the next frames still land, with no gap', async (t) => {
  const { log, raw } = await logAndClients(t);
  const id = randomUUID();
  log.open(id, { keyHash: 'k' });
  for (let n = 1; n <= 3; n++) log.append(id, n, frame(n));
  assert.equal((await logged(raw, id, 3)).length, 3);
  await raw.sendCommand(['SCRIPT', 'FLUSH']);
  for (let n = 4; n <= 6; n++) log.append(id, n, frame(n), n === 6 ? 'done' : undefined);
  assert.deepEqual(
    await logged(raw, id, 6),
    Array.from({ length: 6 }, (_, i) => `0-${i + 1} f ${frame(i + 1)}${i === 5 ? ' e done' : ''}`),
  );
  assert.match(log.metrics(), /sluice_stream_log_failures_total\{store="redis"\} 0\n/);
});

test('streams started in separate turns within one batch window cost no script call of their own; a read sends them first', async (t) => {
  const { log, raw } = await logAndClients(t, { flushMs: 60_000 });
  const before = await calls(raw, 'evalsha');
  const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  for (const id of ids) {
    log.open(id, { keyHash: 'k' });
    log.append(id, 1, frame(1));
    await new Promise((resolve) => setImmediate(resolve)); // the next event-loop turn
  }
  // A read on the same instance sends the writes before it, so it sees them.
  assert.deepEqual(await log.info(ids[0]!), { keyHash: 'k' });
  assert.equal((await calls(raw, 'evalsha')) - before, 1, 'four starts, one write');
  assert.equal((await logged(raw, ids[3]!, 1)).length, 1);
});

test('a stream id met on another instance before its start has landed: info waits for it instead of saying unknown', async (t) => {
  const { log, url } = await logAndClients(t, { flushMs: 150 });
  const elsewhere = createRedisStreamLog({ url });
  t.after(() => elsewhere.close());
  await ready(elsewhere);
  const id = randomUUID();
  log.open(id, { keyHash: 'k' });
  assert.deepEqual(await elsewhere.info(id), { keyHash: 'k' });
  assert.equal(await elsewhere.info(randomUUID()), undefined, 'an unknown id is still unknown');
});

test('closing the log never waits on a Redis that stopped answering: writes in flight get a short grace, then are dropped', {
  timeout: 10_000,
}, async (t) => {
  const redis = await startRedis(t);
  const log = createRedisStreamLog({ url: redis.url });
  await ready(log);
  const id = randomUUID();
  log.open(id, { keyHash: 'k' });
  const pid = redis.pid!;
  // Redis stops answering (as a hung or overloaded server would) while the socket stays open:
  // the write sent by close() waits for a reply that does not come. node-redis's own close()
  // waits for it forever.
  process.kill(pid, 'SIGSTOP');
  try {
    log.append(id, 1, frame(1), 'done');
    const outcome = await Promise.race([
      log.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 5000, 'still waiting after 5 s')),
    ]);
    assert.equal(outcome, 'closed');
  } finally {
    process.kill(pid, 'SIGCONT'); // before the stop hook, which a stopped process would not obey
  }
});
