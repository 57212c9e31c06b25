// The gateway bench's baseline relays (bench/proxies.ts) must do what the bench says they do:
// relay every stream exactly and as it is produced, and the reading proxy must never make a
// cut or malformed upstream stream look finished.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runStreams } from '../bench/gateway-load.js';
import { DELTAS, DEPLOYMENT, GAP_MS, type MockTimes, requestBody, startMock } from '../bench/gateway-mock.js';
import { bareProxy, readingProxy } from '../bench/proxies.js';
import { type StreamItem, startAzureServer, stream } from '../src/testing/azure-server.js';

const pathOf = (deployment: string) => `/openai/deployments/${deployment}/chat/completions?api-version=2024-10-21`;
const PATH = pathOf(DEPLOYMENT);

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/**
 * One POST through `port`; resolves with the status, the body text and whether the body ended
 * whole (status 0: the connection closed before any answer).
 */
function post(port: number, body: string, path = PATH): Promise<{ status: number; text: string; complete: boolean }> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, agent: false, headers: { 'api-key': 'k' } },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        const done = () => resolve({ status: res.statusCode ?? 0, text, complete: res.complete });
        res.on('end', done);
        res.on('error', done);
        res.on('aborted', done);
      },
    );
    req.on('error', () => resolve({ status: 0, text: '', complete: false }));
    req.end(body);
  });
}

