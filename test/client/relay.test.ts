// client.relay(): a streamed answer read to be forwarded. The same end states, checks,
// time-outs and scrubbing as client.stream(), the upstream's own JSON text kept per chunk,
// and both ways of reading (for-await, and take()/wait() with no promise per chunk).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOT_READY } from '../../src/backend.js';
import { ChunkRelay } from '../../src/client/chunk-relay.js';
import {
  AbortError,
  AuthenticationError,
  ProtocolError,
  StreamErrorFrame,
  StreamTruncatedError,
  TimeoutError,
} from '../../src/errors.js';
import { DEFAULT_SHAPE_LIMITS } from '../../src/protocol/shape.js';
import { sourceJsonOf } from '../../src/protocol/source-json.js';
import { azureError, chatChunks, reply, stream } from '../../src/testing/azure-server.js';
import type { ChatCompletionChunk } from '../../src/types.js';
import { chatBody, clientFor, drain, KEY, rejection, serve, textOf } from '../support/client.js';

function partialThen(...tail: Parameters<typeof stream>[0]) {
  return stream([...chatChunks(['Hello', ' wor'], { finishReason: null, done: false }), ...tail]);
}

function contentOf(chunks: ChatCompletionChunk[]): string {
  return chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
}

/** Reads `relay` as a gateway does: take() what is here, wait() for more, next() for the end. */
async function pull(relay: ChunkRelay<'chat'>): Promise<{ chunks: ChatCompletionChunk[]; reads: number[] }> {
  const chunks: ChatCompletionChunk[] = [];
  const reads: number[] = [];
  for (;;) {
    for (let c = relay.take(); c !== NOT_READY; c = relay.take()) chunks.push(c);
    reads.push(chunks.length);
    await new Promise<void>((wake) => relay.wait(wake));
    const c = relay.take();
    if (c !== NOT_READY) {
      chunks.push(c);
      continue;
    }
    const step = await relay.next();
    if (step.done) return { chunks, reads };
    chunks.push(step.value);
  }
}

test('a whole answer: every chunk as it came (its upstream JSON kept), incrementally, then the end', async (t) => {
  const server = await serve(t, {
    scenarios: {
      d: stream([
        ...chatChunks(['One', ' two', ' three'], { done: false }).flatMap((item) => [item, { delay: 30 }]),
        { done: true },
      ]),
    },
  });
  const relay = clientFor(server).relay('chat', chatBody);
  const meta = await relay.meta;
  assert.equal(meta.status, 200);
  assert.equal(meta.region, 'swedencentral');
  const { chunks, reads } = await pull(relay);
  assert.equal(contentOf(chunks), 'One two three');
  assert.equal(chunks.length, 6, 'prompt filter, role, three contents, finish');
  assert.ok(reads.length >= 5, `the chunks came over several reads, not at once (${reads.join(',')})`);
  for (const chunk of chunks) assert.deepEqual(JSON.parse(sourceJsonOf(chunk) ?? 'null'), chunk);
  assert.deepEqual(await relay.next(), { done: true, value: undefined }, 'the end stays the end');
  assert.equal(server.requests[0]!.body?.stream, true);
});

test('a cut connection: StreamTruncatedError with the partial', async (t) => {
  const server = await serve(t, { scenarios: { d: partialThen({ delay: 30 }, { cut: true }) } });
  const { items, error } = await drain(clientFor(server).relay('chat', chatBody));
  assert.equal(contentOf(items as ChatCompletionChunk[]), 'Hello wor');
  assert.ok(error instanceof StreamTruncatedError, String(error));
  assert.equal(textOf(error.partial), 'Hello wor');
});

test('[DONE] with a choice never finished is a truncation too, not a clean end', async (t) => {
  const server = await serve(t, { scenarios: { d: partialThen({ done: true }) } });
  const { error } = await drain(clientFor(server).relay('chat', chatBody));
  assert.ok(error instanceof StreamTruncatedError, String(error));
  assert.equal(error.reason, 'unfinished-choice');
});

test('a malformed chunk and a chunk beyond the shape limits end the stream with ProtocolError, the partial kept', async (t) => {
  const server = await serve(t, {
    scenarios: {
      bad: partialThen({ raw: 'data: {"choices": [\n\n' }, { done: true }),
      huge: partialThen(
        { raw: 'data: {"choices":[{"index":1000000000,"delta":{"content":"x"}}]}\n\n' },
        { done: true },
      ),
    },
  });
  for (const deployment of ['bad', 'huge']) {
    const { items, error } = await drain(clientFor(server).relay('chat', chatBody, { deployment }));
    assert.ok(error instanceof ProtocolError, `${deployment}: ${String(error)}`);
    assert.equal(contentOf(items as ChatCompletionChunk[]), 'Hello wor');
    assert.equal(textOf(error.partial), 'Hello wor');
  }
});

