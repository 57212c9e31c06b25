// Resumable streams across Sluice instances that share a real redis-server (started by the
// test, test/support/redis.ts): a reader drops mid-stream on instance A and resumes on B
// with Last-Event-ID, getting exactly the rest (embedded model, same seed: the same text as
// an uninterrupted run, chat and completions, n=2); a stop sent to B stops the generation
// on A; Redis killed and restarted mid-stream; unknown, expired, foreign and malformed
// requests get clear 4xx answers; the in-memory log does the same on one instance.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Backend } from '../../src/backend.js';
import { createLocalBackend, type LocalBackend } from '../../src/backends/local/index.js';
import { createScriptedBackend, textScript } from '../../src/backends/scripted/index.js';
import type { StreamLog } from '../../src/streams/log.js';
import { createMemoryStreamLog } from '../../src/streams/memory.js';
import { createRedisStreamLog } from '../../src/streams/redis.js';
import type { AnyChunk, ApiKind } from '../../src/types.js';
import { type PrivateRedis, startRedis } from '../support/redis.js';
import { allFrames, azureUrl, frameReader, metrics, post, start } from '../support/server.js';

interface Event {
  id?: number;
  data: string;
}

/** An SSE frame as `{ id, data }` (comments: undefined). */
function eventOf(frame: string): Event | undefined {
  let id: number | undefined;
  let data: string | undefined;
  for (const line of frame.split('\n')) {
    if (line.startsWith('id: ')) id = Number(line.slice(4));
    else if (line.startsWith('data: ')) data = line.slice(6);
  }
  if (data === undefined) return undefined;
  return id === undefined ? { data } : { id, data };
}

function eventsOf(frames: string[]): Event[] {
  return frames.map(eventOf).filter((e): e is Event => e !== undefined);
}

/** Text per choice index from data events (chat deltas or completion text). */
function textsOf(events: Event[]): string[] {
  const texts: string[] = [];
  for (const e of events) {
    if (e.data === '[DONE]' || e.data.startsWith('{"error"')) continue;
    const chunk = JSON.parse(e.data) as AnyChunk;
    for (const choice of chunk.choices as Array<{
      index: number;
      delta?: { content?: string | null };
      text?: string;
    }>) {
      const piece = choice.delta ? (choice.delta.content ?? '') : (choice.text ?? '');
      texts[choice.index] = (texts[choice.index] ?? '') + piece;
    }
  }
  return texts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function resume(base: string, id: string, headers: Record<string, string> = {}) {
  return fetch(`${base}/sluice/v1/streams/${id}`, { headers });
}

let redis: PrivateRedis;
const logs: StreamLog[] = [];
/** A Redis stream log, once connected (a stream opened before that is not logged). */
async function redisLog(options: { retentionMs?: number; leaseMs?: number } = {}): Promise<StreamLog> {
  const log = createRedisStreamLog({ url: redis.url, ...options });
  logs.push(log);
  for (let i = 0; i < 250 && log.degraded; i++) await sleep(20);
  return log;
}

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.all(logs.map((log) => log.close()));
  await redis.stop();
});

