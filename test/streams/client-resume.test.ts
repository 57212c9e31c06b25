// The Sluice client resumes a stream from a Sluice gateway when its connection drops
// mid-answer: a loopback TCP proxy cuts the first connection after some bytes; the client
// sees `x-sluice-stream-id`, asks /sluice/v1/streams/{id} with the last event id, and the
// consumer gets one unbroken answer (the same chunks as without the cut). With
// `resume: false` the cut is a truncation with the partial kept, as before.
import assert from 'node:assert/strict';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { createScriptedBackend, textScript } from '../../src/backends/scripted/index.js';
import { StreamTruncatedError } from '../../src/errors.js';
import { createClient } from '../../src/index.js';
import { createMemoryStreamLog } from '../../src/streams/memory.js';
import { start } from '../support/server.js';

const STORY = 'one two three four five six seven eight nine ten eleven twelve';

/** A proxy to `port` that cuts its first connection once `cutAfter` bytes came back. */
async function cuttingProxy(t: { after(fn: () => unknown): void }, port: number, cutAfter: number) {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const n = connections++;
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let bytes = 0;
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      bytes += data.length;
      client.write(data);
      if (n === 0 && bytes > cutAfter) {
        client.destroy();
        upstream.destroy();
      }
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    connections: () => connections,
  };
}

async function textThrough(baseURL: string, resume: boolean) {
  const client = createClient({ baseURL: `${baseURL}/v1`, apiKey: 'k', resume, maxRetries: 0 });
  const stream = client.chat.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  let text = '';
  let error: unknown;
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  } catch (e) {
    error = e;
  }
  return { text, error };
}

test('a dropped connection to a Sluice gateway is resumed: one unbroken answer', async (t) => {
  const backend = createScriptedBackend((request) => textScript(request.kind, STORY, { delayMs: 15 }));
  const log = createMemoryStreamLog();
  t.after(() => log.close());
  const { server } = await start(t, { backend, apiKey: 'k', streams: { log, keepGoingMs: 5000 } });
  const port = (server.server.address() as { port: number }).port;
  const direct = await textThrough(`http://127.0.0.1:${port}`, true);
  assert.equal(direct.error, undefined);

  const proxy = await cuttingProxy(t, port, 900);
  const resumed = await textThrough(proxy.url, true);
  assert.equal(resumed.error, undefined, String(resumed.error));
  assert.equal(resumed.text, direct.text);
  assert.equal(proxy.connections(), 2, 'the answer came over two connections');
});

test('resume: false — the cut is a truncation, the partial kept', async (t) => {
  const backend = createScriptedBackend((request) => textScript(request.kind, STORY, { delayMs: 15 }));
  const log = createMemoryStreamLog();
  t.after(() => log.close());
  const { server } = await start(t, { backend, apiKey: 'k', streams: { log, keepGoingMs: 5000 } });
  const port = (server.server.address() as { port: number }).port;
  const proxy = await cuttingProxy(t, port, 900);
  const cut = await textThrough(proxy.url, false);
  assert.ok(cut.error instanceof StreamTruncatedError, String(cut.error));
  assert.ok(cut.text.length > 0 && STORY.startsWith(cut.text.trimEnd().split(' ')[0]!));
  assert.equal(proxy.connections(), 1);
});
