// Hostile upstreams against the client (issue 9): oversized non-streaming answers, made-up
// choice indexes, and an upstream that echoes the caller's key into what it answers.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import {
  ApiError,
  AuthenticationError,
  ErrorCodes,
  ProtocolError,
  ResponseTooLargeError,
  StreamErrorFrame,
  StreamTruncatedError,
} from '../../src/errors.js';
import { createClient } from '../../src/index.js';
import { azureError, chatChunks, reply, stream } from '../../src/testing/azure-server.js';
import { chatBody, clientFor, KEY, rejection, serve } from '../support/client.js';

const MiB = 1024 * 1024;

/** A server whose every answer is written by `answer`; counts the bytes it managed to send. */
async function rawServer(
  t: { after(fn: () => unknown): void },
  answer: (res: ServerResponse, sent: { bytes: number }) => void,
) {
  const sent = { bytes: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res, sent));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent };
}

describe('create(): the answer size is capped', () => {
  test('an endless chunked body stops at maxResponseBytes with ResponseTooLargeError', async (t) => {
    const server = await rawServer(t, (res, sent) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const piece = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!res.destroyed && sent.bytes < 64 * MiB) {
          sent.bytes += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.write('{"choices":[],"pad":"');
      pump();
    });
    const client = createClient({ baseURL: server.url, apiKey: KEY, maxResponseBytes: MiB, maxRetries: 0 });
    const err = await rejection(client.chat.create(chatBody));
    assert.ok(err instanceof ResponseTooLargeError, String(err));
    assert.equal(err.code, ErrorCodes.RESPONSE_TOO_LARGE);
    assert.equal(err.limitBytes, MiB);
    assert.match(err.message, /larger than 1048576 bytes/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Socket buffers let a few MiB more out; an unbounded reader would take all 64.
    assert.ok(server.sent.bytes < 16 * MiB, `the server sent ${server.sent.bytes} bytes`);
  });

  test('a declared content-length over the cap is refused before reading', async (t) => {
    const server = await serve(t, { scenarios: { d: reply(200, { choices: [], pad: 'y'.repeat(4096) }) } });
    const err = await rejection(clientFor(server, { maxResponseBytes: 1024 }).chat.create(chatBody));
    assert.ok(err instanceof ResponseTooLargeError, String(err));
  });

  test('an answer within the cap is read as before', async (t) => {
    const body = {
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'é'.repeat(3000) }, finish_reason: 'stop', logprobs: null },
      ],
    };
    const server = await serve(t, { scenarios: { d: reply(200, body) } });
    const result = await clientFor(server, { maxResponseBytes: 64 * 1024 }).chat.create(chatBody);
    assert.equal(result.choices[0]?.message.content, 'é'.repeat(3000), 'multi-byte text split across reads survives');
  });
});

describe('create(): upstream indexes are bounded', () => {
  test('a choice index of 1e9 is a ProtocolError, not a dense array', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: reply(200, { id: 'x', choices: [{ index: 1e9, message: { content: 'x' }, finish_reason: 'stop' }] }),
      },
    });
    const err = await rejection(clientFor(server).chat.create(chatBody));
    assert.ok(err instanceof ProtocolError && err.type === 'unexpected-shape', String(err));
  });
});

describe('stream(): a malformed chunk from a real server', () => {
  test('a usage chunk without choices completes; data: {} fails typed with the partial kept', async (t) => {
    const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
    const server = await serve(t, {
      scenarios: {
        ok: stream([...chatChunks(['Hi'], { done: false }), { chunk: { id: 'c', usage } }, { done: true }]),
        bad: stream([...chatChunks(['Hel'], { finishReason: null, done: false }), { chunk: {} }, { done: true }]),
      },
    });
    const client = clientFor(server);
    const good = await client.chat.stream(chatBody, { deployment: 'ok' }).final();
    assert.deepStrictEqual(good.end, { state: 'completed' });
    const bad = await client.chat.stream(chatBody, { deployment: 'bad' }).final();
    assert.ok(bad.error instanceof ProtocolError && bad.error.type === 'unexpected-shape', String(bad.error));
    assert.equal(bad.response.choices[0]?.message.content, 'Hel');
  });
});

/** Every trace of `err` a caller or a log could see. */
function everything(err: unknown): string {
  const e = err as Error & { body?: unknown; partial?: unknown; results?: unknown; cause?: unknown };
  const cause = e.cause as (Error & { body?: unknown }) | undefined;
  return [
    e.message,
    e.stack,
    JSON.stringify(e.body),
    JSON.stringify(e.partial),
    JSON.stringify(e.results),
    cause?.message,
    cause?.stack,
    JSON.stringify(cause?.body),
  ].join('\n');
}

describe('the caller’s credentials never come back out of the client', () => {
  const echo = (what: string) => `upstream says: received api-key ${KEY} and header "${what}"`;

  test('an HTTP error body that echoes the key (create and stream)', async (t) => {
    const server = await serve(t, {
      fallback: reply(401, azureError('401', echo('x'), { echoed: { key: KEY, nested: [`k ${KEY}`] } })),
    });
    for (const call of [
      () => clientFor(server).chat.create(chatBody),
      () => clientFor(server).chat.stream(chatBody).text(),
    ]) {
      const err = await rejection(call());
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.ok(!everything(err).includes(KEY), everything(err));
      assert.match(err.message, /\[redacted\]/);
    }
  });

  test('a stream error frame, and a partial answer, that echo the key', async (t) => {
    const server = await serve(t, {
      scenarios: {
        frame: stream([
          ...chatChunks([`your key is ${KEY}`], { finishReason: null, done: false }),
          { error: azureError('server_error', echo('y')) },
        ]),
        cut: stream(chatChunks([`your key is ${KEY}`], { finishReason: null, done: false })),
      },
    });
    const frame = await clientFor(server).chat.stream(chatBody, { deployment: 'frame' }).final();
    assert.ok(frame.error instanceof StreamErrorFrame, String(frame.error));
    assert.ok(!everything(frame.error).includes(KEY), everything(frame.error));
    assert.match(JSON.stringify(frame.error.partial), /your key is \[redacted\]/, 'the partial arrived, scrubbed');
    const cut = await clientFor(server).chat.stream(chatBody, { deployment: 'cut' }).final();
    assert.ok(cut.error instanceof StreamTruncatedError, String(cut.error));
    assert.ok(!everything(cut.error).includes(KEY), everything(cut.error));
    assert.ok(
      !JSON.stringify(cut.response).includes(KEY),
      'final().response of a failed stream is its partial, scrubbed',
    );
    assert.match(String(cut.response.choices[0]?.message.content), /your key is \[redacted\]/);
  });

  test('a token from a token provider, and a key passed as a header, are scrubbed too', async (t) => {
    const token = 'eyFresh-token-0123456789';
    const server = await serve(t, {
      apiKey: undefined,
      fallback: reply(500, azureError('InternalServerError', `bad token ${token}; header key ${KEY}`)),
    });
    const client = createClient({
      endpoint: server.url,
      deployment: 'd',
      tokenProvider: () => token,
      headers: { 'ocp-apim-subscription-key': KEY },
      maxRetries: 0,
    });
    const err = await rejection(client.chat.create(chatBody));
    assert.ok(err instanceof ApiError, String(err));
    const text = everything(err);
    assert.ok(!text.includes(token) && !text.includes(KEY), text);
  });
});