describe('resume on another instance (embedded model, real Redis)', () => {
  let local: LocalBackend;
  before(() => {
    local = createLocalBackend({ sequences: 2, queueSize: 4 });
  });
  after(() => local.close());

  for (const kind of ['chat', 'completions'] as ApiKind[]) {
    test(`${kind}, n=2: drop after 5 events on A, resume on B: the same text as an uninterrupted run`, async (t) => {
      const a = await start(t, { backend: local, streams: { log: await redisLog(), keepGoingMs: 5000 } });
      const b = await start(t, { backend: local, streams: { log: await redisLog(), keepGoingMs: 5000 } });
      const body =
        kind === 'chat'
          ? { messages: [{ role: 'user', content: 'Tell a story' }], max_tokens: 40, n: 2, seed: 5, stream: true }
          : { prompt: 'Once upon a time', max_tokens: 40, n: 2, seed: 5, stream: true };

      const whole = await post(azureUrl(a.url, 'd', kind), body);
      assert.equal(whole.status, 200);
      const wholeEvents = eventsOf(await allFrames(whole));
      const expected = textsOf(wholeEvents);
      assert.ok(expected[0] && expected[1], 'both choices have text');
      assert.equal(wholeEvents.at(-1)?.data, '[DONE]');
      assert.deepEqual(
        wholeEvents.map((e) => e.id),
        wholeEvents.map((_, i) => i + 1),
        'every data event carries its position as id:',
      );

      const res = await post(azureUrl(a.url, 'd', kind), body);
      const id = res.headers.get('x-sluice-stream-id');
      assert.match(id ?? '', /^[0-9a-f-]{36}$/);
      const reader = frameReader(res);
      const first: Event[] = [];
      while (first.length < 5) {
        const event = eventOf((await reader.next())!);
        if (event) first.push(event);
      }
      await reader.cancel(); // the connection drops
      const rest = await resume(b.url, id!, { 'last-event-id': String(first.at(-1)!.id) });
      assert.equal(rest.status, 200);
      assert.equal(rest.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const restEvents = eventsOf(await allFrames(rest));
      const joined = [...first, ...restEvents];
      assert.deepEqual(
        joined.map((e) => e.id),
        joined.map((_, i) => i + 1),
        'no gap, no duplicate',
      );
      assert.equal(joined.at(-1)?.data, '[DONE]');
      assert.deepEqual(textsOf(joined), expected);
    });
  }
});

describe('stop, errors and outages (scripted backend, real Redis)', () => {
  const story = 'one two three four five six seven eight nine ten';

  test('a stop sent to B stops the generation on A, logged as a stop (not a disconnect)', async (t) => {
    const backend = createScriptedBackend((request) => textScript(request.kind, story, { gated: true }));
    const a = await start(t, { backend, streams: { log: await redisLog(), keepGoingMs: 5000 } });
    const b = await start(t, { backend, streams: { log: await redisLog(), keepGoingMs: 5000 } });
    const body = { messages: [{ role: 'user', content: 'hi' }], stream: true };
    const res = await post(azureUrl(a.url, 'd', 'chat'), body);
    const id = res.headers.get('x-sluice-stream-id')!;
    const reader = frameReader(res);
    await reader.next();
    await reader.next();
    const stop = await fetch(`${b.url}/sluice/v1/streams/${id}/stop`, { method: 'POST' });
    assert.equal(stop.status, 202);
    const frames: string[] = [];
    for (let f = await reader.next(); f !== undefined; f = await reader.next()) frames.push(f);
    const last = eventOf(frames.at(-1)!);
    assert.match(last!.data, /"code":"stream_stopped"/);
    assert.ok(!frames.some((f) => f.includes('[DONE]')));
    assert.equal(backend.aborts, 1, 'the backend was aborted');
    // A reader arriving later (on B) reads the same end: a stop.
    const again = eventsOf(await allFrames(await resume(b.url, id, { 'last-event-id': String(last!.id! - 1) })));
    assert.deepEqual(again, [last]);
  });

  test('unknown and expired ids: 404; another key: 403; malformed Last-Event-ID or after: 400', async (t) => {
    const backend = createScriptedBackend((request) => textScript(request.kind, 'a b c'));
    const a = await start(t, {
      backend,
      apiKey: 'k1',
      streams: { log: await redisLog({ retentionMs: 300 }), keepGoingMs: 5000 },
    });
    const unknown = await resume(a.url, '00000000-0000-4000-8000-000000000000', { 'api-key': 'k1' });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'stream_not_found');

    const res = await post(
      azureUrl(a.url, 'd', 'chat'),
      { messages: [{ role: 'user', content: 'x' }], stream: true },
      {
        'api-key': 'k1',
      },
    );
    const id = res.headers.get('x-sluice-stream-id')!;
    await allFrames(res);
    const bad = await resume(a.url, id, { 'api-key': 'k1', 'last-event-id': 'abc' });
    assert.equal(bad.status, 400);
    const badBody = (await bad.json()) as { error: { code: string; message: string } };
    assert.equal(badBody.error.code, 'invalid_last_event_id');
    assert.match(badBody.error.message, /Last-Event-ID must be/);
    assert.equal(
      (await fetch(`${a.url}/sluice/v1/streams/${id}?after=-1`, { headers: { 'api-key': 'k1' } })).status,
      400,
    );
    assert.equal((await resume(a.url, id)).status, 401, 'no key at all: the server refuses first');

    // A second key the server accepts is not the one that created the stream.
    const c = await start(t, { backend, apiKey: 'k2', streams: { log: await redisLog(), keepGoingMs: 5000 } });
    const foreign = await resume(c.url, id, { 'api-key': 'k2' });
    assert.equal(foreign.status, 403);
    assert.equal(((await foreign.json()) as { error: { code: string } }).error.code, 'stream_forbidden');

    const ok = await fetch(`${a.url}/sluice/v1/streams/${id}?after=0`, { headers: { 'api-key': 'k1' } });
    assert.equal(ok.status, 200);
    assert.equal(eventsOf(await allFrames(ok)).at(-1)?.data, '[DONE]');
    await sleep(600);
    assert.equal((await resume(a.url, id, { 'api-key': 'k1' })).status, 404, 'expired after the retention');
  });

  test('the producer keeps going after a hang-up, and stops when no reader comes back in time', async (t) => {
    const backend = createScriptedBackend((request) => textScript(request.kind, story, { delayMs: 30 }));
    const a = await start(t, { backend, streams: { log: await redisLog(), keepGoingMs: 150 } });
    const body = { messages: [{ role: 'user', content: 'hi' }], stream: true };
    const res = await post(azureUrl(a.url, 'd', 'chat'), body);
    const id = res.headers.get('x-sluice-stream-id')!;
    await frameReader(res).cancel();
    await sleep(600);
    assert.equal(backend.aborts, 1, 'abandoned once no reader came within the window');
    const events = eventsOf(await allFrames(await resume(a.url, id)));
    assert.match(events.at(-1)!.data, /"code":"stream_abandoned"/);
    assert.ok(events.length > 2, 'it went on after the hang-up');
  });

  test('Redis killed mid-stream and restarted: the stream completes, new ones work, the instance recovers', async (t) => {
    const backend = createScriptedBackend((request) => textScript(request.kind, story, { gated: true }));
    const lines: string[] = [];
    const log = createRedisStreamLog({ url: redis.url, log: (line) => lines.push(line) });
    logs.push(log);
    const a = await start(t, { backend, streams: { log, keepGoingMs: 5000 } });
    const body = { messages: [{ role: 'user', content: 'hi' }], stream: true };
    const res = await post(azureUrl(a.url, 'd', 'chat'), body);
    const reader = frameReader(res);
    await reader.next();
    await redis.kill9();
    backend.open();
    const frames: string[] = [];
    for (let f = await reader.next(); f !== undefined; f = await reader.next()) frames.push(f);
    assert.equal(eventOf(frames.at(-1)!)?.data, '[DONE]', 'the stream in flight completed');
    const during = await post(azureUrl(a.url, 'd', 'chat'), body);
    assert.equal(during.status, 200, 'requests never fail because Redis is down');
    assert.equal(eventsOf(await allFrames(during)).at(-1)?.data, '[DONE]');
    assert.equal((await metrics(a.url)).get('sluice_stream_log_degraded{store="redis"}'), 1);
    assert.equal(lines.length, 1, 'one log line for the outage');
    assert.doesNotMatch(lines[0]!, /redis:\/\//);

    await redis.restart();
    for (let i = 0; i < 100 && log.degraded; i++) await sleep(50);
    assert.equal((await metrics(a.url)).get('sluice_stream_log_degraded{store="redis"}'), 0, 'reconnected by itself');
    const after = await post(azureUrl(a.url, 'd', 'chat'), body);
    const id = after.headers.get('x-sluice-stream-id')!;
    await allFrames(after);
    const again = eventsOf(await allFrames(await resume(a.url, id)));
    assert.equal(again.at(-1)?.data, '[DONE]', 'new streams are resumable again');
  });
});

describe('the in-memory log (one instance, no Redis)', () => {
  test('a reader drops and resumes on the same instance; without streams, a hang-up still aborts at once', async (t) => {
    const backend: Backend = createScriptedBackend((request) =>
      textScript(request.kind, 'alpha beta gamma delta epsilon', { delayMs: 10 }),
    );
    const log = createMemoryStreamLog();
    t.after(() => log.close());
    const a = await start(t, { backend, streams: { log, keepGoingMs: 5000 } });
    const body = { messages: [{ role: 'user', content: 'hi' }], stream: true };
    const expected = textsOf(eventsOf(await allFrames(await post(azureUrl(a.url, 'd', 'chat'), body))));
    const res = await post(azureUrl(a.url, 'd', 'chat'), body);
    const id = res.headers.get('x-sluice-stream-id')!;
    const reader = frameReader(res);
    const first = [eventOf((await reader.next())!)!, eventOf((await reader.next())!)!];
    await reader.cancel();
    const rest = eventsOf(await allFrames(await resume(a.url, id, { 'last-event-id': String(first[1]!.id) })));
    assert.deepEqual(textsOf([...first, ...rest]), expected);

    const plain = createScriptedBackend((request) => textScript(request.kind, 'alpha beta gamma', { gated: true }));
    const p = await start(t, { backend: plain });
    const hung = await post(azureUrl(p.url, 'd', 'chat'), body);
    assert.equal(hung.headers.get('x-sluice-stream-id'), null);
    const r = frameReader(hung);
    await r.next();
    await r.cancel();
    for (let i = 0; i < 50 && plain.aborts === 0; i++) await sleep(20);
    assert.equal(plain.aborts, 1);
    assert.equal((await resume(p.url, '00000000-0000-4000-8000-000000000000')).status, 404);
  });
  test('an id that is not a stream id gets its 404 before anything asks the log', async (t) => {
    const log = createMemoryStreamLog();
    t.after(() => log.close());
    const followed: string[] = [];
    const watched: StreamLog = Object.assign(Object.create(log) as StreamLog, {
      follow: (id: string, after: number, signal: AbortSignal) => {
        followed.push(id);
        return log.follow(id, after, signal);
      },
    });
    const backend = createScriptedBackend((request) => textScript(request.kind, 'a b'));
    const a = await start(t, { backend, streams: { log: watched, keepGoingMs: 5000 } });
    const bad = await resume(a.url, 'sluice-stream-KEYS-*', { 'last-event-id': '1' });
    assert.equal(bad.status, 404);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'stream_not_found');
    assert.deepEqual(followed, []);
    const known = await resume(a.url, '00000000-0000-4000-8000-000000000000');
    assert.equal(known.status, 404);
    assert.deepEqual(followed, ['00000000-0000-4000-8000-000000000000'], 'a well-formed id is read as before');
  });
});

test('a page on another allowed origin may read x-sluice-stream-id and send Last-Event-ID', async (t) => {
  const backend = createScriptedBackend((request) => textScript(request.kind, 'a b'));
  const log = createMemoryStreamLog();
  t.after(() => log.close());
  const a = await start(t, { backend, cors: { origins: ['http://app.test'] }, streams: { log, keepGoingMs: 5000 } });
  const res = await post(
    azureUrl(a.url, 'd', 'chat'),
    { messages: [{ role: 'user', content: 'x' }], stream: true },
    {
      origin: 'http://app.test',
    },
  );
  await res.text();
  assert.ok((res.headers.get('access-control-expose-headers') ?? '').split(/,\s*/).includes('x-sluice-stream-id'));
  const preflight = await fetch(`${a.url}/sluice/v1/streams/x`, {
    method: 'OPTIONS',
    headers: { origin: 'http://app.test', 'access-control-request-method': 'GET' },
  });
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /last-event-id/);
});
