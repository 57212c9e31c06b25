// Observability covers every API the server serves, not only Chat Completions and
// Completions: a streamed Responses API request and an embeddings request each leave a
// request span (OTLP/HTTP to a receiver on 127.0.0.1) with the GenAI operation name, the
// model asked for and the usage, and GenAI metrics; the JSON log records both.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { createScriptedBackend, textScript } from '../../src/backends/scripted/index.js';
import { createObservability } from '../../src/gateway/observability.js';
import { embeddingsReply, startAzureServer } from '../../src/testing/azure-server.js';
import { attr, startReceiver } from '../support/otlp.js';
import { post, start } from '../support/server.js';

const UPSTREAM_KEY = 'upstream-secret-key-apis-0123456789';
const SPAN_KIND_SERVER = 2;

describe('observability of the Responses API and embeddings', () => {
  test('a streamed Responses request and an embeddings request each leave a request span with usage', async (t) => {
    const receiver = await startReceiver(t);
    const upstream = await startAzureServer({
      apiKey: UPSTREAM_KEY,
      scenarios: { emb: embeddingsReply([[0.25, 0.5, 0.75]], { tokensPerInput: 4 }) },
    });
    t.after(() => upstream.close());
    const lines: string[] = [];
    const obs = await createObservability({ otlpEndpoint: receiver.url, jsonLog: (line) => lines.push(line) });
    const { url } = await start(t, {
      deployments: {
        talk: createScriptedBackend(textScript('chat', 'Once upon a time', { promptTokens: 5 })),
        emb: createRemoteBackend({ endpoint: upstream.url, apiKey: UPSTREAM_KEY, deployment: 'emb', maxRetries: 0 }),
      },
      observer: obs.observer,
      logFormat: 'json',
      log: (line) => lines.push(line),
    });

    const streamed = await post(`${url}/v1/responses`, {
      model: 'talk',
      input: 'Tell me a story',
      stream: true,
      max_output_tokens: 40,
    });
    assert.equal(streamed.status, 200);
    const events = await streamed.text();
    assert.match(events, /response\.output_text\.delta/);
    assert.match(events, /response\.completed/);
    const embedded = await post(`${url}/v1/embeddings`, { model: 'emb', input: 'a line' });
    assert.equal(embedded.status, 200, await embedded.clone().text());
    await obs.close(); // flushes spans and metrics

    const requests = receiver.spans().filter((s) => s.kind === SPAN_KIND_SERVER);
    const responses = requests.find((s) => attr(s, 'gen_ai.request.model') === 'talk');
    assert.ok(responses, `a span for the Responses request among ${requests.map((s) => s.name).join(', ')}`);
    assert.equal(responses.name, 'chat talk');
    assert.equal(attr(responses, 'gen_ai.operation.name'), 'chat');
    assert.equal(attr(responses, 'sluice.api'), 'responses');
    assert.equal(attr(responses, 'gen_ai.request.stream'), true);
    assert.equal(attr(responses, 'gen_ai.request.max_tokens'), 40);
    assert.equal(attr(responses, 'gen_ai.usage.input_tokens'), 5);
    assert.equal(attr(responses, 'gen_ai.usage.output_tokens'), 4);
    assert.equal(attr(responses, 'http.response.status_code'), 200);
    assert.equal(attr(responses, 'sluice.outcome'), 'completed');
    assert.ok((attr(responses, 'gen_ai.response.time_to_first_chunk') as number) > 0, 'time to first token');

    const embeddings = requests.find((s) => attr(s, 'gen_ai.request.model') === 'emb');
    assert.ok(embeddings, 'a span for the embeddings request');
    assert.equal(embeddings.name, 'embeddings emb');
    assert.equal(attr(embeddings, 'gen_ai.operation.name'), 'embeddings');
    assert.equal(attr(embeddings, 'gen_ai.usage.input_tokens'), 4);
    assert.equal(attr(embeddings, 'http.response.status_code'), 200);
    assert.equal(attr(embeddings, 'sluice.outcome'), 'completed');

    const metrics = new Set(receiver.metricNames());
    for (const name of [
      'gen_ai.server.request.duration',
      'gen_ai.client.token.usage',
      'gen_ai.server.time_to_first_token',
    ]) {
      assert.ok(metrics.has(name), `metric ${name} in ${[...metrics].join(', ')}`);
    }
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(
      logged.some((l) => l.route === 'openai_responses') && logged.some((l) => l.route === 'openai_embeddings'),
      lines.join('\n'),
    );
    assert.ok(!lines.join('\n').includes(UPSTREAM_KEY), 'no key in the log');
  });
});
