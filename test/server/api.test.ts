// The API over real HTTP with a scripted backend: exact Azure/OpenAI chunk sequences,
// include_usage, n > 1, non-streaming shapes, headers, models, health, CORS, logging.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createScriptedBackend, type ScriptStep, textScript } from '../../src/backends/index.js';
import { createMemoryStreamLog } from '../../src/streams/memory.js';
import type { AnyChunk, ChatCompletion, Completion } from '../../src/types.js';
import { allFrames, azureUrl, dataOf, post, start } from '../support/server.js';

const PROMPT_FILTER =
  'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}';

/** The chunks a script yields, as the backend would send them. */
function chunksOf(steps: ScriptStep[], includeUsage: boolean): AnyChunk[] {
  const out: AnyChunk[] = [];
  for (const s of steps) if ('chunk' in s && (!s.ifUsageRequested || includeUsage)) out.push(s.chunk);
  return out;
}

/** Azure adds `content_filter_results: {}` to every choice. */
function azureShape(chunk: AnyChunk): AnyChunk {
  return { ...chunk, choices: chunk.choices.map((c) => ({ ...c, content_filter_results: {} })) } as AnyChunk;
}

const chatBody = { messages: [{ role: 'user', content: 'Say hello' }] };
const completionBody = { prompt: 'Once upon a time' };

describe('streaming, Azure dialect', () => {
  for (const kind of ['chat', 'completions'] as const) {
    test(`${kind}: prompt-filter chunk, the backend's chunks with content_filter_results {}, [DONE]`, async (t) => {
      const steps = textScript(kind, 'Hello big world');
      const backend = createScriptedBackend(steps);
      const { url } = await start(t, { backend });
      const res = await post(azureUrl(url, 'gpt-35-turbo-instruct', kind), {
        ...(kind === 'chat' ? chatBody : completionBody),
        stream: true,
      });
      assert.equal(res.status, 200);
      const frames = await allFrames(res);
      const expected = [
        PROMPT_FILTER,
        ...chunksOf(steps, false).map((c) => `data: ${JSON.stringify(azureShape(c))}`),
        'data: [DONE]',
      ];
      assert.deepEqual(frames, expected);
      assert.equal(backend.requests[0]?.deployment, 'gpt-35-turbo-instruct');
      assert.equal(backend.requests[0]?.kind, kind);
    });
  }

  test('include_usage: the usage chunk (choices: []) comes last before [DONE]', async (t) => {
    const steps = textScript('chat', 'one two three', { promptTokens: 4 });
    const { url } = await start(t, { backend: createScriptedBackend(steps) });
    const res = await post(azureUrl(url, 'd', 'chat'), {
      ...chatBody,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { chunks, done } = dataOf(await allFrames(res));
    assert.equal(done, true);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    assert.equal(chunks.filter((c) => c.usage).length, 1);
    // Without the option: no usage chunk at all.
    const plain = dataOf(await allFrames(await post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream: true })));
    assert.equal(plain.chunks.filter((c) => c.usage).length, 0);
    assert.equal(plain.chunks.length, chunks.length - 1);
  });

  test('n=2: both choices interleave and each finishes once', async (t) => {
    const { url } = await start(t, {
      backend: createScriptedBackend(textScript('completions', 'a b c', { n: 2, finishReason: 'length' })),
    });
    const res = await post(azureUrl(url, 'd', 'completions'), { ...completionBody, n: 2, stream: true });
    const { chunks, done } = dataOf(await allFrames(res));
    assert.equal(done, true);
    const text = ['', ''];
    const finish: Array<string | null> = [null, null];
    for (const c of chunks) {
      for (const choice of c.choices as Array<{ index: number; text?: string; finish_reason: string | null }>) {
        text[choice.index] += choice.text ?? '';
        if (choice.finish_reason) {
          assert.equal(finish[choice.index], null, 'finished twice');
          finish[choice.index] = choice.finish_reason;
        }
      }
    }
    assert.deepEqual(text, ['a b c', 'a b c']);
    assert.deepEqual(finish, ['length', 'length']);
  });

  test('a prompt array gets one prompt-filter result per prompt', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend(textScript('completions', 'x')) });
    const res = await post(azureUrl(url, 'd', 'completions'), { prompt: ['a', 'b', 'c'], stream: true });
    const { chunks } = dataOf(await allFrames(res));
    assert.deepEqual(
      chunks[0]?.prompt_filter_results?.map((p) => p.prompt_index),
      [0, 1, 2],
    );
  });

  test('the Azure v1 route: model names the deployment', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'hi'));
    const { url } = await start(t, { backend });
    const res = await post(`${url}/openai/v1/chat/completions`, { ...chatBody, model: 'my-gpt', stream: true });
    const frames = await allFrames(res);
    assert.equal(frames[0], PROMPT_FILTER);
    assert.equal(backend.requests[0]?.deployment, 'my-gpt');
  });
});

