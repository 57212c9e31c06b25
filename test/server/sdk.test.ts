// The official `openai` SDK (6.49.0), unchanged, against the server: AzureOpenAI on the
// deployment routes and OpenAI on /v1, completions and chat, streaming and not, errors.
// Deterministic text from the scripted backend; the real model is in local-model.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI, { AzureOpenAI } from 'openai';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { OverloadedError, ServerError } from '../../src/errors.js';
import { start } from '../support/server.js';

const TEXT = 'Once upon a time there was a fox';
const KEY = 'test-key';

async function setup(t: import('node:test').TestContext, deployments?: string[]) {
  const chat = textScript('chat', TEXT, { model: 'tiny-model', promptTokens: 5 });
  const completions = textScript('completions', TEXT, { model: 'tiny-model', promptTokens: 5 });
  const backend = createScriptedBackend((req) => (req.kind === 'chat' ? chat : completions));
  const { url } = await start(
    t,
    deployments
      ? { deployments: Object.fromEntries(deployments.map((d) => [d, backend])), apiKey: KEY }
      : { backend, apiKey: KEY },
  );
  const azure = new AzureOpenAI({ endpoint: url, apiKey: KEY, apiVersion: '2024-10-21', maxRetries: 0 });
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
  return { url, backend, azure, openai };
}

describe('AzureOpenAI', () => {
  test('chat, streaming: prompt-filter chunk first, text, finish, usage with include_usage', async (t) => {
    const { azure, backend } = await setup(t);
    const stream = await azure.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Tell me a story' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    let first = true;
    for await (const chunk of stream) {
      if (first) {
        assert.deepEqual(chunk.choices, []);
        assert.ok('prompt_filter_results' in chunk);
        first = false;
      }
      for (const choice of chunk.choices) {
        text += choice.delta?.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, TEXT);
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 });
    assert.equal(backend.requests[0]?.deployment, 'gpt-4o');
  });

  test('chat, non-streaming', async (t) => {
    const { azure } = await setup(t);
    const answer = await azure.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Tell me a story' }],
    });
    assert.equal(answer.object, 'chat.completion');
    assert.equal(answer.choices[0]?.message.content, TEXT);
    assert.equal(answer.usage?.completion_tokens, 8);
    assert.equal(answer.model, 'tiny-model');
  });

  test('completions, streaming and not (the deployment from the client option)', async (t) => {
    const { url } = await setup(t);
    const azure = new AzureOpenAI({
      endpoint: url,
      apiKey: KEY,
      apiVersion: '2024-02-01',
      deployment: 'gpt-35-turbo-instruct',
      maxRetries: 0,
    });
    const stream = await azure.completions.create({ model: '', prompt: 'Once', stream: true, max_tokens: 20 });
    let text = '';
    for await (const chunk of stream) for (const c of chunk.choices) text += c.text;
    assert.equal(text, TEXT);
    const whole = await azure.completions.create({ model: '', prompt: 'Once', max_tokens: 20 });
    assert.equal(whole.choices[0]?.text, TEXT);
    assert.equal(whole.choices[0]?.finish_reason, 'stop');
  });

  test('the SDK stream helper (chat.completions.stream) accumulates the same text', async (t) => {
    const { azure } = await setup(t);
    const runner = azure.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, TEXT);
  });

  test('errors: wrong key -> 401, unknown deployment -> 404 DeploymentNotFound, overloaded -> 429 with retry-after-ms', async (t) => {
    const { url } = await setup(t, ['gpt-4o']);
    const bad = new AzureOpenAI({ endpoint: url, apiKey: 'wrong', apiVersion: '2024-10-21', maxRetries: 0 });
    await assert.rejects(
      bad.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === '401',
    );
    const azure = new AzureOpenAI({ endpoint: url, apiKey: KEY, apiVersion: '2024-10-21', maxRetries: 0 });
    await assert.rejects(
      azure.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'x' }], stream: true }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'DeploymentNotFound',
    );

    const busy = await start(t, { backend: createScriptedBackend([{ error: () => new OverloadedError(250) }]) });
    const client = new AzureOpenAI({ endpoint: busy.url, apiKey: 'x', apiVersion: '2024-10-21', maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ model: 'd', messages: [{ role: 'user', content: 'x' }], stream: true }),
      (e: unknown) =>
        e instanceof OpenAI.RateLimitError && e.status === 429 && e.headers?.get('retry-after-ms') === '250',
    );
  });
});

describe('mid-stream errors', () => {
  test('the SDK yields the chunks before the error frame, then throws an APIError carrying its body', async (t) => {
    const steps = textScript('chat', 'one two three');
    const backend = createScriptedBackend([
      ...steps.slice(0, 3),
      { error: new ServerError('the model crashed', { status: 500 }) },
    ]);
    const { url } = await start(t, { backend });
    const azure = new AzureOpenAI({ endpoint: url, apiKey: 'x', apiVersion: '2024-10-21', maxRetries: 0 });
    const stream = await azure.chat.completions.create({
      model: 'd',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      })(),
      (e: unknown) => e instanceof OpenAI.APIError && /the model crashed/.test(e.message),
    );
    assert.equal(text, 'one two');
  });
});

describe('OpenAI against /v1', () => {
  test('chat and completions, streaming and not; models list', async (t) => {
    const { openai, backend } = await setup(t);
    const stream = await openai.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, TEXT);

    const chat = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(chat.choices[0]?.message.content, TEXT);
    assert.equal('prompt_filter_results' in chat, false);

    const cstream = await openai.completions.create({ model: 'tiny', prompt: 'Once', stream: true });
    let ctext = '';
    for await (const chunk of cstream) ctext += chunk.choices[0]?.text ?? '';
    assert.equal(ctext, TEXT);
    const completion = await openai.completions.create({ model: 'tiny', prompt: 'Once' });
    assert.equal(completion.choices[0]?.text, TEXT);

    const models = await openai.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['scripted'],
    );
    assert.deepEqual(
      backend.requests.map((r) => r.deployment),
      ['tiny', 'tiny', 'tiny', 'tiny'],
    );
  });

  test('a bad request surfaces as BadRequestError with param and code', async (t) => {
    const { openai } = await setup(t);
    await assert.rejects(
      openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], temperature: 5 }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'temperature' && e.code === 'invalid_value',
    );
  });
});
