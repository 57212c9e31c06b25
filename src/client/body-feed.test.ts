// The SSE source over a Node body offered beside its Response (what the remote backend's
// node:http fetch does): chunks arrive as the bytes do, a slow consumer pauses the body
// instead of queueing without bound, a cut is a truncation with the partial kept, an abort
// ends the stream and the body, and every item decoded before a fault is still delivered.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, type TestContext, test } from 'node:test';
import { sameMap } from '../../test/support/hidden-class.js';
import { serveNodeHttp } from '../../test/support/node-http.js';
import { AbortError, SseDecodeError } from '../errors.js';
import { bodyFeed, claimNodeBody, offerNodeBody } from './body-feed.js';
import { createClient } from './client.js';
import { keptShapes } from './shapes.js';

const chunk = (text: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: text === '' ? {} : { content: text }, finish_reason: finish }] })}\n\n`;

/** A client whose fetch answers every request with a fresh PassThrough offered as the body. */
function clientOverNodeBody() {
  const bodies: PassThrough[] = [];
  const fetch = (async () => {
    const body = new PassThrough();
    bodies.push(body);
    // The web body is never read here: the source must take the Node body.
    const web = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error('the web body was read'));
      },
    });
    const response = new Response(web, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    offerNodeBody(response, body);
    return response;
  }) as typeof globalThis.fetch;
  const client = createClient({ endpoint: 'http://127.0.0.1:9', apiKey: 'k', deployment: 'd', fetch, maxRetries: 0 });
  return { client, bodies };
}

const body = { messages: [{ role: 'user' as const, content: 'x' }] };
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the SSE source over a Node body', () => {
  test('delivers each chunk as its bytes arrive, and completes at [DONE]', async () => {
    const { client, bodies } = clientOverNodeBody();
    const it = client.chat.stream(body)[Symbol.asyncIterator]();
    const first = it.next();
    await tick();
    bodies[0]!.write(chunk('Hel'));
    assert.equal((await first).value?.choices[0]?.delta?.content, 'Hel');
    const second = it.next();
    await tick();
    bodies[0]!.write(chunk('lo'));
    assert.equal((await second).value?.choices[0]?.delta?.content, 'lo');
    bodies[0]!.end(`${chunk('', 'stop')}data: [DONE]\n\n`);
    while (!(await it.next()).done) {
      // the finish chunk
    }
  });

  test('a consumer that does not read pauses the body; reading again resumes it', async () => {
    const { client, bodies } = clientOverNodeBody();
    const stream = client.chat.stream(body);
    const it = stream[Symbol.asyncIterator]();
    const first = it.next();
    await tick();
    const source = bodies[0]!;
    source.write(chunk('a'));
    await first;
    // 200 KiB while nobody reads: the body stops flowing rather than queueing it all.
    const many = 1000;
    for (let i = 0; i < many; i++) source.write(chunk('x'.repeat(200)));
    await tick();
    await tick();
    assert.equal(source.isPaused(), true, 'the body is paused while the consumer does not read');
    source.end(`${chunk('', 'stop')}data: [DONE]\n\n`);
    let read = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) read++;
    assert.equal(read, many + 1);
    assert.equal((await stream.final()).end.state, 'completed');
  });

  test('a body cut mid-stream is a truncation that keeps every chunk decoded before it', async () => {
    const { client, bodies } = clientOverNodeBody();
    const stream = client.chat.stream(body);
    const pending = stream.final();
    await tick();
    // Two chunks in one read, then the connection dies without an error.
    bodies[0]!.write(chunk('one') + chunk('two'));
    await tick();
    bodies[0]!.destroy();
    const { end, response } = await pending;
    assert.equal(end.state, 'truncated');
    assert.equal(response.choices[0]?.message.content, 'onetwo');
  });

  test('an abort ends the stream with AbortError and destroys the body', async () => {
    const { client, bodies } = clientOverNodeBody();
    const stream = client.chat.stream(body);
    const it = stream[Symbol.asyncIterator]();
    const first = it.next();
    await tick();
    bodies[0]!.write(chunk('a'));
    await first;
    const waiting = it.next();
    stream.abort(new Error('enough'));
    await assert.rejects(waiting, AbortError);
    assert.equal((await stream.final()).end.state, 'aborted');
    await tick();
    assert.equal(bodies[0]!.destroyed, true);
  });

  test('a line beyond the decoder limit fails the stream after the chunks decoded before it, partial kept', async () => {
    const { client, bodies } = clientOverNodeBody();
    const stream = client.chat.stream(body);
    const pending = stream.final();
    await tick();
    // A whole chunk, then the start of a line longer than the decoder's 16 MiB limit, in one read.
    bodies[0]!.write(Buffer.concat([Buffer.from(chunk('kept')), Buffer.alloc(17 * 1024 * 1024, 0x78)]));
    const { end, response, error } = await pending;
    assert.equal(end.state, 'failed');
    assert.ok(error instanceof SseDecodeError, String(error));
    assert.equal(response.choices[0]?.message.content, 'kept');
    await tick();
    assert.equal(bodies[0]!.destroyed, true, 'the body is let go');
  });

  test('a body is claimed once', () => {
    const response = new Response('');
    const readable = new PassThrough();
    offerNodeBody(response, readable);
    assert.equal(claimNodeBody(response), readable);
    assert.equal(claimNodeBody(response), undefined);
  });
});

/**
 * A client over node:http (`createHttpFetch`) to a server on 127.0.0.1 answering with
 * `respond`; `messages` are the node:http messages the SSE source was offered, each with the
 * count of `data` events it emitted.
 */
async function clientOverNodeHttp(t: TestContext, respond: (res: ServerResponse) => void) {
  const { url, fetch: http, connections } = await serveNodeHttp(t, (_req, res) => respond(res));
  const messages: Array<{ message: IncomingMessage; dataEvents: number }> = [];
  const fetch = (async (input: string, init: RequestInit) => {
    const response = await http(input, init);
    const message = claimNodeBody(response) as IncomingMessage;
    const seen = { message, dataEvents: 0 };
    messages.push(seen);
    const emit = message.emit;
    message.emit = function (this: IncomingMessage, event: string | symbol, ...args: unknown[]) {
      if (event === 'data') seen.dataEvents++;
      return emit.call(this, event, ...args);
    } as typeof message.emit;
    offerNodeBody(response, message);
    return response;
  }) as typeof globalThis.fetch;
  const client = createClient({ endpoint: url, apiKey: 'k', deployment: 'd', fetch, maxRetries: 0 });
  return { client, messages, connections };
}

describe('the SSE source over a node:http message', () => {
  test('every message taken over has the same `push`, and the hidden class of the message kept for it', async (t: TestContext) => {
    const { url, fetch: http } = await serveNodeHttp(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${chunk('a')}${chunk('', 'stop')}data: [DONE]\n\n`);
    });
    // The messages as they are, seen through a fetch that only notes them.
    const messages: IncomingMessage[] = [];
    const fetch = (async (input: string, init: RequestInit) => {
      const response = await http(input, init);
      const message = claimNodeBody(response) as IncomingMessage;
      messages.push(message);
      offerNodeBody(response, message);
      return response;
    }) as typeof globalThis.fetch;
    const client = createClient({ endpoint: url, apiKey: 'k', deployment: 'd', fetch, maxRetries: 0 });
    assert.equal(await client.chat.stream(body).text(), 'a');
    assert.equal(await client.chat.stream(body).text(), 'a');
    const [a, b] = messages as [IncomingMessage, IncomingMessage];
    // One function for every message: the parser's compiled call to it serves every stream.
    assert.ok(Object.hasOwn(a, 'push') && a.push === b.push);
    // The message kept so that their hidden class outlives a full collection has that class
    // (made as node:http makes a client's answer: if node:http changes that, this fails).
    const kept = keptShapes().exemplars.filter((e) => e instanceof IncomingMessage);
    assert.ok(
      kept.some((e) => sameMap(e, a) && sameMap(e, b)),
      'no message kept with the hidden class of those taken over',
    );
  });

  test('a body chunk from node:http has the hidden class of the buffer kept for it', async (t) => {
    const { url } = await serveNodeHttp(t, (_req, res) => res.end('data: x\n\n'));
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { method: 'POST' }, (res) => {
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    assert.ok(chunks.length > 0);
    // The parser makes its buffers in C++, with a hidden class of their own (not Buffer.from's).
    assert.equal(sameMap(chunks[0]!, Buffer.from('x')), false);
    const kept = keptShapes().exemplars.filter((e) => Buffer.isBuffer(e));
    assert.ok(
      kept.some((e) => sameMap(e, chunks[0]!)),
      'no buffer kept with the hidden class of the body chunks',
    );
  });

  test('takes each HTTP chunk from the parser, not through a `data` event each; the connection goes back to the pool', async (t) => {
    const waiting: Array<() => void> = [];
    const { client, messages, connections } = await clientOverNodeHttp(t, async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      // The body once the client reads (bytes that came with the headers wait in the message).
      await new Promise<void>((resolve) => waiting.push(resolve));
      // One HTTP chunk per SSE event, as Azure and most servers send them.
      for (const text of ['a', 'b', 'c']) res.write(chunk(text));
      res.end(`${chunk('', 'stop')}data: [DONE]\n\n`);
    });
    for (let i = 0; i < 2; i++) {
      const stream = client.chat.stream(body);
      const text = stream.text();
      await stream.meta;
      await tick();
      waiting.shift()!();
      assert.equal(await text, 'abc');
    }
    assert.deepEqual(
      messages.map((m) => m.dataEvents),
      [0, 0],
    );
    assert.equal(connections(), 1, 'each message ended (`end`), so its connection served the next request');
  });

  test('a consumer that does not read stops the socket; reading again starts it, and every chunk arrives', async (t) => {
    // 10 MB, more than the kernel buffers between the two ends hold.
    const many = 5000;
    let written = 0;
    const { client, messages } = await clientOverNodeHttp(t, async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < many; i++) {
        written++;
        if (!res.write(chunk('x'.repeat(2000)))) await once(res, 'drain');
      }
      res.end(`${chunk('', 'stop')}data: [DONE]\n\n`);
    });
    const stream = client.chat.stream(body);
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    // Nobody reads: the socket stops, the kernel's buffers fill, and the server has to wait.
    let seen = -1;
    for (let i = 0; i < 200 && written !== seen; i++) {
      seen = written;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(written < many, `the server waits for the reader (wrote ${written} of ${many})`);
    assert.equal(messages[0]!.message.socket?.isPaused(), true, 'the socket is stopped');
    let read = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) read++;
    assert.equal(read, many + 1);
    assert.equal((await stream.final()).end.state, 'completed');
  });

  test('bytes the parser brings while earlier ones still wait in the message come after them', async () => {
    const message = new IncomingMessage(new PassThrough() as unknown as Socket);
    // Two HTTP chunks that came before anyone read (with the headers, say).
    message.push(Buffer.from('a'));
    message.push(Buffer.from('b'));
    const response = new Response(null);
    offerNodeBody(response, message);
    const got: string[] = [];
    const feed = bodyFeed(response, undefined, {
      onBytes(bytes) {
        got.push(Buffer.from(bytes).toString());
        if (got.length === 1) feed.pause(); // a slow consumer: 'b' stays in the message
      },
      onEnd() {
        got.push('(end)');
      },
      onError(cause) {
        got.push(`(error ${String(cause)})`);
      },
    });
    feed.more();
    await tick();
    assert.deepEqual(got, ['a']);
    message.push(Buffer.from('c')); // the next HTTP chunk, from the parser
    feed.more();
    await tick();
    message.push(null);
    await tick();
    assert.deepEqual(got, ['a', 'b', 'c', '(end)']);
  });
});
