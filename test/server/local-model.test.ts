// The server with the real local model (node-llama-cpp, the bundled tiny GGUF) over HTTP on
// 127.0.0.1: incremental streaming, the Azure chunk sequence, max_tokens/stop/n/seed, usage
// from the model's tokenizer, SDK interop, hang-up stopping generation, queue full -> 429.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { AzureOpenAI } from 'openai';
import { createLocalBackend, type LocalBackend } from '../../src/backends/local/index.js';
import type { Completion, CompletionChunk } from '../../src/types.js';
import { allFrames, azureUrl, dataOf, frameReader, metrics, post, start } from '../support/server.js';

let backend: LocalBackend;

before(async () => {
  backend = createLocalBackend({ sequences: 2, queueSize: 2 });
  await backend.load();
});
after(() => backend.close?.());

const textOf = (chunks: CompletionChunk[], index = 0) =>
  chunks.flatMap((c) => c.choices.filter((ch) => ch.index === index).map((ch) => ch.text ?? '')).join('');

describe('local model over HTTP', () => {
  test('streaming arrives incrementally: the first text is read while the model is still generating', async (t) => {
    const { url } = await start(t, { backend });
    const before = backend.stats();
    const res = await post(azureUrl(url, 'gpt-35-turbo-instruct', 'completions'), {
      prompt: 'Once upon a time',
      max_tokens: 400,
      seed: 7,
      stream: true,
    });
    const reader = frameReader(res);
    let frame = await reader.next();
    while (frame !== undefined && !/"text":"[^"]/.test(frame)) frame = await reader.next();
    assert.ok(frame, 'a text chunk');
    // Read while generation is under way: the request is still active and far from its 400 tokens.
    const during = backend.stats();
    assert.equal(during.completed, before.completed);
    assert.ok(during.tokensGenerated - before.tokensGenerated < 400);
    const rest: string[] = [];
    for (let f = await reader.next(); f !== undefined; f = await reader.next()) rest.push(f);
    assert.equal(rest.at(-1), 'data: [DONE]');
    assert.equal(backend.stats().completed, before.completed + 1);
  });

  test('Azure chat sequence: prompt filter, role, content, finish, usage (model tokenizer), [DONE]', async (t) => {
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'gpt-4o', 'chat'), {
      messages: [{ role: 'user', content: 'Tell me a story about a cat.' }],
      max_tokens: 12,
      seed: 1,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    const { chunks, done } = dataOf(await allFrames(res));
    assert.equal(done, true);
    const [filter, role, ...restChunks] = chunks;
    assert.deepEqual(filter, {
      choices: [],
      created: 0,
      id: '',
      model: '',
      object: '',
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
    });
    assert.deepEqual(role?.choices[0]?.delta, { role: 'assistant', content: '' });
    assert.equal(role?.object, 'chat.completion.chunk');
    assert.match(role?.id ?? '', /^chatcmpl-/);
    const usageChunk = restChunks.at(-1)!;
    const finishChunk = restChunks.at(-2)!;
    assert.deepEqual(usageChunk.choices, []);
    assert.ok(finishChunk.choices[0]?.finish_reason);
    const content = restChunks
      .slice(0, -2)
      .map((c) => (c.choices[0] as { delta?: { content?: string } }).delta?.content ?? '')
      .join('');
    assert.ok(content.length > 0);
    for (const c of [role!, ...restChunks.slice(0, -1)]) assert.deepEqual(c.choices[0]?.content_filter_results, {});
    const usage = usageChunk.usage!;
    assert.ok(usage.completion_tokens >= 1 && usage.completion_tokens <= 12);
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  });

  test('max_tokens -> finish_reason length with exactly that many completion tokens', async (t) => {
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'd', 'completions'), { prompt: 'Once upon a time', max_tokens: 9, seed: 3 });
    const body = (await res.json()) as Completion;
    assert.equal(body.choices[0]?.finish_reason, 'length');
    assert.equal(body.usage?.completion_tokens, 9);
    assert.equal(body.usage?.prompt_tokens, await backend.countTokens('Once upon a time').then((n) => n + 1)); // + BOS
    assert.deepEqual(body.prompt_filter_results, [{ prompt_index: 0, content_filter_results: {} }]);
  });

  test('seed and temperature 0 are honoured; stop cuts the text before the stop sequence', async (t) => {
    const { url } = await start(t, { backend });
    const ask = async (extra: Record<string, unknown>) => {
      const res = await post(`${url}/v1/completions`, {
        prompt: 'Once upon a time',
        max_tokens: 40,
        seed: 11,
        ...extra,
      });
      return (await res.json()) as Completion;
    };
    const a = await ask({});
    const b = await ask({});
    assert.equal(a.choices[0]?.text, b.choices[0]?.text, 'same seed, same text');
    const greedy1 = await ask({ temperature: 0, seed: 1 });
    const greedy2 = await ask({ temperature: 0, seed: 2 });
    assert.equal(greedy1.choices[0]?.text, greedy2.choices[0]?.text, 'temperature 0 is greedy');

    const full = a.choices[0]!.text;
    // A stop sequence from the middle of the text: the answer is everything before it.
    const words = full.split(' ').filter((w) => w.length > 2);
    const stopWord = words[Math.floor(words.length / 2)]!;
    const cut = await ask({ stop: [stopWord] });
    assert.equal(cut.choices[0]?.text, full.slice(0, full.indexOf(stopWord)));
    assert.equal(cut.choices[0]?.finish_reason, 'stop');
  });

  test('n=2 streams two interleaved choices, each finished', async (t) => {
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'd', 'completions'), {
      prompt: 'The dog',
      max_tokens: 8,
      n: 2,
      seed: 5,
      stream: true,
    });
    const { chunks, done } = dataOf(await allFrames(res));
    assert.equal(done, true);
    const completionChunks = chunks as CompletionChunk[];
    const finishes = completionChunks.flatMap((c) => c.choices.filter((ch) => ch.finish_reason).map((ch) => ch.index));
    assert.deepEqual(finishes.sort(), [0, 1]);
    assert.ok(textOf(completionChunks, 0).length > 0);
    assert.ok(textOf(completionChunks, 1).length > 0);
  });

  test('SDKs unchanged: AzureOpenAI completions + chat (stream and not), OpenAI on /v1', async (t) => {
    const { url } = await start(t, { backend, apiKey: 'local-key' });
    const azure = new AzureOpenAI({ endpoint: url, apiKey: 'local-key', apiVersion: '2024-10-21', maxRetries: 0 });
    const stream = await azure.completions.create({
      model: 'gpt-35-turbo-instruct',
      prompt: 'Once upon a time',
      max_tokens: 20,
      seed: 2,
      stream: true,
    });
    let streamed = '';
    for await (const chunk of stream) for (const c of chunk.choices) streamed += c.text;
    const whole = await azure.completions.create({
      model: 'gpt-35-turbo-instruct',
      prompt: 'Once upon a time',
      max_tokens: 20,
      seed: 2,
    });
    assert.equal(streamed, whole.choices[0]?.text, 'streamed and non-streamed agree for one seed');
    assert.ok(streamed.length > 0);

    const chat = await azure.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 10,
    });
    assert.equal(chat.choices[0]?.message.role, 'assistant');
    assert.equal(typeof chat.choices[0]?.message.content, 'string');
    const chatStream = await azure.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 10,
      stream: true,
    });
    let finish: string | null = null;
    for await (const chunk of chatStream) finish = chunk.choices[0]?.finish_reason ?? finish;
    assert.ok(finish === 'stop' || finish === 'length');

    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'local-key', maxRetries: 0 });
    const o = await openai.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 20, seed: 2 });
    assert.equal(o.choices[0]?.text, whole.choices[0]?.text);
    const models = await openai.models.list();
    assert.equal(models.data.length, 1);
  });

  test('a hang-up stops generation at once and is counted in /metrics', async (t) => {
    const { url } = await start(t, { backend });
    const before = backend.stats();
    const ac = new AbortController();
    const res = await post(
      azureUrl(url, 'd', 'completions'),
      { prompt: 'Once upon a time', max_tokens: 480, seed: 9, stream: true },
      {},
      ac.signal,
    );
    const reader = frameReader(res);
    let texts = 0;
    while (texts < 3) if (/"text":"[^"]/.test((await reader.next()) ?? '')) texts++;
    ac.abort();
    await waitFor(() => backend.stats().aborted === before.aborted + 1);
    const stopped = backend.stats();
    assert.equal(stopped.active, 0, 'the sequence is back in the pool');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(backend.stats().tokensGenerated, stopped.tokensGenerated, 'no token after the abort');
    assert.ok(stopped.tokensGenerated - before.tokensGenerated < 480);
    const m = await metrics(url);
    assert.equal(m.get('sluice_client_disconnects_total'), 1);
    assert.equal(m.get('sluice_active_streams'), 0);
    const name = backend.name;
    assert.equal(m.get(`sluice_backend_aborted{backend="${name}"}`), stopped.aborted);
    assert.equal(m.get(`sluice_backend_active{backend="${name}"}`), 0);
  });

  test('pool and queue full -> 429 with retry-after-ms; the others complete', async (t) => {
    const small = createLocalBackend({ sequences: 1, queueSize: 1 });
    t.after(() => small.close?.());
    await small.load();
    const { url } = await start(t, { backend: small });
    const body = { prompt: 'Once upon a time', max_tokens: 200, seed: 4, stream: true };
    const responses = await Promise.all([1, 2, 3, 4].map(() => post(azureUrl(url, 'd', 'completions'), body)));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    for (const res of responses) {
      if (res.status === 429) {
        assert.match(res.headers.get('retry-after-ms') ?? '', /^\d+$/);
        assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
        const err = (await res.json()) as { error: { code: string } };
        assert.equal(err.error.code, '429');
      } else {
        assert.equal(dataOf(await allFrames(res)).done, true);
      }
    }
    const m = await metrics(url);
    assert.equal(m.get('sluice_overloaded_total'), 2);
    assert.equal(m.get(`sluice_backend_rejected{backend="${small.name}"}`), 2);
  });

  test('an over-long prompt is a 400 from the backend, passed through in Azure shape', async (t) => {
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'd', 'completions'), { prompt: 'word '.repeat(3000), stream: true });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; param: string } };
    assert.equal(body.error.code, 'context_length_exceeded');
  });
});

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
