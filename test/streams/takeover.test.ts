// Stream takeover: real `sluice serve` processes sharing a private redis-server. The instance
// producing a stream of a `continue_on_failure` model is killed with SIGKILL mid-answer; a
// reader resuming on another instance gets one whole answer: the frames logged before the
// crash, then the continuation that instance asked the upstream for (the logged partial as
// an assistant prefix), re-spelled under the first answer's id, positions consecutive, one
// [DONE]. Only one instance takes over, however many readers come back at once; an answer
// that cannot be continued (its target fails) ends with the explicit incomplete frame, as a
// model without continue_on_failure does (crash.test.ts). Run `npm run -s build` first.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the configuration file's own syntax
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLocalBackend } from '../../src/backends/local/index.js';
import {
  type AzureServer,
  chatChunks,
  completionChunks,
  reply,
  type StreamItem,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, type Running, startServe, tempDir } from '../support/cli.js';
import { type PrivateRedis, startRedis, streamLogReady } from '../support/redis.js';
import { frameReader } from '../support/server.js';

const UPSTREAM_KEY = 'upstream-secret-key-0123456789';
const WORDS = Array.from({ length: 100 }, (_, i) => `w${i} `);
/** The first answer: 100 words, one every 40 ms, so that the crash comes mid-answer. */
const SLOW: StreamItem[] = chatChunks(WORDS).flatMap((item) => [{ delay: 40 }, item]);
/** What the upstream answers a continuation with: its own id, which must not show. */
const REST = ['and ', 'so ', 'on.'];
const CONTINUED = stream(chatChunks(REST, { id: 'chatcmpl-continuation', created: 1_800_000_000 }));
const X_WORDS = Array.from({ length: 50 }, (_, i) => `x${i} `);
const DOWN = reply(500, { error: { code: 'InternalServerError', message: 'down' } });

let upstream: AzureServer;
let redis: PrivateRedis;
let cwd: string;
const running: Running[] = [];

before(async () => {
  assertBuilt();
  redis = await startRedis();
  upstream = await startAzureServer({
    apiKey: UPSTREAM_KEY,
    scenarios: {
      whole: [stream(SLOW), CONTINUED],
      shared: [stream(SLOW), CONTINUED, CONTINUED],
      azure: [stream(SLOW), CONTINUED],
      // The first takeover's continuation is slow too, so that its instance dies mid-way.
      twice: [stream(SLOW), stream(chatChunks(X_WORDS).flatMap((item) => [{ delay: 40 }, item])), CONTINUED],
      failing: [stream(SLOW), DOWN],
      // The first answer from the upstream, the continuation from the embedded model (priority 2).
      story: [stream(completionChunks(WORDS).flatMap((item) => [{ delay: 40 }, item])), DOWN],
    },
  });
  const model = (name: string) => [
    `  ${name}:`,
    '    continue_on_failure: true',
    '    targets:',
    `      - azure: ${upstream.url}`,
    `        deployment: ${name}`,
    '        api_key: ${UPSTREAM_KEY}',
  ];
  const local = ['      - local: true', '        priority: 2'];
  cwd = tempDir({
    'sluice.yaml': [
      'models:',
      ...model('whole'),
      ...model('shared'),
      ...model('failing'),
      ...model('azure'),
      ...model('twice'),
      ...model('story'),
      ...local,
      '',
    ].join('\n'),
  });
});
after(async () => {
  for (const s of running) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await upstream.close();
  await redis.stop();
});

async function serve(): Promise<{ s: Running; url: string }> {
  const started = await startServe(['--config', 'sluice.yaml'], {
    cwd,
    env: cleanEnv({ UPSTREAM_KEY, SLUICE_REDIS_URL: redis.url }),
  });
  running.push(started.s);
  await streamLogReady(started.url);
  return started;
}

