// Keys, limits and usage through the server (issue 13): 64 parallel streams against a
// 10,000 TPM key, Azure's 429 with retry-after-ms, the usage the gateway asks for and hides,
// the ledger after completed and abandoned streams of the embedded model (checked against
// the model's own count), 401/403 on the usage endpoint and budgets, and no key in any log
// line, metric or ledger row.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { after, before, describe, test } from 'node:test';
import type { Backend } from '../../src/backend.js';
import { createLocalBackend, type LocalBackend } from '../../src/backends/local/index.js';
import { createScriptedBackend, textScript } from '../../src/backends/scripted/index.js';
import { ServerError } from '../../src/errors.js';
import { openKeyAccess } from '../../src/gateway/key-access.js';
import { type ClientKeyConfig, hashKey } from '../../src/gateway/keys.js';
import type { UsageRow } from '../../src/gateway/ledger.js';
import { defaultTokenCounter, promptTokens } from '../../src/gateway/tokens.js';
import type { GenerationObserver } from '../../src/server/observer.js';
import { createMemoryStreamLog } from '../../src/streams/memory.js';
import type { AnyChunk } from '../../src/types.js';
import { type PrivateRedis, startRedis } from '../support/redis.js';
import { allFrames, azureUrl, dataOf, frameReader, post, start } from '../support/server.js';

const SECRET = 'sk-sluice-TEAM-A-SECRET-0123456789abcdefghij';
const ADMIN = 'sk-sluice-OPS-SECRET-abcdefghij0123456789';
const ASK = { messages: [{ role: 'user', content: 'Tell me a story about a cat' }], stream: true };

function keys(limits: ClientKeyConfig['limits'] = {}, extra: Partial<ClientKeyConfig> = {}): ClientKeyConfig[] {
  return [
    { name: 'team-a', keyHash: hashKey(SECRET), admin: false, limits, ...extra },
    { name: 'ops', keyHash: hashKey(ADMIN), admin: true, limits: {} },
  ];
}

