// The client's node:http fetch (its default transport in Node, and the remote backend's): the parts of fetch's contract the client relies on, and when it stands in for the global fetch.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { serveNodeHttp } from '../../test/support/node-http.js';
import { claimNodeBody } from './body-feed.js';
import { createClient } from './client.js';
import { createHttpFetch, headerLookupOf, nodeHttpCanStandIn } from './http-fetch.js';

/** A server on 127.0.0.1 for one test, and the node:http fetch to reach it; counts connections. */
const serve = serveNodeHttp;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => resolve(body));
  });
}

describe('createHttpFetch', () => {
  test('POSTs the string body with its headers and streams the answer as it arrives', async (t) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: { body?: string; headers?: IncomingMessage['headers'] } = {};
    const { url, fetch } = await serve(t, async (req, res) => {
      seen.headers = req.headers;
      seen.body = await readBody(req);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-ms-region': 'East US' });
      res.write('data: one\n\n');
      await released;
      res.end('data: two\n\n');
    });
    const response = await fetch(`${url}/path?q=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': 'k' },
      body: '{"é":1}',
    });
    assert.equal(response.status, 200);
    assert.equal(response.ok, true);
    assert.equal(response.headers.get('x-ms-region'), 'East US');
    assert.equal(seen.body, '{"é":1}');
    assert.equal(seen.headers?.['api-key'], 'k');
    assert.equal(seen.headers?.['content-length'], String(Buffer.byteLength('{"é":1}')));
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    // The first part is readable while the server still holds the second back.
    assert.equal(decoder.decode((await reader.read()).value), 'data: one\n\n');
    release();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value);
    assert.equal(rest, 'data: two\n\n');
  });

  test('keeps connections alive between requests', async (t) => {
    const { url, fetch, connections } = await serve(t, (_req, res) => res.end('ok'));
    for (let i = 0; i < 3; i++) assert.equal(await (await fetch(url, { method: 'POST', body: 'x' })).text(), 'ok');
    assert.equal(connections(), 1);
  });

  test('sends each request to its own URL, also when URLs repeat (parsed once per URL), with credentials in the URL as Basic auth', async (t) => {
    const seen: string[] = [];
    const { url, fetch } = await serve(t, (req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? '-'} ${req.headers['x-case'] ?? '-'}`);
      res.end('ok');
    });
    const withUser = url.replace('http://', 'http://u%40x:p@');
    for (const to of [`${url}/a?q=1`, `${url}/b`, `${url}/a?q=1`, `${withUser}/c`, `${url}/a?q=2`]) {
      await (await fetch(to, { method: 'POST', body: '', headers: { 'X-Case': 'Kept' } })).text();
    }
    const basic = `Basic ${Buffer.from('u@x:p').toString('base64')}`;
    assert.deepEqual(seen, ['/a?q=1 - Kept', '/b - Kept', '/a?q=1 - Kept', `/c ${basic} Kept`, '/a?q=2 - Kept']);
  });

  test('returns redirects and body-less answers as they are', async (t) => {
    const { url, fetch } = await serve(t, (req, res) => {
      if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
      else res.writeHead(204).end();
    });
    const moved = await fetch(`${url}/moved`, { method: 'POST', body: '', redirect: 'manual' });
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.get('location'), '/elsewhere');
    const empty = await fetch(`${url}/empty`, { method: 'POST', body: '' });
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
  });

  test("an answer's headers are read from node:http's raw list as Headers reads them, and `headers` is filled when first read", async (t) => {
    const { url, fetch } = await serve(t, (req) => {
      // Written by hand: mixed case, a repeated header, padding and an empty value.
      req.socket.end(
        'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Ms-Region:  East US \t\r\n' +
          'x-dup: one\r\nX-Dup: two\r\nx-empty:\r\nConnection: close\r\n\r\ndata: [DONE]\n\n',
      );
    });
    const response = await fetch(url, { method: 'POST', body: '' });
    const names = [
      'content-type',
      'Content-Type',
      'x-ms-region',
      'x-dup',
      'X-DUP',
      'x-empty',
      'x-absent',
      'connection',
    ];
    const read = names.map((name) => headerLookupOf(response).get(name));
    assert.deepEqual(read, [
      'text/event-stream',
      'text/event-stream',
      'East US',
      'one, two',
      'one, two',
      '',
      null,
      'close',
    ]);
    assert.deepEqual(
      names.map((name) => response.headers.get(name)),
      read,
    );
    assert.equal(await response.text(), 'data: [DONE]\n\n');
    // Any other Response is read through its own headers.
    assert.equal(headerLookupOf(new Response(null, { headers: { 'X-A': ' b ' } })).get('x-a'), 'b');
  });

  test('a connection failure rejects like the global fetch: TypeError with the system error as cause', async (t) => {
    const { fetch, close } = createHttpFetch();
    t.after(close);
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const err = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '' }).then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TypeError, String(err));
    assert.equal((err.cause as { code?: string }).code, 'ECONNREFUSED');
  });

  test('an abort before the headers rejects with the reason and closes the request', async (t) => {
    let closedAtServer!: () => void;
    const serverSawClose = new Promise<void>((resolve) => {
      closedAtServer = resolve;
    });
    const { url, fetch } = await serve(t, (req) => {
      req.socket.on('close', closedAtServer);
    });
    const controller = new AbortController();
    const pending = fetch(url, { method: 'POST', body: '', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop now')), 50);
    await assert.rejects(pending, /stop now/);
    await serverSawClose;
  });

  test('an abort mid-body fails the read with the reason and closes the connection', async (t) => {
    let closedAtServer!: () => void;
    const serverSawClose = new Promise<void>((resolve) => {
      closedAtServer = resolve;
    });
    const { url, fetch } = await serve(t, (_req, res) => {
      res.on('close', closedAtServer);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    });
    const controller = new AbortController();
    const response = await fetch(url, { method: 'POST', body: '', signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort(new Error('consumer left'));
    await assert.rejects(reader.read(), /consumer left/);
    await serverSawClose;
  });

  test('refuses what it does not implement instead of sending something else', async () => {
    const { fetch, close } = createHttpFetch();
    try {
      await assert.rejects(fetch('ftp://127.0.0.1/', { method: 'POST', body: '' }), TypeError);
      await assert.rejects(fetch('http://127.0.0.1:9/', { method: 'POST', body: new Uint8Array(1) }), /string bodies/);
    } finally {
      close();
    }
  });

  test("a body is read once: the client's SSE source takes the node:http message, or response.body reads it", async (t) => {
    const { url, fetch } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: one\n\n');
    });
    const taken = await fetch(url, { method: 'POST', body: '' });
    const message = claimNodeBody(taken);
    assert.ok(message !== undefined, 'the message is offered beside the Response');
    message.resume();
    await assert.rejects(taken.body!.getReader().read(), /already being read/);

    const read = await fetch(url, { method: 'POST', body: '' });
    assert.equal(new TextDecoder().decode((await read.body!.getReader().read()).value), 'data: one\n\n');
    assert.equal(claimNodeBody(read), undefined, 'no longer offered once response.body read it');
  });

  test('the client streams from the message itself: [DONE] leaves the connection for the next request; a cut keeps the partial', async (t) => {
    const chunk = (delta: string, finish: string) =>
      `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":${delta},"finish_reason":${finish}}]}\n\n`;
    const hi = chunk('{"content":"Hi"}', 'null');
    const { url, fetch, connections } = await serve(t, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url?.includes('/deployments/cut/')) {
        res.write(hi);
        setTimeout(() => res.socket?.destroy(), 20);
      } else res.end(`${hi}${chunk('{}', '"stop"')}data: [DONE]\n\n`);
    });
    const client = createClient({ endpoint: url, apiKey: 'k', deployment: 'ok', fetch, maxRetries: 0 });
    const body = { messages: [{ role: 'user' as const, content: 'x' }] };
    for (let i = 0; i < 3; i++) assert.equal(await client.chat.stream(body).text(), 'Hi');
    assert.equal(connections(), 1, 'each stream read to its end gave its connection back');

    const cut = await client.chat.stream(body, { deployment: 'cut' }).final();
    assert.equal(cut.end.state, 'truncated');
    assert.equal(cut.response.choices[0]?.message.content, 'Hi');
  });

  test('no web stream is made for a body the SSE source takes; text() still reads one nobody took, and not one taken', async (t) => {
    const { url, fetch } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
      );
    });
    const made: unknown[] = [];
    const WebStream = globalThis.ReadableStream;
    globalThis.ReadableStream = class extends WebStream<Uint8Array> {
      constructor(...args: ConstructorParameters<typeof ReadableStream<Uint8Array>>) {
        super(...args);
        made.push(this);
      }
    } as typeof ReadableStream;
    t.after(() => {
      globalThis.ReadableStream = WebStream;
    });
    const client = createClient({ endpoint: url, apiKey: 'k', deployment: 'd', fetch, maxRetries: 0 });
    assert.equal(await client.chat.stream({ messages: [{ role: 'user', content: 'x' }] }).text(), 'Hi');
    assert.equal(made.length, 0, 'web streams made for a stream the SSE source read');

    const untouched = await fetch(url, { method: 'POST', body: '' });
    assert.equal(untouched.bodyUsed, false);
    assert.match(await untouched.text(), /"content":"Hi"/);
    assert.equal(untouched.bodyUsed, true);
    const taken = await fetch(url, { method: 'POST', body: '' });
    claimNodeBody(taken)?.resume();
    assert.equal(taken.bodyUsed, true, 'taken by a reader of the message');
    await assert.rejects(taken.text());
  });
});