/** Starts a stream of `model` on `a`, reads 5 frames, then kills `a` (SIGKILL). Returns the stream id. */
async function crashMidStream(
  a: { s: Running; url: string },
  model: string,
  ask: { path: string; body: object } = CHAT,
): Promise<string> {
  const res = await fetch(`${a.url}${ask.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, ...ask.body }),
  });
  assert.equal(res.status, 200);
  const id = res.headers.get('x-sluice-stream-id');
  assert.ok(id);
  const reader = frameReader(res);
  for (let seen = 0; seen < 5; ) {
    const frame = await reader.next();
    if (frame === undefined) throw new Error('the stream ended before the crash');
    if (!frame.startsWith(':')) seen++;
  }
  a.s.child.kill('SIGKILL');
  await a.s.done;
  return id;
}

const CHAT = {
  path: '/v1/chat/completions',
  body: { max_tokens: 500, messages: [{ role: 'user', content: 'hi' }] },
};

/** Every data frame of `GET /sluice/v1/streams/{id}` on `url`, from the start. */
async function resume(url: string, id: string): Promise<string[]> {
  const res = await fetch(`${url}/sluice/v1/streams/${id}`, { headers: { 'last-event-id': '0' } });
  assert.equal(res.status, 200);
  const r = frameReader(res);
  const frames: string[] = [];
  for (let f = await r.next(); f !== undefined; f = await r.next()) if (!f.startsWith(':')) frames.push(f);
  return frames;
}

/** The answer in `frames`: positions, chunks, text, [DONE]s. */
function read(frames: string[]) {
  const ids = frames.map((f) => Number(/^id: (\d+)\n/.exec(f)?.[1]));
  const data = frames.map((f) => f.replace(/^id: \d+\n/, ''));
  const done = data.filter((d) => d === 'data: [DONE]').length;
  const chunks = data
    .filter((d) => d.startsWith('data: {') && !d.startsWith('data: {"error"'))
    .map(
      (d) =>
        JSON.parse(d.slice(6)) as {
          id: string;
          created: number;
          choices: { delta?: { content?: string }; text?: string }[];
        },
    );
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? c.choices[0]?.text ?? '').join('');
  return { ids, done, chunks, text };
}

/** Asserts `frames` are one whole answer: the logged words, then the continuation, as one stream. */
function assertWhole(frames: string[], continuationRequest: { messages: { role: string; content: string }[] }) {
  const { ids, done, chunks, text } = read(frames);
  assert.deepEqual(
    ids,
    ids.map((_, i) => i + 1),
    'positions 1..N, no gap, no duplicate',
  );
  assert.equal(done, 1, 'one [DONE]');
  assert.equal(frames.at(-1), `id: ${ids.length}\ndata: [DONE]`, '[DONE] last');
  // The partial the continuation was asked for is exactly what was logged before it.
  const prefix = continuationRequest.messages.at(-1);
  assert.equal(prefix?.role, 'assistant');
  const logged = prefix?.content ?? '';
  const words = WORDS.findIndex((_, i) => WORDS.slice(0, i + 1).join('') === logged) + 1;
  assert.ok(words > 0 && words < WORDS.length, `the first words, no gap, cut mid-answer: ${logged}`);
  assert.equal(text, `${logged}${REST.join('')}`, 'the partial, then the continuation, nothing else');
  assert.ok(
    chunks.every((c) => c.choices.length === 0 || (c.id === 'chatcmpl-test' && c.created === 1_700_000_000)),
    "every answer chunk under the first answer's id",
  );
  assert.equal(chunks.filter((c) => (c.choices[0]?.delta as { role?: string })?.role).length, 1, 'one role chunk');
}

test('kill -9 of the producer of a continue_on_failure stream: a reader on B gets one whole answer, continued by B', async () => {
  const [a, b] = await Promise.all([serve(), serve()]);
  const id = await crashMidStream(a, 'whole');
  const frames = await resume(b.url, id);
  const requests = upstream.requests.filter((r) => r.deployment === 'whole');
  assert.equal(requests.length, 2, 'the first answer and one continuation');
  assertWhole(frames, requests[1]?.body as { messages: { role: string; content: string }[] });
  // Read again afterwards (from the log alone): the same whole answer.
  assert.deepEqual(await resume(b.url, id), frames);
  b.s.child.kill('SIGTERM');
  assert.equal((await b.s.done).code, 0);
});

test('on the Azure dialect: one prompt-filter chunk, Azure filter fields on every answer chunk, one whole answer', async () => {
  const [a, b] = await Promise.all([serve(), serve()]);
  const id = await crashMidStream(a, 'azure', {
    path: '/openai/deployments/azure/chat/completions?api-version=2024-10-21',
    body: CHAT.body,
  });
  const frames = await resume(b.url, id);
  const requests = upstream.requests.filter((r) => r.deployment === 'azure');
  assert.equal(requests.length, 2);
  assertWhole(frames, requests[1]?.body as { messages: { role: string; content: string }[] });
  const { chunks } = read(frames);
  const answer = chunks.filter((c) => c.choices.length > 0);
  assert.equal(chunks.length - answer.length, 1, 'one prompt-filter chunk: the first answer’s');
  assert.ok(
    answer.every((c) => (c.choices[0] as { content_filter_results?: unknown }).content_filter_results !== undefined),
    'content_filter_results on every answer chunk, the continuation’s included',
  );
  b.s.child.kill('SIGTERM');
  await b.s.done;
});

test('two readers resume on B and C at once: one instance takes over, both read the same whole answer', async () => {
  const [a, b, c] = await Promise.all([serve(), serve(), serve()]);
  const id = await crashMidStream(a, 'shared');
  const [onB, onC] = await Promise.all([resume(b.url, id), resume(c.url, id)]);
  const requests = upstream.requests.filter((r) => r.deployment === 'shared');
  assert.equal(requests.length, 2, 'one continuation, not two');
  const takeovers = await Promise.all(
    [b, c].map(async (s) =>
      Number(
        /sluice_stream_takeovers_total\{store="redis"\} (\d+)/.exec(
          await (await fetch(`${s.url}/metrics`)).text(),
        )?.[1],
      ),
    ),
  );
  assert.deepEqual(takeovers.sort(), [0, 1], 'one instance took it over (its /metrics says so)');
  assertWhole(onB, requests[1]?.body as { messages: { role: string; content: string }[] });
  assert.deepEqual(onC, onB);
  for (const s of [b, c]) s.s.child.kill('SIGTERM');
  await Promise.all([b.s.done, c.s.done]);
});

test('the instance that took the stream over dies too: a third takes it over from the longer partial', async () => {
  const [a, b, c] = await Promise.all([serve(), serve(), serve()]);
  const id = await crashMidStream(a, 'twice');
  // A reader on B: B takes the stream over, and is killed in the middle of its continuation.
  const onB = frameReader(await fetch(`${b.url}/sluice/v1/streams/${id}`, { headers: { 'last-event-id': '0' } }));
  for (let continued = 0; continued < 3; ) {
    const frame = await onB.next();
    if (frame === undefined) throw new Error('B ended the stream before its crash');
    if (/"content":"x\d+ "/.test(frame)) continued++;
  }
  b.s.child.kill('SIGKILL');
  await b.s.done;
  const frames = await resume(c.url, id);
  const requests = upstream.requests.filter((r) => r.deployment === 'twice');
  assert.equal(requests.length, 3, 'the first answer, B’s continuation, C’s');
  const third = requests[2]?.body as { messages: { role: string; content: string }[] };
  assert.match(third.messages.at(-1)?.content ?? '', /^w0 (w\d+ )*x0 x1 x2 (x\d+ )*$/, 'A’s words, then B’s');
  const { ids, done, text } = read(frames);
  assert.deepEqual(
    ids,
    ids.map((_, i) => i + 1),
  );
  assert.equal(done, 1);
  assert.equal(text, `${third.messages.at(-1)?.content}${REST.join('')}`);
  c.s.child.kill('SIGTERM');
  await c.s.done;
});

test('a takeover whose continuation fails everywhere ends with the explicit incomplete frame, no [DONE]', async () => {
  const [a, b] = await Promise.all([serve(), serve()]);
  const id = await crashMidStream(a, 'failing');
  const frames = await resume(b.url, id);
  const requests = upstream.requests.filter((r) => r.deployment === 'failing');
  assert.equal(requests.length, 2, 'the continuation was asked for');
  const { ids, done, text } = read(frames);
  assert.equal(done, 0);
  assert.match(frames.at(-1) ?? '', /^id: \d+\ndata: \{"error":\{"code":"stream_incomplete"/);
  assert.deepEqual(
    ids,
    ids.map((_, i) => i + 1),
  );
  assert.ok(WORDS.join('').startsWith(text) && text.length > 0, 'the logged partial, intact');
  // Read again: the same end, from the log.
  assert.deepEqual(await resume(b.url, id), frames);
  b.s.child.kill('SIGTERM');
  await b.s.done;
});

test('on the embedded model: partial + the model’s own continuation of prompt + partial, token for token', async () => {
  const [a, b] = await Promise.all([serve(), serve()]);
  const ask = { prompt: 'A story: ', max_tokens: 40, temperature: 0, seed: 3 };
  const id = await crashMidStream(a, 'story', { path: '/v1/completions', body: ask });
  const frames = await resume(b.url, id);
  const { ids, done, chunks, text } = read(frames);
  assert.deepEqual(
    ids,
    ids.map((_, i) => i + 1),
  );
  assert.equal(done, 1);
  assert.ok(
    chunks.every((c) => c.id === 'cmpl-test'),
    "every chunk under the first answer's id",
  );
  // The logged words (one chunk each), then what B's embedded model wrote.
  let used = 0;
  while (used < WORDS.length && text.startsWith(WORDS.slice(0, used + 1).join(''))) used++;
  assert.ok(used > 0 && used < 20, `the crash came mid-answer: ${text}`);
  const partial = WORDS.slice(0, used).join('');
  const local = createLocalBackend({ sequences: 1 });
  try {
    let alone = '';
    const direct = { ...ask, prompt: ask.prompt + partial, max_tokens: ask.max_tokens - used, stream: true };
    for await (const chunk of local.stream({ kind: 'completions', body: direct }, new AbortController().signal)) {
      alone += chunk.choices[0]?.text ?? '';
    }
    assert.ok(alone.length > 0);
    assert.equal(text, partial + alone);
  } finally {
    await local.close?.();
  }
  b.s.child.kill('SIGTERM');
  await b.s.done;
});
