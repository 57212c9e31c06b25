import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../backend.js';
import { DEFAULT_MODEL_PATH } from '../backends/local/index.js';
import { DEFAULT_STREAM_TIMEOUTS } from '../client/options.js';
import { type AzureServer, azureError, chatChunks, reply, startAzureServer, stream } from '../testing/azure-server.js';
import type { ChatCompletionChunk } from '../types.js';
import { parseGatewayConfig } from './config.js';
import { buildGatewayTargets, targetId } from './targets.js';

const KEY = 'upstream-key-0123456789';

async function text(backend: Backend, deployment?: string): Promise<string> {
  let out = '';
  const request = {
    kind: 'chat' as const,
    // What the server passes on: the name the client used, in the route and in the body.
    body: {
      ...(deployment !== undefined ? { model: deployment } : {}),
      messages: [{ role: 'user' as const, content: 'hi' }],
    },
    ...(deployment !== undefined ? { deployment } : {}),
  };
  for await (const chunk of backend.stream(request, new AbortController().signal)) {
    out += (chunk as ChatCompletionChunk).choices[0]?.delta?.content ?? '';
  }
  return out;
}

describe('buildGatewayTargets', () => {
  let upstream: AzureServer;
  before(async () => {
    upstream = await startAzureServer({
      apiKey: KEY,
      scenarios: {
        'gpt-4o-east': stream(chatChunks(['from ', 'east'])),
        busy: reply(429, azureError('429', 'Too many requests'), { 'retry-after-ms': '10' }),
        'tiny-model': stream(chatChunks(['from openai'])),
      },
    });
  });
  after(() => upstream.close());

  function build() {
    const { config } = parseGatewayConfig(
      [
        'models:',
        '  gpt-4o:',
        `    - azure: ${upstream.url}`,
        '      deployment: gpt-4o-east',
        `      api_key: ${KEY}`,
        '      priority: 1',
        '      weight: 3',
        '      rpm: 60',
        '      timeouts: { headers_ms: 5000, first_token_ms: 4000 }',
        `    - openai: ${upstream.url}/v1`,
        '      model: tiny-model',
        `      api_key: ${KEY}`,
        '      priority: 2',
        '  busy:',
        `    - azure: ${upstream.url}`,
        '      deployment: busy',
        `      api_key: ${KEY}`,
        '  story:',
        '    - local: true',
        '  story-too:',
        `    - local: ${DEFAULT_MODEL_PATH}`,
        '',
      ].join('\n'),
      { file: '/cfg/sluice.yaml', env: {} },
    );
    return buildGatewayTargets(config);
  }

  it('one RouteTarget per configured target, with secret-free ids and the routing data', async () => {
    const built = build();
    const host = new URL(upstream.url).host;
    const [east, openai] = built.models['gpt-4o'] ?? [];
    assert.deepEqual(
      { ...east, backend: undefined },
      {
        id: `gpt-4o/0:azure:${host}`,
        backend: undefined,
        priority: 1,
        weight: 3,
        rpm: 60,
        timeouts: { headersMs: 5000, firstTokenMs: 4000 },
      },
    );
    assert.equal(openai?.id, `gpt-4o/1:openai:${host}`);
    assert.equal(openai?.priority, 2);
    assert.equal(built.models.story?.[0]?.id, 'story/0:local:tinyllamas-stories-260k-f32.gguf');
    for (const targets of Object.values(built.models)) {
      for (const t of targets) assert.ok(!t.id.includes(KEY));
    }
    await built.close();
  });

  it('a remote target’s streamed headers are timed by the router (the default limit when none is set); a local target has none', async () => {
    const built = build();
    const [east, openai] = built.models['gpt-4o'] ?? [];
    assert.equal(east?.timeouts.headersMs, 5000);
    assert.equal(openai?.timeouts.headersMs, DEFAULT_STREAM_TIMEOUTS.headersMs);
    assert.deepEqual(built.models.story?.[0]?.timeouts, {});
    await built.close();
  });

  it('a remote target always asks for its own deployment or model, whatever name the client used', async () => {
    const built = build();
    const [east, openai] = built.models['gpt-4o'] ?? [];
    assert.ok(east && openai);
    assert.equal(await text(east.backend, 'gpt-4o'), 'from east');
    assert.equal(await text(openai.backend, 'gpt-4o'), 'from openai');
    const [first, second] = upstream.requests.slice(-2);
    assert.equal(first?.deployment, 'gpt-4o-east');
    assert.equal(second?.deployment, 'tiny-model');
    assert.equal(second?.headers.authorization, `Bearer ${KEY}`);
    // Non-streaming requests too (the seam's create()).
    const body = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }] };
    await east.backend
      .create?.({ kind: 'chat', body, deployment: 'gpt-4o' }, new AbortController().signal)
      .catch(() => {});
    assert.equal(upstream.requests.at(-1)?.deployment, 'gpt-4o-east');
    await built.close();
  });

  it('a remote target makes one attempt: the router, not the client, retries', async () => {
    const built = build();
    const before = upstream.requests.length;
    const busy = built.models.busy?.[0];
    assert.ok(busy);
    await assert.rejects(text(busy.backend), (e: unknown) => (e as { status?: number }).status === 429);
    assert.equal(upstream.requests.length - before, 1);
    await built.close();
  });

  it('local targets on the same model file share one backend', async () => {
    const built = build();
    assert.equal(built.models.story?.[0]?.backend, built.models['story-too']?.[0]?.backend);
    // Two remote targets and one local backend: each distinct backend once.
    assert.equal(built.backends.length, 4);
    await built.close();
  });

  it('targetId names the model file for local targets, never its directory', () => {
    assert.equal(
      targetId('m', 2, { kind: 'local', modelPath: '/home/me/models/x.gguf', priority: 1, weight: 1, timeouts: {} }),
      'm/2:local:x.gguf',
    );
  });
});