describe('defaultFetch: what a client given no fetch uses', () => {
  /** A one-chunk chat stream; records each request's headers. */
  async function chatServer(t: import('node:test').TestContext) {
    const headers: IncomingMessage['headers'][] = [];
    const { url } = await serve(t, (req, res) => {
      headers.push(req.headers);
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
      );
    });
    const client = createClient({ endpoint: url, apiKey: 'k', deployment: 'd', maxRetries: 0 });
    return { headers, text: () => client.chat.stream({ messages: [{ role: 'user', content: 'x' }] }).text() };
  }

  test("Node's own global fetch: node:http stands in (none of undici's fetch headers reach the server)", async (t) => {
    assert.equal(nodeHttpCanStandIn(), true);
    const { headers, text } = await chatServer(t);
    assert.equal(await text(), 'hi');
    // undici's fetch always sends `sec-fetch-mode: cors`; node:http sends only what the client set.
    assert.equal(headers[0]?.['sec-fetch-mode'], undefined);
    assert.equal(headers[0]?.['api-key'], 'k');
  });

  test('a replaced global fetch (a stub, a polyfill, a test double) is used, not bypassed', async (t) => {
    const own = globalThis.fetch;
    let calls = 0;
    globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
      calls++;
      return own(input, init);
    }) as typeof fetch;
    t.after(() => {
      globalThis.fetch = own;
    });
    assert.equal(nodeHttpCanStandIn(), false);
    const { text } = await chatServer(t);
    assert.equal(await text(), 'hi');
    assert.equal(calls, 1);
  });

  test('a proxy or mock dispatcher installed for the global fetch is honoured', (t) => {
    const key = Symbol.for('undici.globalDispatcher.1');
    const slot = globalThis as unknown as Record<symbol, unknown>;
    const before = slot[key];
    class ProxyAgent {}
    // As undici's setGlobalDispatcher does (a writable, non-configurable slot once set).
    slot[key] = new ProxyAgent();
    t.after(() => {
      slot[key] = before;
    });
    assert.equal(nodeHttpCanStandIn(), false);
    class Agent {}
    slot[key] = new Agent();
    assert.equal(nodeHttpCanStandIn(), true);
  });
});
