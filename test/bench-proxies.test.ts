// The gateway bench's baseline relays (bench/proxies.ts) must do what the bench says they do:
// relay every stream exactly and as it is produced, and the reading proxy must never make a
// cut or malformed upstream stream look finished.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runStreams } from '../bench/gateway-load.js';
import { DELTAS, DEPLOYMENT, requestBody, startMock } from '../bench/gateway-mock.js';
import { bareProxy, readingProxy } from '../bench/proxies.js';

const PATH = `/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-10-21`;

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
function post(port: number, body: string): Promise<{ status: number; text: string; complete: boolean }> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: PATH, agent: false, headers: { 'api-key': 'k' } },
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

/** An upstream that sends `frames` as one SSE answer, then ends it (`end`) or cuts the connection. */
function scriptedUpstream(frames: string, end: 'end' | 'cut'): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frames);
      setTimeout(() => (end === 'end' ? res.end() : res.socket?.destroy()), 20);
    });
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

  it('the reading proxy answers 400 to a body that is not a chat request', async () => {
    const answer = await post(ports.reader, '{"prompt": 1}');
    assert.equal(answer.status, 400);
    assert.equal((await post(ports.reader, 'not json')).status, 400);
  });

  const chunk = (content: string) =>
    `data: {"choices":[{"delta":{"content":${JSON.stringify(content)}},"index":0}]}\n\n`;
  const cases = [
    {
      name: 'a finished stream ends whole',
      frames: `${chunk('a')}${chunk('b')}data: [DONE]\n\n`,
      end: 'end',
      whole: true,
    },
    {
      name: 'a stream cut by the upstream does not end whole',
      frames: chunk('a') + chunk('b'),
      end: 'cut',
      whole: false,
    },
    { name: 'a stream ended without [DONE] does not end whole', frames: chunk('a'), end: 'end', whole: false },
    {
      name: 'a malformed chunk ends the stream, not whole',
      frames: `${chunk('a')}data: {"choices":\n\ndata: [DONE]\n\n`,
      end: 'end',
      whole: false,
    },
  ] as const;
  for (const c of cases) {
    it(`reading proxy: ${c.name}`, async () => {
      const upstream = scriptedUpstream(c.frames, c.end);
      const proxy = readingProxy(await listen(upstream));
      try {
        const answer = await post(await listen(proxy), requestBody(1));
        // Cut before any byte went out, the answer may not have begun at all: never whole either way.
        assert.ok(answer.status === 200 || (!c.whole && answer.status === 0), `status ${answer.status}`);
        assert.equal(answer.complete, c.whole);
        if (c.whole) assert.equal(answer.text, c.frames);
        // What was relayed before the end is the upstream's own bytes.
        assert.ok(c.frames.startsWith(answer.text.slice(0, chunk('a').length)));
      } finally {
        await Promise.all([close(proxy), close(upstream)]);
      }
    });
  }
});
