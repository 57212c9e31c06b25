// client.embeddings.create against the Azure-shaped test server: the routes, base64 on the
// wire and numbers for the caller, and the machinery it shares with create() — retries, the
// headers time-out, the size cap, shape checks and keys scrubbed from errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthenticationError, ProtocolError, ResponseTooLargeError, TimeoutError } from '../../src/errors.js';
import { decodeEmbedding, encodeEmbedding } from '../../src/protocol/embeddings.js';
import { azureError, embeddingsReply, reply } from '../../src/testing/azure-server.js';
import { clientFor, KEY, rejection, serve } from '../support/client.js';

const VECTORS = [
  [0.25, -0.5, 0.75],
  [1, 0, -1],
];

describe('embeddings.create', () => {
  test('OpenAI base64 is little-endian float32: known bytes, and the round trip keeps float32 values', () => {
    assert.equal(encodeEmbedding([1, -2]), 'AACAPwAAAMA=');
    assert.deepEqual(decodeEmbedding('AACAPwAAAMA='), [1, -2]);
    const values = [0.1, -3.5e-8, 123456.789, 0];
    assert.deepEqual(
      decodeEmbedding(encodeEmbedding(values)),
      values.map((v) => Math.fround(v)),
    );
    assert.throws(() => decodeEmbedding('AACAPwA='), ProtocolError, 'not whole float32 values');
    assert.throws(() => decodeEmbedding('!!'), ProtocolError);
  });

  test('the deployment route, base64 on the wire, numbers back; base64 kept when asked', async (t) => {
    const server = await serve(t, { scenarios: { emb: embeddingsReply(VECTORS) } });
    const client = clientFor(server, { deployment: 'emb' });
    const answer = await client.embeddings.create({ input: ['a', 'b'] });
    assert.deepEqual(
      answer.data.map((d) => d.embedding),
      VECTORS,
    );
    assert.equal(answer.meta.status, 200);
    const request = server.requests[0]!;
    assert.equal(request.path, '/openai/deployments/emb/embeddings');
    assert.equal(request.apiVersion, '2024-10-21');
    assert.equal(request.body?.encoding_format, 'base64');
    assert.equal(request.body?.stream, undefined);
    const raw = await client.embeddings.create({ input: 'a', encoding_format: 'base64' });
    assert.equal(raw.data[0]?.embedding, encodeEmbedding(VECTORS[0]!));
  });

  test('retries a 429 like create(), and stops at the headers time-out', async (t) => {
    const server = await serve(t, {
      scenarios: {
        emb: (request, n) =>
          n === 0
            ? reply(429, azureError('429', 'slow down'), { 'retry-after-ms': '5' })
            : embeddingsReply(VECTORS)(request),
        slow: reply(200, {}, {}, { headersDelayMs: 10_000 }),
      },
    });
    const answer = await clientFor(server, { deployment: 'emb' }).embeddings.create({ input: 'a' });
    assert.equal(answer.meta.attempts, 2);
    const err = await rejection(
      clientFor(server, { deployment: 'slow', maxRetries: 0 }).embeddings.create(
        { input: 'a' },
        { timeouts: { headersMs: 50 } },
      ),
    );
    assert.ok(err instanceof TimeoutError, String(err));
  });

  test('an answer over maxResponseBytes, one without data, one with too many entries or a bad vector', async (t) => {
    const big = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: Array(5000).fill(0.5) }] };
    const server = await serve(t, {
      scenarios: {
        big: reply(200, big),
        nodata: reply(200, { object: 'list' }),
        extra: reply(200, {
          object: 'list',
          data: [0, 1].map((index) => ({ object: 'embedding', index, embedding: [1] })),
        }),
        bad: reply(200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: ['x'] }] }),
        badBase64: reply(200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: 'AAA' }] }),
      },
    });
    const call = (deployment: string, max?: number) =>
      rejection(
        clientFor(server, { deployment, ...(max ? { maxResponseBytes: max } : {}) }).embeddings.create({ input: 'a' }),
      );
    assert.ok((await call('big', 1024)) instanceof ResponseTooLargeError);
    for (const deployment of ['nodata', 'extra', 'bad', 'badBase64']) {
      const err = await call(deployment);
      assert.ok(err instanceof ProtocolError, `${deployment}: ${String(err)}`);
    }
  });

  test('an error body that echoes the key comes back scrubbed', async (t) => {
    const server = await serve(t, {
      fallback: reply(401, azureError('401', `received api-key ${KEY}`, { echoed: KEY })),
    });
    const err = await rejection(clientFor(server, { deployment: 'emb' }).embeddings.create({ input: 'a' }));
    assert.ok(err instanceof AuthenticationError, String(err));
    assert.ok(!`${err.message}\n${err.stack}\n${JSON.stringify(err.body)}`.includes(KEY));
    assert.match(err.message, /\[redacted\]/);
  });
});