describe('text integrity', () => {
  test('multi-byte text (accents, CJK, emoji) arrives intact however the bytes are split', async (t) => {
    const text = 'héllo 世界 🎉 naïve ünïcödé 👩‍👩‍👧 end';
    const { url } = await start(t, { backend: createScriptedBackend(textScript('completions', text)) });
    const res = await post(azureUrl(url, 'd', 'completions'), { ...completionBody, stream: true });
    // Collect raw bytes, then decode once: a character split by the server would not survive.
    const bytes = Buffer.from(await res.arrayBuffer());
    const frames = bytes
      .toString('utf8')
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'));
    const got = frames
      .map((f) => JSON.parse(f.slice(6)) as AnyChunk)
      .flatMap((c) => c.choices.map((ch) => (ch as { text?: string }).text ?? ''))
      .join('');
    assert.equal(got, text);
    assert.equal(bytes.includes(Buffer.from('\ufffd')), false);
  });
});

describe('streaming, OpenAI dialect', () => {
  for (const kind of ['chat', 'completions'] as const) {
    test(`${kind}: the backend's chunks unchanged, no prompt-filter chunk, [DONE]`, async (t) => {
      const steps = textScript(kind, 'Hello big world', { n: 1 });
      const { url } = await start(t, { backend: createScriptedBackend(steps) });
      const path = kind === 'chat' ? '/v1/chat/completions' : '/v1/completions';
      const res = await post(`${url}${path}`, {
        ...(kind === 'chat' ? chatBody : completionBody),
        model: 'x',
        stream: true,
        stream_options: { include_usage: true },
      });
      const frames = await allFrames(res);
      assert.deepEqual(frames, [...chunksOf(steps, true).map((c) => `data: ${JSON.stringify(c)}`), 'data: [DONE]']);
    });
  }
});

describe('non-streaming', () => {
  test('Azure chat: one JSON document with prompt_filter_results, content_filter_results and usage', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'Hello big world', { promptTokens: 3 }));
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'd', 'chat'), chatBody);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as ChatCompletion;
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.id, 'chatcmpl-scripted');
    assert.equal(body.choices.length, 1);
    assert.equal(body.choices[0]?.message.content, 'Hello big world');
    assert.equal(body.choices[0]?.message.role, 'assistant');
    assert.equal(body.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(body.choices[0]?.content_filter_results, {});
    assert.deepEqual(body.prompt_filter_results, [{ prompt_index: 0, content_filter_results: {} }]);
    assert.deepEqual(body.usage, { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
    // The backend was asked for usage even though the client did not stream.
    assert.equal(backend.requests[0]?.body.stream_options?.include_usage, true);
  });

  test('OpenAI completions: no Azure fields', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend(textScript('completions', 'a b', { n: 2 })) });
    const res = await post(`${url}/v1/completions`, { ...completionBody, model: 'm', n: 2 });
    const body = (await res.json()) as Completion;
    assert.equal(body.object, 'text_completion');
    assert.deepEqual(
      body.choices.map((c) => [c.index, c.text, c.finish_reason]),
      [
        [0, 'a b', 'stop'],
        [1, 'a b', 'stop'],
      ],
    );
    assert.equal(body.prompt_filter_results, undefined);
    assert.equal(body.choices[0]?.content_filter_results, undefined);
    assert.equal(body.usage?.completion_tokens, 4);
  });
});

