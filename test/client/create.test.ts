// Non-streaming calls: same routes, retries and errors as streams; the body is the answer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortError, BadRequestError, ProtocolError, TimeoutError } from '../../src/errors.js';
import * as sluice from '../../src/index.js';
import { azureError, reply } from '../../src/testing/azure-server.js';
import { chatBody, clientFor, KEY, rejection, serve } from '../support/client.js';

const completion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi!' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
};

describe('create()', () => {
  test('returns the body as is, with meta alongside (not in its JSON)', async (t) => {
    const server = await serve(t, { scenarios: { d: reply(200, completion) } });
    const result = await clientFor(server).chat.create({ ...chatBody, stream_options: { include_usage: true } });
    assert.deepEqual(JSON.parse(JSON.stringify(result)), completion);
    assert.equal(result.meta.status, 200);
    assert.equal(result.meta.requestId, 'apim-0');
    assert.equal(result.meta.region, 'swedencentral');
    const req = server.requests[0]!;
    assert.equal(req.body?.stream, false);
    assert.equal(req.body?.stream_options, undefined, 'stream_options is for streams only');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers['api-key'], KEY);
  });

  test('retries 429 then succeeds; never retries a 400', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: [reply(429, azureError('429', 'slow down'), { 'retry-after-ms': '5' }), reply(200, completion)],
        bad: reply(
          400,
          azureError('unknown_parameter', 'Unrecognized request argument supplied: foo', { param: 'foo' }),
        ),
      },
    });
    const client = clientFor(server);
    const ok = await client.chat.create(chatBody);
    assert.equal(ok.meta.attempts, 2);
    const err = await rejection(client.completions.create({ prompt: 'x', foo: 1 }, { deployment: 'bad' }));
    assert.ok(err instanceof BadRequestError);
    assert.equal(err.apiCode, 'unknown_parameter');
    assert.equal(server.requests.filter((r) => r.deployment === 'bad').length, 1);
  });

  test('a body that is not a completion is a ProtocolError', async (t) => {
    const server = await serve(t, {
      scenarios: { d: reply(200, { hello: 'world' }), e: reply(200, azureError('oops', 'upstream said no')) },
    });
    const client = clientFor(server);
    const shape = await rejection(client.chat.create(chatBody));
    assert.ok(shape instanceof ProtocolError);
    assert.equal(shape.type, 'unexpected-shape');
    const carried = await rejection(client.chat.create(chatBody, { deployment: 'e' }));
    assert.ok(carried instanceof ProtocolError);
    assert.match(carried.message, /upstream said no/);
  });

  test('headersMs covers the whole answer; totalMs and abort end it too', async (t) => {
    const server = await serve(t, {
      scenarios: { d: reply(200, completion, undefined, { headersDelayMs: 10_000 }) },
    });
    const client = clientFor(server, { maxRetries: 0 });
    const headers = await rejection(client.chat.create(chatBody, { timeouts: { headersMs: 40 } }));
    assert.ok(headers instanceof TimeoutError);
    assert.equal(headers.phase, 'headers');
    const total = await rejection(client.chat.create(chatBody, { timeouts: { totalMs: 40 } }));
    assert.ok(total instanceof TimeoutError);
    assert.equal(total.phase, 'total');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const aborted = await rejection(client.chat.create(chatBody, { signal: ac.signal }));
    assert.ok(aborted instanceof AbortError);
    await Promise.all(server.requests.map((r) => r.disconnected));
  });
});

test('the package entry exports the client, the stream, the remote backend and every error', () => {
  for (const name of ['createClient', 'streamFromBackend', 'createRemoteBackend', 'ResponseStream', 'ErrorCodes']) {
    assert.ok(name in sluice, name);
  }
  for (const [name, value] of Object.entries(sluice)) {
    if (name.endsWith('Error') && name !== 'isSluiceError') {
      assert.equal(typeof value, 'function', name);
      assert.ok((value as { prototype: unknown }).prototype instanceof Error, `${name} is an Error class`);
    }
  }
});
