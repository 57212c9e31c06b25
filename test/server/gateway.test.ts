// Gateway mode as clients meet it: a non-streaming request is forwarded upstream as a
// non-streaming request (the seam's optional create()), so the upstream's usage and its
// error statuses reach the client as they are, with the upstream credential scrubbed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AzureOpenAI } from 'openai';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { reply, startAzureServer } from '../../src/testing/azure-server.js';
import { azureUrl, post, start } from '../support/server.js';

const UPSTREAM_KEY = 'upstream-secret-key-0123456789';
const chatBody = { messages: [{ role: 'user', content: 'hi' }] };

const COMPLETION = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'whole answer' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
};

async function gateway(t: import('node:test').TestContext, scenario: Parameters<typeof reply>) {
  const upstream = await startAzureServer({ apiKey: UPSTREAM_KEY, scenarios: { 'gpt-4o': reply(...scenario) } });
  t.after(() => upstream.close());
  const remote = createRemoteBackend({ endpoint: upstream.url, apiKey: UPSTREAM_KEY, maxRetries: 0 });
  const front = await start(t, { backend: remote });
  return { upstream, front: front.url };
}

describe('gateway: non-streaming requests are forwarded as asked', () => {
  test('the upstream gets stream:false and its usage comes back unchanged', async (t) => {
    const { upstream, front } = await gateway(t, [200, COMPLETION]);
    const res = await post(azureUrl(front, 'gpt-4o', 'chat'), { ...chatBody, max_tokens: 5 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as typeof COMPLETION;
    assert.deepEqual(body.usage, COMPLETION.usage);
    assert.equal(body.choices[0]?.message.content, 'whole answer');
    const sent = upstream.requests[0]!;
    assert.notEqual((sent.body as { stream?: unknown }).stream, true, 'not streamed upstream');
    assert.equal((sent.body as { stream_options?: unknown }).stream_options, undefined);
  });

  test('an upstream 401 stays 401, its body scrubbed of the upstream key', async (t) => {
    const echo = {
      error: { code: '401', message: `Access denied: the key api-key=${UPSTREAM_KEY} is not valid for this resource.` },
    };
    const { front } = await gateway(t, [401, echo]);
    const res = await post(azureUrl(front, 'gpt-4o', 'chat'), chatBody);
    assert.equal(res.status, 401);
    const text = await res.text();
    assert.equal(JSON.parse(text).error.code, '401');
    assert.ok(!text.includes(UPSTREAM_KEY), text);
  });

  test('the official SDK sees the upstream status through the gateway', async (t) => {
    const { front } = await gateway(t, [403, { error: { code: 'AuthenticationTypeDisabled', message: 'No keys.' } }]);
    const client = new AzureOpenAI({ endpoint: front, apiKey: 'x', apiVersion: '2024-10-21', maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      (e: { status?: number }) => e.status === 403,
    );
  });
});