describe('headers, models, health, CORS, log', () => {
  test('SSE headers: event-stream, no-cache, no proxy buffering, no compression, request ids', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend(textScript('chat', 'x')) });
    const res = await post(
      azureUrl(url, 'd', 'chat'),
      { ...chatBody, stream: true },
      { 'accept-encoding': 'gzip, br' },
    );
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    assert.equal(res.headers.get('content-encoding'), null);
    const id = res.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(res.headers.get('apim-request-id'), id);
    await res.text();
    const again = await post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream: true });
    assert.notEqual(again.headers.get('x-request-id'), id);
    await again.text();
  });

  test('every answer carries its request ids and CORS headers once, whoever writes its head', async (t) => {
    const { url } = await start(t, {
      backend: createScriptedBackend(textScript('chat', 'x')),
      streams: { log: createMemoryStreamLog(), keepGoingMs: 1000 },
      staticHandler: (req, res) => {
        if (req.url !== '/page') return false;
        res.writeHead(200, { 'content-type': 'text/html' }).end('<p>');
        return true;
      },
    });
    const streamed = await post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream: true });
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
      fetch(`${url}${path}`, { method, headers });
    const answers = {
      streamed,
      'JSON answer': await post(azureUrl(url, 'd', 'chat'), chatBody),
      'error reply': await post(azureUrl(url, 'd', 'chat'), { messages: 'no' }),
      'resumed stream': await get(`/sluice/v1/streams/${streamed.headers.get('x-sluice-stream-id')}`),
      health: await get('/healthz'),
      metrics: await get('/metrics'),
      preflight: await get('/v1/chat/completions', { origin: url, 'access-control-request-method': 'POST' }, 'OPTIONS'),
      'web page': await get('/page'),
    };
    const ids = new Set<string>();
    for (const [name, answer] of Object.entries(answers)) {
      await answer.text();
      // fetch joins a header sent twice into "a, b": a bare UUID means it came once.
      const id = answer.headers.get('x-request-id') ?? '';
      assert.match(
        id,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        `${name}: x-request-id`,
      );
      assert.equal(answer.headers.get('apim-request-id'), id, `${name}: apim-request-id`);
      assert.equal(answer.headers.get('vary'), 'origin', `${name}: vary`);
      ids.add(id);
    }
    assert.equal(ids.size, Object.keys(answers).length, 'one id per request');
    assert.equal(answers.streamed.status, 200);
    assert.equal(answers['resumed stream'].status, 200);
    assert.equal(answers['error reply'].status, 400);
    assert.equal(answers.preflight.status, 204);
    // Only the page's own origin (the preflight's) may read answers.
    assert.equal(answers.preflight.headers.get('access-control-allow-origin'), url);
    assert.match(answers.preflight.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
    assert.equal(answers.health.headers.get('access-control-allow-origin'), null);
  });

  test('/v1/models lists the backend models, or the deployment names', async (t) => {
    const single = await start(t, { backend: createScriptedBackend([], { name: 'local:tiny' }) });
    const list = (await (await fetch(`${single.url}/v1/models`)).json()) as {
      object: string;
      data: Array<{ id: string }>;
    };
    assert.equal(list.object, 'list');
    assert.deepEqual(
      list.data.map((m) => m.id),
      ['local:tiny'],
    );
    const a = createScriptedBackend([], { name: 'a' });
    const multi = await start(t, { deployments: { 'gpt-4o': a, 'gpt-35-turbo-instruct': a } });
    for (const path of ['/openai/v1/models', `/openai/models?api-version=2024-10-21`]) {
      const body = (await (await fetch(`${multi.url}${path}`)).json()) as {
        data: Array<{ id: string; owned_by: string }>;
      };
      assert.deepEqual(
        body.data.map((m) => [m.id, m.owned_by]),
        [
          ['gpt-4o', 'a'],
          ['gpt-35-turbo-instruct', 'a'],
        ],
      );
    }
  });

  test('/healthz answers without a key; HEAD works', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend([]), apiKey: 'k' });
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
    assert.equal((await fetch(`${url}/healthz`, { method: 'HEAD' })).status, 200);
  });

  test('CORS: preflight allows the asked headers; answers expose retry and request-id headers', async (t) => {
    const { url } = await start(t, {
      backend: createScriptedBackend(textScript('chat', 'x')),
      cors: { origins: ['http://example.test'] },
    });
    const pre = await fetch(azureUrl(url, 'd', 'chat'), {
      method: 'OPTIONS',
      headers: {
        origin: 'http://example.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'api-key,content-type,x-stainless-os',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://example.test');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'api-key,content-type,x-stainless-os');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    const res = await post(
      azureUrl(url, 'd', 'chat'),
      { ...chatBody, stream: true },
      { origin: 'http://example.test' },
    );
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://example.test');
    assert.equal(res.headers.get('vary'), 'origin');
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    for (const h of ['retry-after', 'retry-after-ms', 'x-request-id', 'apim-request-id'])
      assert.ok(exposed.includes(h), h);
    await res.text();

    const off = await start(t, { backend: createScriptedBackend([]), cors: false });
    assert.equal((await fetch(`${off.url}/healthz`)).headers.get('access-control-allow-origin'), null);
  });

  test('one log line per request: method, path without query, status, ms, request id; never the key', async (t) => {
    const lines: string[] = [];
    const { url } = await start(t, {
      backend: createScriptedBackend(textScript('chat', 'x')),
      apiKey: 'sekret-key-123',
      log: (line) => lines.push(line),
    });
    const ok = await post(azureUrl(url, 'd', 'chat'), chatBody, { 'api-key': 'sekret-key-123' });
    await ok.text();
    const bad = await post(azureUrl(url, 'd', 'chat'), chatBody, { 'api-key': 'wrong' });
    await bad.text();
    await waitFor(() => lines.length >= 2);
    assert.match(
      lines[0]!,
      new RegExp(`^POST /openai/deployments/d/chat/completions 200 \\d+\\.\\d+ms ${ok.headers.get('x-request-id')}$`),
    );
    assert.match(lines[1]!, / 401 /);
    assert.ok(lines.every((l) => !l.includes('sekret') && !l.includes('api-version')));
  });
});

/** Polls until `check()` holds (log lines are written when the response closes). */
async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check());
}