async function keyed(
  t: TestContext,
  backend: Backend,
  keyList: ClientKeyConfig[],
  options: {
    redisUrl?: string;
    observer?: GenerationObserver;
    countTokensFor?: (m: string) => (s: string) => Promise<number>;
    now?: () => number;
  } = {},
) {
  const access = await openKeyAccess({
    keys: keyList,
    prices: { story: { input: 1, output: 2 } },
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.countTokensFor ? { countTokensFor: options.countTokensFor } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  t.after(() => access.close());
  const lines: string[] = [];
  const started = await start(t, {
    deployments: { story: backend },
    access: access.access,
    log: (line) => lines.push(line),
    logFormat: 'json',
    ...(options.observer ? { observer: options.observer } : {}),
  });
  return { ...started, lines };
}

async function usage(url: string, key = ADMIN): Promise<UsageRow[]> {
  const res = await fetch(`${url}/sluice/v1/usage`, { headers: { 'api-key': key } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: UsageRow[] }).data;
}

/** Waits until the ledger has `n` requests (booking follows the response's end). */
async function usageAfter(url: string, n: number): Promise<UsageRow[]> {
  for (let i = 0; i < 200; i++) {
    const rows = await usage(url);
    if (rows.reduce((a, r) => a + r.requests, 0) >= n) return rows;
    await new Promise((r) => setTimeout(r, 10));
  }
  return assert.fail('the ledger never booked the requests');
}

async function reservationOf(body: Record<string, unknown>, maxTokens: number) {
  return (await promptTokens('chat', body, await defaultTokenCounter())) + maxTokens;
}

/** 64 parallel streams, held at a gate until every answer's status is known. */
async function burst(urls: string[], backends: ReturnType<typeof createScriptedBackend>[]) {
  const body = { ...ASK, max_tokens: 600 };
  const responses = await Promise.all(
    Array.from({ length: 64 }, (_, i) =>
      post(azureUrl(urls[i % urls.length]!, 'story', 'chat'), body, { 'api-key': SECRET }),
    ),
  );
  for (const b of backends) b.open();
  await Promise.all(responses.map((r) => r.text()));
  return { responses, reservation: await reservationOf(body, 600) };
}

describe('keys through the server', () => {
  test('64 parallel streams against a 10,000 TPM key: admitted reservations stay within the limit plus one; the rest get Azure 429s with retry-after-ms', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'Once upon a time there was a cat', { gated: true }));
    const { url } = await keyed(t, backend, keys({ tpm: 10_000 }));
    const { responses, reservation } = await burst([url], [backend]);
    const admitted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    assert.equal(admitted.length + refused.length, 64);
    assert.ok(admitted.length * reservation <= 10_000 + reservation, `${admitted.length} x ${reservation}`);
    assert.ok(admitted.length * reservation > 10_000 - reservation, 'the limit is used, not wasted');
    for (const r of refused) {
      const ms = Number(r.headers.get('retry-after-ms'));
      assert.ok(ms > 0 && ms <= 60_000, `retry-after-ms ${ms}`);
      assert.equal(r.headers.get('retry-after'), String(Math.ceil(ms / 1000)));
    }
    // The streams settled to what they used; a request reserving almost the whole minute does not fit.
    const body = (await post(azureUrl(url, 'story', 'chat'), { ...ASK, max_tokens: 9_950 }, { 'api-key': SECRET }).then(
      (r) => r.json(),
    )) as {
      error: { code: string; message: string };
    };
    assert.equal(body.error.code, '429');
    assert.match(body.error.message, /token rate limit of the key "team-a" \(10000 tokens per minute/);
    assert.match(body.error.message, /Please retry after \d+ seconds?\./);
  });

  test('the gateway asks for usage and hides it from a client that did not; a client that asked gets it', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'One two three four', { promptTokens: 7 }));
    const { url } = await keyed(t, backend, keys());
    const plain = dataOf(await allFrames(await post(azureUrl(url, 'story', 'chat'), ASK, { 'api-key': SECRET })));
    assert.equal(backend.requests[0]?.body.stream_options?.include_usage, true, 'usage asked upstream');
    assert.ok(plain.done);
    assert.ok(
      plain.chunks.every((c) => !('usage' in c)),
      'no usage chunk, no usage: null',
    );
    const asked = dataOf(
      await allFrames(
        await post(
          azureUrl(url, 'story', 'chat'),
          { ...ASK, stream_options: { include_usage: true } },
          { 'api-key': SECRET },
        ),
      ),
    );
    assert.equal(asked.chunks.at(-1)?.usage?.completion_tokens, 4);
    // An api-version without stream_options: nothing asked upstream, the text is counted.
    await allFrames(await post(azureUrl(url, 'story', 'chat', '2024-06-01'), ASK, { 'api-key': SECRET }));
    assert.equal(backend.requests[2]?.body.stream_options, undefined);
    const rows = await usageAfter(url, 3);
    const row = rows.find((r) => r.key === 'team-a')!;
    assert.deepEqual(
      { requests: row.requests, promptReported: row.promptReported, completionReported: row.completionReported },
      { requests: 3, promptReported: 14, completionReported: 8 },
    );
    const count = await defaultTokenCounter();
    assert.equal(row.completionCounted, count('One two three four'));
    assert.ok(row.promptCounted > 0);
  });

  test('a stream cut by an upstream fault is booked as cut, with the tokens relayed, and its reservation settled', async (t) => {
    const backend = createScriptedBackend((_request, call) =>
      call === 0
        ? [...textScript('chat', 'One two three', {}).slice(0, 4), { error: new ServerError('boom', { status: 500 }) }]
        : textScript('chat', 'fine', {}),
    );
    const { url } = await keyed(t, backend, keys({ tpm: 3_000 }));
    const cut = dataOf(
      await allFrames(await post(azureUrl(url, 'story', 'chat'), { ...ASK, max_tokens: 2_500 }, { 'api-key': SECRET })),
    );
    assert.equal(cut.done, false, 'an error frame, no [DONE]');
    const rows = await usageAfter(url, 1);
    const row = rows.find((r) => r.key === 'team-a')!;
    assert.equal(row.cut, 1);
    const count = await defaultTokenCounter();
    assert.equal(row.completionCounted, count('One two three'));
    // Settled to what it used: a second request reserving 2,500 fits in the 3,000 again.
    const next = await post(azureUrl(url, 'story', 'chat'), { ...ASK, max_tokens: 2_500 }, { 'api-key': SECRET });
    assert.equal(next.status, 200);
    await next.text();
  });

  test('the Responses API is held to the same limits and booked in the ledger', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'One two', { promptTokens: 5 }));
    const { url } = await keyed(t, backend, keys({ rpm: 1 }));
    const ask = () =>
      fetch(`${url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify({ model: 'story', input: 'Tell me a story', store: false }),
      });
    const first = await ask();
    assert.equal(first.status, 200, await first.clone().text());
    await first.text();
    const second = await ask();
    assert.equal(second.status, 429);
    assert.ok(Number(second.headers.get('retry-after-ms')) > 0);
    const rows = await usageAfter(url, 1);
    assert.equal(rows[0]?.key, 'team-a');
    assert.equal(rows[0]?.requests, 1);
  });

  test('a stream stopped by a stop request (resumable streams) is booked as stopped, with the tokens relayed', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'One two three four five', { gated: true }));
    const access = await openKeyAccess({ keys: keys({ tpm: 100_000 }) });
    t.after(() => access.close());
    const { url } = await start(t, {
      deployments: { story: backend },
      access: access.access,
      streams: { log: createMemoryStreamLog(), keepGoingMs: 1000 },
    });
    const res = await post(azureUrl(url, 'story', 'chat'), ASK, { 'api-key': SECRET });
    const id = res.headers.get('x-sluice-stream-id');
    assert.ok(id);
    backend.release(2);
    const reader = frameReader(res);
    let texts = 0;
    while (texts < 2) if (/"content":"[^"]/.test((await reader.next()) ?? '')) texts++;
    const stop = await fetch(`${url}/sluice/v1/streams/${id}/stop`, { method: 'POST', headers: { 'api-key': SECRET } });
    assert.equal(stop.status, 202);
    while ((await reader.next()) !== undefined) {}
    const rows = await usage(url).then(async (r) => (r.length ? r : usageAfter(url, 1)));
    const row = rows.find((r) => r.key === 'team-a')!;
    assert.equal(row.stopped, 1);
    assert.equal(row.cut, 0);
    assert.equal(row.completionCounted, (await defaultTokenCounter())('One two three'));
  });

  test('usage: 401 without a key, 403 for a key that is not an admin; model and budget refusals are 403s', async (t) => {
    let clock = Date.UTC(2026, 10, 30, 23);
    const backend = createScriptedBackend(textScript('chat', 'a b c', { promptTokens: 60 }));
    const { url } = await keyed(t, backend, keys({ budget: { tokens: 50, per: 'day' } }, { models: ['story'] }), {
      now: () => clock,
    });
    assert.equal((await fetch(`${url}/sluice/v1/usage`)).status, 401);
    const notAdmin = await fetch(`${url}/sluice/v1/usage`, { headers: { 'api-key': SECRET } });
    assert.equal(notAdmin.status, 403);
    assert.match(((await notAdmin.json()) as { error: { message: string } }).error.message, /admin: true/);
    // The first request fits; it used 63 tokens, so the budget of 50 is spent.
    assert.equal(
      (await post(azureUrl(url, 'story', 'chat'), { ...ASK, max_tokens: 100 }, { 'api-key': SECRET })).status,
      200,
    );
    await usageAfter(url, 1);
    const spent = await post(azureUrl(url, 'story', 'chat'), ASK, { 'api-key': SECRET });
    assert.equal(spent.status, 403);
    const error = ((await spent.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'BudgetExceeded');
    assert.match(error.message, /budget of 50 tokens this day \(UTC\); it renews at 2026-12-01T00:00:00.000Z/);
    clock = Date.UTC(2026, 11, 1, 0, 1);
    assert.equal((await post(azureUrl(url, 'story', 'chat'), ASK, { 'api-key': SECRET })).status, 200, 'a new day');
  });

  test('no key ever appears in log lines, metrics or the ledger; the key name does', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'hello there', {}));
    const { url, lines } = await keyed(t, backend, keys({ tpm: 100_000 }));
    await allFrames(await post(azureUrl(url, 'story', 'chat'), ASK, { authorization: `Bearer ${SECRET}` }));
    await post(azureUrl(url, 'story', 'chat'), ASK, { 'api-key': `${SECRET}-wrong` }).then((r) => r.text());
    const rows = await usageAfter(url, 1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const outputs = [lines.join('\n'), metrics, JSON.stringify(rows)];
    for (const text of outputs) {
      for (const secret of [SECRET, ADMIN, hashKey(SECRET).slice(7), SECRET.slice(10, 30)]) {
        assert.ok(!text.includes(secret), 'a key (or its hash) was written out');
      }
    }
    assert.ok(lines.some((l) => JSON.parse(l).key === 'team-a' && JSON.parse(l).status === 200));
    assert.match(metrics, /sluice_key_requests_total\{key="team-a"\} 1/);
    assert.match(metrics, /sluice_key_tokens_total\{key="team-a",kind="completion"\} 2/);
  });
});

describe('keys with the embedded model', () => {
  let local: LocalBackend;
  before(async () => {
    local = createLocalBackend({ sequences: 1, queueSize: 4 });
    await local.load();
  });
  after(() => local.close());

  test('a completed stream is booked as the model reported it; an abandoned one as the tokens it generated', async (t) => {
    const relayed: string[] = [];
    const observer: GenerationObserver = {
      observe: (_start, run) =>
        run({
          chunk: (c: AnyChunk) => {
            for (const choice of c.choices)
              relayed.push((choice as { delta?: { content?: string } }).delta?.content ?? '');
          },
          end: () => {},
        }),
    };
    const { url } = await keyed(t, local, keys({ tpm: 100_000 }), {
      observer,
      countTokensFor: () => (text) => local.countTokens(text),
    });
    const ask = { ...ASK, seed: 3, max_tokens: 20 };
    const whole = dataOf(await allFrames(await post(azureUrl(url, 'story', 'chat'), ask, { 'api-key': SECRET })));
    assert.ok(whole.chunks.every((c) => !('usage' in c)));
    let rows = await usageAfter(url, 1);
    assert.equal(rows[0]?.completionReported, 20, "the model's own count of a 20-token answer");

    // Abandoned after some text: the generated tokens are on the books, counted by the model's tokenizer.
    relayed.length = 0;
    const generatedBefore = local.stats().tokensGenerated;
    const controller = new AbortController();
    const res = await post(
      azureUrl(url, 'story', 'chat'),
      { ...ASK, seed: 5, max_tokens: 300 },
      { 'api-key': SECRET },
      controller.signal,
    );
    const reader = frameReader(res);
    let texts = 0;
    while (texts < 8) {
      const frame = await reader.next();
      assert.ok(frame !== undefined);
      if (/"content":"[^"]/.test(frame)) texts++;
    }
    controller.abort();
    rows = await usageAfter(url, 2);
    const generated = local.stats().tokensGenerated - generatedBefore;
    const row = rows.find((r) => r.key === 'team-a')!;
    assert.equal(row.stopped, 1);
    assert.ok(generated >= 8 && generated < 300, `generated ${generated}`);
    assert.equal(row.completionCounted, await local.countTokens(relayed.join('')), 'the relayed text, by the model');
    assert.ok(
      Math.abs(row.completionCounted - generated) <= 2,
      `booked ${row.completionCounted}, generated ${generated}`,
    );
  });
});

describe('keys across two instances sharing Redis', () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  test('64 streams split between two instances stay within one 10,000 TPM limit; either instance shows both in the ledger', async (t) => {
    const a = createScriptedBackend(textScript('chat', 'Once upon a time', { gated: true }));
    const b = createScriptedBackend(textScript('chat', 'Once upon a time', { gated: true }));
    const one = await keyed(t, a, keys({ tpm: 10_000 }), { redisUrl: redis.url });
    const two = await keyed(t, b, keys({ tpm: 10_000 }), { redisUrl: redis.url });
    const { responses, reservation } = await burst([one.url, two.url], [a, b]);
    const admitted = responses.filter((r) => r.status === 200).length;
    assert.equal(admitted, Math.floor(10_000 / reservation), `${admitted} x ${reservation}`);
    assert.ok(a.requests.length > 0 && b.requests.length > 0, 'both instances served');
    const rows = await usageAfter(two.url, admitted);
    assert.equal(
      rows.reduce((n, r) => n + r.requests, 0),
      admitted,
    );
  });

  test('Redis down: requests go through unmetered (never failed), one log line says so; back: limits hold again', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'hi', {}));
    const logged: string[] = [];
    const access = await openKeyAccess({ keys: keys({ rpm: 1 }), redisUrl: redis.url, log: (l) => logged.push(l) });
    t.after(() => access.close());
    const { url } = await start(t, { deployments: { story: backend }, access: access.access });
    const ask = () =>
      post(azureUrl(url, 'story', 'chat'), ASK, { 'api-key': SECRET }).then(async (r) => {
        await r.text();
        return r.status;
      });
    await redis.kill9();
    assert.deepEqual([await ask(), await ask(), await ask()], [200, 200, 200]);
    assert.ok(logged.some((l) => /Redis is unavailable/.test(l)));
    assert.ok(
      logged.every((l) => !l.includes(redis.url)),
      'the URL is not logged',
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /sluice_key_unmetered_total\{key="team-a"\} 3/);
    await redis.restart();
    for (let i = 0; i < 100 && !logged.some((l) => /Redis is back/.test(l)); i++)
      await new Promise((r) => setTimeout(r, 50));
    const statuses = [await ask(), await ask()];
    assert.deepEqual(statuses, [200, 429], 'one request per minute again');
  });
});
