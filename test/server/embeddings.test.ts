// Embeddings through the server (`/openai/deployments/{d}/embeddings`, `/openai/v1/embeddings`,
// `/v1/embeddings`), on the real local model and through upstream targets, driven by the
// libraries people use unchanged: openai 6.49 (AzureOpenAI and OpenAI), Sluice's own client,
// LangChain's OpenAIEmbeddings / AzureOpenAIEmbeddings and the AI SDK's embed / embedMany. The
// vectors expected are the backend's own, asked directly (the SDKs ask for base64 on the wire:
// float32 of the same numbers).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { AzureOpenAIEmbeddings, OpenAIEmbeddings } from '@langchain/openai';
import { embed, embedMany } from 'ai';
import OpenAI, { AzureOpenAI } from 'openai';
import { createLocalBackend, type LocalBackend } from '../../src/backends/local/index.js';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { createScriptedBackend } from '../../src/backends/scripted/index.js';
import { createClient } from '../../src/client/client.js';
import { openKeyAccess } from '../../src/gateway/key-access.js';
import { hashKey } from '../../src/gateway/keys.js';
import { createRouterBackend } from '../../src/gateway/router.js';
import { createTargetBackend } from '../../src/gateway/targets.js';
import { embeddingsReply, reply, startAzureServer } from '../../src/testing/azure-server.js';
import { API_VERSION, post, start } from '../support/server.js';

let backend: LocalBackend;
before(async () => {
  backend = createLocalBackend({ sequences: 1, queueSize: 4 });
  await backend.load();
});
after(() => backend.close());

const TEXTS = ['Once upon a time', 'a big red ball', 'The dog ran to the park'];

/** The local model's own vectors for `texts`, as float32 (what base64 carries). */
async function expected(texts: string[]): Promise<number[][]> {
  const answer = await backend.embed!({ body: { input: texts } }, new AbortController().signal);
  return answer.data.map((d) => (d.embedding as number[]).map((v) => Math.fround(v)));
}

