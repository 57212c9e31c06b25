// Upstream mode: a Sluice server whose deployments are remote backends pointing at another
// Azure-shaped server (here a second Sluice server with a scripted backend). The gateway must
// stream unchanged (one prompt-filter chunk, not two), pass upstream errors through with
// their status and body, never leak the upstream key, and abort upstream on hang-up.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { OverloadedError } from '../../src/errors.js';
import type { AnyChunk, ChatCompletion } from '../../src/types.js';
import { allFrames, azureUrl, dataOf, frameReader, post, start } from '../support/server.js';

const UPSTREAM_KEY = 'upstream-secret-key-0123456789';
const chatBody = { messages: [{ role: 'user', content: 'hi' }] };

async function gateway(t: import('node:test').TestContext, script: Parameters<typeof createScriptedBackend>[0]) {
  const upstreamBackend = createScriptedBackend(script);
  const upstream = await start(t, { deployments: { 'gpt-4o': upstreamBackend }, apiKey: UPSTREAM_KEY });
  const remote = createRemoteBackend({ endpoint: upstream.url, apiKey: UPSTREAM_KEY, maxRetries: 0 });
  const front = await start(t, { backend: remote });
  return { upstreamBackend, front: front.url };
}

describe('upstream (gateway) mode', () => {
  test('Azure dialect: the upstream stream arrives unchanged, with exactly one prompt-filter chunk', async (t) => {
    const steps = textScript('chat', 'Hello from upstream', { promptTokens: 2 });
    const { front, upstreamBackend } = await gateway(t, steps);
    const res = await post(azureUrl(front, 'gpt-4o', 'chat'), {
      ...chatBody,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    const { chunks, done } = dataOf(await allFrames(res));
    assert.equal(done, true);
    assert.equal(chunks.filter((c) => c.prompt_filter_results).length, 1);
    assert.deepEqual(chunks[0]?.choices, []);
    const text = chunks.map((c) => (c.choices[0] as { delta?: { content?: string } })?.delta?.content ?? '').join('');
    assert.equal(text, 'Hello from upstream');
    assert.equal(chunks.at(-1)?.usage?.completion_tokens, 3);
    assert.equal(upstreamBackend.requests[0]?.deployment, 'gpt-4o');
  });

  test('OpenAI dialect: the upstream prompt-filter chunk is dropped; non-streaming keeps one set of results', async (t) => {
    const { front } = await gateway(t, textScript('chat', 'plain text'));
    const res = await post(`${front}/v1/chat/completions`, { ...chatBody, model: 'gpt-4o', stream: true });
    const { chunks } = dataOf(await allFrames(res));
    assert.ok(chunks.every((c: AnyChunk) => c.choices.length > 0 && c.prompt_filter_results === undefined));
    const azure = (await (await post(azureUrl(front, 'gpt-4o', 'chat'), chatBody)).json()) as ChatCompletion;
    assert.deepEqual(azure.prompt_filter_results, [{ prompt_index: 0, content_filter_results: {} }]);
    assert.equal(azure.choices[0]?.message.content, 'plain text');
    const openai = (await (
      await post(`${front}/v1/chat/completions`, { ...chatBody, model: 'gpt-4o' })
    ).json()) as ChatCompletion;
    assert.equal(openai.prompt_filter_results, undefined);
    assert.equal(openai.choices[0]?.message.content, 'plain text');
  });

  test('upstream errors pass through with status and body; the upstream key never shows', async (t) => {
    const { front } = await gateway(t, [{ error: () => new OverloadedError(3000) }]);
    const unknown = await post(azureUrl(front, 'no-such-deployment', 'chat'), { ...chatBody, stream: true });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'DeploymentNotFound');

    const busy = await post(azureUrl(front, 'gpt-4o', 'chat'), { ...chatBody, stream: true });
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get('retry-after-ms'), '3000');
    assert.equal(busy.headers.get('retry-after'), '3');
    const text = await busy.text();
    assert.match(text, /Please retry after 3 seconds/);
    for (const [name, value] of busy.headers) assert.ok(!value.includes(UPSTREAM_KEY), name);
    assert.ok(!text.includes(UPSTREAM_KEY));
  });

  test('a wrong upstream key: the upstream 401 body passes through, without any key', async (t) => {
    const upstream = await start(t, { backend: createScriptedBackend(textScript('chat', 'x')), apiKey: UPSTREAM_KEY });
    const remote = createRemoteBackend({ endpoint: upstream.url, apiKey: 'wrong-upstream-key', maxRetries: 0 });
    const front = await start(t, { backend: remote });
    const res = await post(azureUrl(front.url, 'd', 'chat'), chatBody);
    assert.equal(res.status, 401);
    const text = await res.text();
    assert.equal(JSON.parse(text).error.code, '401');
    assert.ok(!text.includes('wrong-upstream-key') && !text.includes(UPSTREAM_KEY));
  });

  test('a hang-up at the gateway aborts the upstream generation', async (t) => {
    const words = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const { front, upstreamBackend } = await gateway(t, textScript('chat', words, { delayMs: 5 }));
    const ac = new AbortController();
    const res = await post(azureUrl(front, 'gpt-4o', 'chat'), { ...chatBody, stream: true }, {}, ac.signal);
    const reader = frameReader(res);
    for (let i = 0; i < 4; i++) await reader.next();
    ac.abort();
    const until = Date.now() + 5000;
    while (upstreamBackend.aborts === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.equal(upstreamBackend.aborts, 1);
    assert.ok(upstreamBackend.calls[0]!.chunks < 100);
  });
});
