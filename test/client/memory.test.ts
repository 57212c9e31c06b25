// What an open stream keeps in memory. A gateway holds hundreds of streams open for minutes, and
// each request may carry a whole conversation: an open stream must not keep the request it sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { NOT_READY } from '../../src/backend.js';
import { createClient } from '../../src/index.js';
import { serveNodeHttp } from '../support/node-http.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after a full collection, MB. */
function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

test('an open stream keeps neither the request it sent nor its serialized body', async (t) => {
  // An upstream that reads the request without keeping it, sends one chunk and stays silent.
  const { url } = await serveNodeHttp(t, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] })}\n\n`,
      );
    });
  });
  const client = createClient({ endpoint: url, apiKey: 'k', deployment: 'd' });
  // 16 MB of prompt; the client serializes it to another 16 MB string to send it.
  const open = async () => {
    const relay = client.relay('chat', { messages: [{ role: 'user', content: 'x'.repeat(16 * 2 ** 20) }] });
    for (;;) {
      const chunk = relay.take();
      if (chunk !== NOT_READY && chunk.choices[0]?.delta?.content === 'Hel') return relay;
      if (chunk === NOT_READY) await new Promise<void>((wake) => relay.wait(wake));
    }
  };
  const before = heapMb();
  const relay = await open();
  const held = heapMb() - before;
  await relay.return();
  assert.ok(held < 8, `an open stream holds ${held.toFixed(1)} MB with a 16 MB prompt`);
});