describe('bench baseline relays', () => {
  let mock: Server;
  let bare: Server;
  let reader: Server;
  let ports: { bare: number; reader: number };

  before(async () => {
    mock = await startMock();
    const mockPort = (mock.address() as AddressInfo).port;
    bare = bareProxy(mockPort);
    reader = readingProxy(mockPort);
    ports = { bare: await listen(bare), reader: await listen(reader) };
  });

  after(async () => {
    await Promise.all([close(bare), close(reader), close(mock)]);
  });

  for (const name of ['bare', 'reader'] as const) {
    it(`the ${name === 'bare' ? 'bare' : 'reading'} proxy relays every chunk exactly, as the mock sends it`, async () => {
      const records = await runStreams({ port: ports[name], path: PATH, headers: { 'api-key': 'k' } }, [11, 12, 13]);
      for (const record of records) {
        assert.equal(record.failure, undefined);
        // Prompt filter, role, the deltas, finish, usage.
        assert.equal(record.frames, DELTAS + 4);
        assert.equal(record.gapsMs.length, DELTAS - 1);
        // The mock sends a delta every 20 ms: relayed as they come, not gathered at the end.
        const sorted = [...record.gapsMs].sort((a, b) => a - b);
        assert.ok(sorted[sorted.length >> 1]! > 10, `median gap ${sorted[sorted.length >> 1]} ms`);
      }
    });
  }

  it('a request carrying a long conversation asks for the same stream, through either proxy', async () => {
    const long = requestBody(31, DELTAS, 64 * 1024);
    const size = Buffer.byteLength(long);
    assert.ok(size > 60 * 1024 && size < 70 * 1024, `${size} bytes`);
    assert.equal((JSON.parse(long) as { messages: unknown[] }).messages.length, 17);
    for (const name of ['bare', 'reader'] as const) {
      const [record] = await runStreams(
        { port: ports[name], path: PATH, headers: { 'api-key': 'k' } },
        [31],
        2,
        64 * 1024,
      );
      // The text checked is stream 31's: the conversation after the first message changes nothing.
      assert.equal(record?.failure, undefined, name);
      assert.equal(record?.frames, 2 + 4, name);
    }
  });

  it('the mock serves a shorter stream when asked for `stream <seed> of <n>`, and refuses n outside 1-64', async () => {
    const mockPort = (mock.address() as AddressInfo).port;
    const [one] = await runStreams({ port: mockPort, path: PATH, headers: { 'api-key': 'k' } }, [21], 1);
    assert.equal(one?.failure, undefined);
    // Prompt filter, role, one delta, finish, usage.
    assert.equal(one?.frames, 1 + 4);
    const three = await post(mockPort, requestBody(22, 3));
    assert.equal(three.status, 200);
    assert.match(three.text, /"usage":\{"completion_tokens":3,/);
    for (const n of [0, DELTAS + 1]) {
      const refused = await post(
        mockPort,
        JSON.stringify({ messages: [{ role: 'user', content: `stream 5 of ${n}` }] }),
      );
      assert.equal(refused.status, 400, `stream 5 of ${n}`);
    }
  });

  it("the mock's times split each first token into the way there, the upstream's wait and the way back", async () => {
    const times = new Map<number, MockTimes>();
    const timed = await startMock(0, (seed, t) => times.set(seed, t));
    const proxy = bareProxy((timed.address() as AddressInfo).port);
    try {
      const records = await runStreams(
        { port: await listen(proxy), path: PATH, headers: { 'api-key': 'k' } },
        [41, 42],
        2,
      );
      for (const r of records) {
        assert.equal(r.failure, undefined);
        const atMock = times.get(r.seed);
        assert.ok(atMock, `times of stream ${r.seed}`);
        const there = atMock.arrived - r.sentAt;
        const wait = atMock.firstDelta - atMock.arrived;
        const back = r.sentAt + r.ttftMs - atMock.firstDelta;
        // Taken at the right moments: each leg a real interval, and the mock's first delta its 20 ms after the request.
        assert.ok(there > 0 && there < r.ttftMs - GAP_MS, `there ${there} ms`);
        assert.ok(back > 0 && back < r.ttftMs - GAP_MS, `back ${back} ms`);
        assert.ok(wait >= GAP_MS - 1 && wait < r.ttftMs, `the mock's wait ${wait} ms`);
      }
    } finally {
      await Promise.all([close(proxy), close(timed)]);
    }
  });

  it('the reading proxy answers 400 to a body that is not a chat request', async () => {
    const answer = await post(ports.reader, '{"prompt": 1}');
    assert.equal(answer.status, 400);
    assert.equal((await post(ports.reader, 'not json')).status, 400);
  });

  const chunk = (content: string) =>
    `data: {"choices":[{"delta":{"content":${JSON.stringify(content)}},"index":0}]}\n\n`;
  const [a, b] = [chunk('a'), chunk('b')];
  // Each scripted upstream answer (the project's fault server), and what the client must get:
  // the bytes relayed before the end, and whether the answer ended whole.
  const cases: Array<{ name: string; items: StreamItem[]; relayed: string; whole: boolean }> = [
    {
      name: 'a finished stream ends whole',
      items: [{ raw: a }, { raw: b }, { done: true }],
      relayed: `${a}${b}data: [DONE]\n\n`,
      whole: true,
    },
    {
      name: 'a stream cut by the upstream does not end whole, and keeps what came',
      items: [{ raw: a }, { raw: b }, { delay: 20 }, { cut: true }],
      relayed: a + b,
      whole: false,
    },
    {
      name: 'a stream ended without [DONE] does not end whole, and keeps what came',
      items: [{ raw: a }],
      relayed: a,
      whole: false,
    },
    {
      name: 'a malformed chunk ends the stream, not whole, and is not relayed',
      items: [{ raw: a }, { delay: 20 }, { raw: 'data: {"choices":\n\n' }, { done: true }],
      relayed: a,
      whole: false,
    },
  ];
  for (const [i, c] of cases.entries()) {
    it(`reading proxy: ${c.name}`, async () => {
      const upstream = await startAzureServer({ scenarios: { [`case${i}`]: stream(c.items) } });
      const proxy = readingProxy(upstream.port);
      try {
        const answer = await post(await listen(proxy), requestBody(1), pathOf(`case${i}`));
        assert.equal(answer.status, 200);
        assert.equal(answer.complete, c.whole);
        assert.equal(answer.text, c.relayed);
        // It sent a body of its own: the request's, asking for usage.
        assert.deepEqual(upstream.requests[0]?.body?.stream_options, { include_usage: true });
      } finally {
        await Promise.all([close(proxy), upstream.close()]);
      }
    });
  }
});