describe('embeddings through sluice serve on the local model', () => {
  test('openai SDK: OpenAI with baseURL and AzureOpenAI (deployment route) get the model vectors, in order', async (t) => {
    const { url } = await start(t, { backend, apiKey: 'k' });
    const want = await expected(TEXTS);
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    const azure = new AzureOpenAI({ endpoint: url, apiKey: 'k', apiVersion: API_VERSION, maxRetries: 0 });
    for (const client of [openai, azure]) {
      const answer = await client.embeddings.create({ model: 'tiny-embed', input: TEXTS });
      assert.equal(answer.object, 'list');
      assert.deepEqual(
        answer.data.map((d) => d.index),
        [0, 1, 2],
      );
      assert.deepEqual(
        answer.data.map((d) => d.embedding),
        want,
      );
      assert.ok(answer.usage.prompt_tokens >= TEXTS.length);
      assert.equal(answer.usage.total_tokens, answer.usage.prompt_tokens);
    }
    // Asked for floats, the SDK gets the exact numbers (no float32 rounding on the way).
    const floats = await openai.embeddings.create({ model: 'tiny', input: TEXTS[0]!, encoding_format: 'float' });
    const direct = await backend.embed!({ body: { input: TEXTS[0]! } }, new AbortController().signal);
    assert.deepEqual(floats.data[0]!.embedding, direct.data[0]!.embedding);
  });

  test("Sluice's client: numbers by default (base64 on the wire), base64 strings when asked, all three routes", async (t) => {
    const { url } = await start(t, { backend, apiKey: 'k' });
    const want = await expected(TEXTS);
    const sent: Array<{ url: string; body: Record<string, unknown> }> = [];
    const recording: typeof fetch = (input, init) => {
      sent.push({ url: String(input), body: JSON.parse(String(init?.body)) as Record<string, unknown> });
      return fetch(input, init);
    };
    const clients = [
      createClient({ endpoint: url, apiKey: 'k', deployment: 'emb', fetch: recording }),
      createClient({ endpoint: url, apiKey: 'k', deployment: 'emb', route: 'v1', fetch: recording }),
      createClient({ baseURL: `${url}/v1`, apiKey: 'k', fetch: recording }),
    ];
    for (const client of clients) {
      const answer = await client.embeddings.create({ input: TEXTS, model: 'emb' });
      assert.deepEqual(
        answer.data.map((d) => d.embedding),
        want,
      );
      assert.equal(answer.meta.status, 200);
      assert.equal(sent.at(-1)?.body.encoding_format, 'base64');
      assert.equal('stream' in (sent.at(-1)?.body ?? {}), false, 'embeddings carry no stream field');
    }
    assert.deepEqual(
      sent.map((s) => new URL(s.url).pathname),
      ['/openai/deployments/emb/embeddings', '/openai/v1/embeddings', '/v1/embeddings'],
    );
    const base64 = await clients[0]!.embeddings.create({ input: TEXTS[0]!, encoding_format: 'base64' });
    assert.equal(typeof base64.data[0]!.embedding, 'string');
    const floats = await clients[2]!.embeddings.create({ input: TEXTS[0]!, model: 'emb', encoding_format: 'float' });
    assert.equal(sent.at(-1)?.body.encoding_format, 'float');
    assert.deepEqual(
      floats.data[0]!.embedding.map((v) => Math.fround(v)),
      want[0],
    );
  });

  test('LangChain OpenAIEmbeddings and AzureOpenAIEmbeddings: embedQuery and embedDocuments', async (t) => {
    const { url } = await start(t, { backend, apiKey: 'k' });
    const want = await expected(TEXTS);
    const openai = new OpenAIEmbeddings({
      model: 'tiny',
      apiKey: 'k',
      maxRetries: 0,
      configuration: { baseURL: `${url}/v1` },
    });
    const azure = new AzureOpenAIEmbeddings({
      azureOpenAIApiKey: 'k',
      azureOpenAIBasePath: `${url}/openai/deployments`,
      azureOpenAIApiDeploymentName: 'emb',
      azureOpenAIApiVersion: API_VERSION,
      maxRetries: 0,
    });
    for (const embeddings of [openai, azure]) {
      assert.deepEqual(await embeddings.embedDocuments(TEXTS), want);
      assert.deepEqual(await embeddings.embedQuery(TEXTS[1]!), want[1]);
    }
  });

  test("the AI SDK's embed and embedMany with @ai-sdk/openai", async (t) => {
    const { url } = await start(t, { backend, apiKey: 'k' });
    const want = await expected(TEXTS);
    const provider = createOpenAI({ baseURL: `${url}/v1`, apiKey: 'k' });
    const model = provider.embedding('tiny');
    const one = await embed({ model, value: TEXTS[0]!, maxRetries: 0 });
    assert.deepEqual(
      one.embedding.map((v) => Math.fround(v)),
      want[0],
    );
    const many = await embedMany({ model, values: TEXTS, maxRetries: 0 });
    assert.deepEqual(
      many.embeddings.map((e) => e.map((v) => Math.fround(v))),
      want,
    );
    assert.ok((many.usage.tokens ?? 0) >= TEXTS.length);
  });

  test('bounds: an input over the context, dimensions and a bad body are 400s naming the parameter, in each dialect', async (t) => {
    const { url } = await start(t, { backend, apiKey: 'k' });
    const contextSize = (await backend.load()).contextSize;
    const long = 'Once upon a time there was a dog. '.repeat(200);
    const openai = await post(
      `${url}/v1/embeddings`,
      { model: 'tiny', input: ['a', long] },
      { authorization: 'Bearer k' },
    );
    assert.equal(openai.status, 400);
    const body = (await openai.json()) as { error: { param: string; message: string; type: string; code: string } };
    assert.equal(body.error.param, 'input');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, new RegExp(`at most ${contextSize - 1} tokens`));
    const azure = await post(
      `${url}/openai/deployments/emb/embeddings?api-version=${API_VERSION}`,
      { input: 'a', dimensions: 3 },
      { 'api-key': 'k' },
    );
    assert.equal(azure.status, 400);
    const refused = (await azure.json()) as { error: { param: string; code: string } };
    assert.deepEqual([refused.error.param, refused.error.code], ['dimensions', 'unsupported_parameter']);
    const tooMany = await post(
      `${url}/openai/v1/embeddings`,
      { model: 'x', input: Array(2049).fill('a') },
      { 'api-key': 'k' },
    );
    assert.equal(tooMany.status, 400);
    assert.equal(((await tooMany.json()) as { error: { param: string } }).error.param, 'input');
    const empty = await post(`${url}/v1/embeddings`, { model: 'tiny' }, { authorization: 'Bearer k' });
    assert.equal(((await empty.json()) as { error: { code: string } }).error.code, 'missing_required_parameter');
    const sdk = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    await assert.rejects(
      sdk.embeddings.create({ model: 'tiny', input: long }),
      (e: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(e.status, 400);
        assert.equal(e.param, 'input');
        return true;
      },
    );
  });

  test('a backend without embeddings answers 400 OperationNotSupported, as Azure does for a chat model', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend([]) });
    const res = await post(`${url}/openai/deployments/gpt-4o/embeddings?api-version=${API_VERSION}`, { input: 'a' });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'OperationNotSupported');
    assert.match(body.error.message, /embeddings operation does not work with the specified model, gpt-4o/);
  });
});