test('an error frame mid-stream is a StreamErrorFrame, with the key it echoed scrubbed', async (t) => {
  const server = await serve(t, {
    scenarios: { d: partialThen({ error: azureError('server_error', `upstream saw api-key ${KEY}`) }) },
  });
  const { error } = await drain(clientFor(server).relay('chat', chatBody));
  assert.ok(error instanceof StreamErrorFrame, String(error));
  assert.ok(!JSON.stringify(error).includes(KEY) && !error.message.includes(KEY), 'the key never leaves');
});

test('an error answer before any chunk: the typed error, scrubbed; meta rejects with it', async (t) => {
  const server = await serve(t, { scenarios: { d: reply(401, azureError('401', `Access denied for key ${KEY}`)) } });
  const relay = clientFor(server, { maxRetries: 0 }).relay('chat', chatBody);
  const error = await rejection(relay.next());
  assert.ok(error instanceof AuthenticationError, String(error));
  assert.ok(!error.message.includes(KEY));
  assert.equal(await rejection(relay.meta), error);
});

test('idle: silence while the reader waits times out, the partial kept and the connection closed', async (t) => {
  const server = await serve(t, { scenarios: { d: partialThen({ stall: true }) } });
  const relay = clientFor(server, { timeouts: { idleMs: 80 } }).relay('chat', chatBody);
  const { items, error } = await drain(relay);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.phase, 'idle');
  assert.equal(contentOf(items as ChatCompletionChunk[]), 'Hello wor');
  assert.equal(textOf(error.partial), 'Hello wor');
  await server.requests[0]!.disconnected;
});

test('idle, read with take() and wait() as a gateway reads: the wait counts as waiting', {
  timeout: 5000,
}, async (t) => {
  const server = await serve(t, { scenarios: { d: partialThen({ stall: true }) } });
  const relay = clientFor(server, { timeouts: { idleMs: 80 } }).relay('chat', chatBody);
  const error = await rejection(pull(relay));
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.phase, 'idle');
  await server.requests[0]!.disconnected;
});

test('idle counts only while the reader waits: a slow reader never looks like a stalled upstream', async (t) => {
  const server = await serve(t, { scenarios: { d: stream(chatChunks(['a', 'b', 'c'])) } });
  const relay = clientFor(server, { timeouts: { idleMs: 60 } }).relay('chat', chatBody);
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of relay) {
    chunks.push(chunk);
    await new Promise((r) => setTimeout(r, 100)); // longer than the idle limit, away from the stream
  }
  assert.equal(contentOf(chunks), 'abc');
});

test('first-token: no content within the limit fails the stream, even with the headers in', async (t) => {
  const server = await serve(t, {
    scenarios: { d: stream([...chatChunks([], { finishReason: null, done: false }), { stall: true }]) },
  });
  const { error } = await drain(clientFor(server, { timeouts: { firstTokenMs: 80 } }).relay('chat', chatBody));
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.phase, 'first-token');
  await server.requests[0]!.disconnected;
});

test('abort mid-stream: AbortError with the partial, the connection closed; leaving early closes it too', async (t) => {
  const server = await serve(t, { scenarios: { d: partialThen({ stall: true }) } });
  const controller = new AbortController();
  const relay = clientFor(server).relay('chat', chatBody, { signal: controller.signal });
  const seen: string[] = [];
  const error = await rejection(
    (async () => {
      for await (const chunk of relay) {
        seen.push(chunk.choices[0]?.delta?.content ?? '');
        if (seen.join('') === 'Hello wor') controller.abort('stop');
      }
    })(),
  );
  assert.ok(error instanceof AbortError, String(error));
  assert.equal(textOf(error.partial), 'Hello wor');
  await server.requests[0]!.disconnected;

  const leaving = clientFor(server).relay('chat', chatBody);
  for await (const chunk of leaving) if (chunk.choices[0]?.delta?.content === 'Hello') break;
  await server.requests[1]!.disconnected;
  assert.ok(
    (await rejection(leaving.next())) instanceof AbortError,
    'a stream left early does not pass for a whole one',
  );
});

test('a source that fails as it starts: its error, thrown by next() and told by wait(), never a TypeError', async () => {
  const relay = new ChunkRelay(
    'chat',
    () => {
      throw new ProtocolError('unexpected-shape', 'no source today');
    },
    { limits: DEFAULT_SHAPE_LIMITS },
  );
  assert.equal(relay.take(), NOT_READY);
  await new Promise<void>((wake) => relay.wait(wake));
  const error = await rejection(relay.next());
  assert.ok(error instanceof ProtocolError, String(error));
  assert.equal(error.message, 'no source today');
});