describe('embeddings under per-key access (a gateway with keys:)', () => {
  const SECRET = 'sk-sluice-EMBED-KEY-0123456789abcdefghij';
  const ADMIN = 'sk-sluice-EMBED-OPS-abcdefghij0123456789';

  test('an unknown key is a 401, a model the key may not use a 403, and the ledger books the prompt tokens', async (t) => {
    const access = await openKeyAccess({
      keys: [
        { name: 'team-a', keyHash: hashKey(SECRET), admin: false, limits: {}, models: ['emb'] },
        { name: 'ops', keyHash: hashKey(ADMIN), admin: true, limits: {} },
      ],
    });
    t.after(() => access.close());
    const { url } = await start(t, { deployments: { emb: backend, other: backend }, access: access.access });
    const ask = { input: TEXTS };
    const anonymous = await post(`${url}/openai/v1/embeddings`, { ...ask, model: 'emb' });
    assert.equal(anonymous.status, 401);
    const refused = await post(`${url}/openai/v1/embeddings`, { ...ask, model: 'other' }, { 'api-key': SECRET });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ModelNotAllowed');
    const served = await post(`${url}/openai/v1/embeddings`, { ...ask, model: 'emb' }, { 'api-key': SECRET });
    assert.equal(served.status, 200);
    const tokens = ((await served.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    let rows: Array<{ key: string; requests: number; promptReported: number; completionReported: number }> = [];
    for (let i = 0; i < 200 && rows.length === 0; i++) {
      const res = await fetch(`${url}/sluice/v1/usage`, { headers: { 'api-key': ADMIN } });
      rows = ((await res.json()) as { data: typeof rows }).data;
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(
      rows.map((r) => [r.key, r.requests, r.promptReported, r.completionReported]),
      [['team-a', 1, tokens, 0]],
    );
  });
});

describe('embeddings through upstream targets', () => {
  test('the remote backend relays to the upstream deployment route; base64 stays base64, numbers stay numbers', async (t) => {
    const upstream = await startAzureServer({
      apiKey: 'up',
      scenarios: {
        emb: embeddingsReply([
          [0.6, 0.8],
          [1, 0],
        ]),
      },
    });
    t.after(() => upstream.close());
    const remote = createRemoteBackend({ endpoint: upstream.url, apiKey: 'up', deployment: 'emb' });
    t.after(() => remote.close?.());
    const { url } = await start(t, { backend: remote, apiKey: 'k' });
    const sdk = new AzureOpenAI({ endpoint: url, apiKey: 'k', apiVersion: API_VERSION, maxRetries: 0 });
    const answer = await sdk.embeddings.create({ model: 'emb', input: ['a', 'b'] });
    assert.deepEqual(
      answer.data.map((d) => d.embedding),
      [
        [Math.fround(0.6), Math.fround(0.8)],
        [1, 0],
      ],
    );
    assert.equal(answer.model, 'text-embedding-3-small');
    assert.equal(upstream.requests.at(-1)?.path, '/openai/deployments/emb/embeddings');
    assert.equal(upstream.requests.at(-1)?.body?.encoding_format, 'base64', 'the SDK asked base64; relayed as asked');
    const floats = await post(`${url}/v1/embeddings`, { model: 'emb', input: 'a' }, { authorization: 'Bearer k' });
    const body = (await floats.json()) as { data: Array<{ embedding: number[] }>; usage: { prompt_tokens: number } };
    assert.deepEqual(body.data[0]?.embedding, [0.6, 0.8]);
    assert.equal(body.usage.prompt_tokens, 3);
    assert.equal(upstream.requests.at(-1)?.headers['api-key'], 'up');
  });

  test("the gateway router over a gateway file's targets fails over before the answer: a 503 target, then the next one serves", async (t) => {
    const upstream = await startAzureServer({
      scenarios: {
        down: reply(503, { error: { code: '503', message: 'busy' } }),
        up: embeddingsReply([[0, 1]]),
      },
    });
    t.after(() => upstream.close());
    // A gateway file's targets (gateway/targets.ts): each sends the upstream its own deployment.
    const target = (deployment: string) =>
      createTargetBackend(
        {
          kind: 'azure',
          endpoint: upstream.url,
          route: 'deployments',
          deployment,
          apiKey: 'up',
          priority: 1,
          weight: 1,
          timeouts: {},
        },
        `emb:${deployment}`,
      );
    const router = createRouterBackend({
      model: 'emb',
      targets: [
        { id: 'emb/0:down', backend: target('down'), priority: 1, weight: 1, timeouts: {} },
        { id: 'emb/1:up', backend: target('up'), priority: 2, weight: 1, timeouts: {} },
      ],
    });
    t.after(() => router.close?.());
    const { url } = await start(t, { deployments: { emb: router } });
    const res = await post(`${url}/v1/embeddings`, { model: 'emb', input: ['a', 'b'] });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sluice-target'), 'emb/1:up');
    const body = (await res.json()) as { data: Array<{ index: number; embedding: number[] }> };
    assert.deepEqual(body.data, [
      { object: 'embedding', index: 0, embedding: [0, 1] },
      { object: 'embedding', index: 1, embedding: [0, 1] },
    ]);
    assert.deepEqual(
      upstream.requests.map((r) => r.deployment),
      ['down', 'up'],
    );
  });
});
