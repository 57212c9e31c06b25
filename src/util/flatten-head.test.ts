import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { flattenHead } from './flatten-head.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('a head once flattened is held as one string, and sent as it was', async (t) => {
  let flatten = false;
  const open: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 200; i++) headers[`x-header-${i}`] = `value ${i} of ${req.url}`;
    res.writeHead(200, headers);
    if (flatten) flattenHead(res);
    res.write('open');
    open.push(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  /** Heap held by 40 open answers, bytes; the last answer's headers as the client saw them. */
  const hold = async (round: string) => {
    const before = heapUsed();
    const answers = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) => new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/${round}-${i}`, resolve)),
      ),
    );
    const held = heapUsed() - before;
    for (const answer of answers) answer.destroy();
    for (const res of open.splice(0)) res.destroy();
    return { held, headers: answers[39]?.headers };
  };
  await hold('warm');
  await hold('warm-again');
  const tree = await hold('tree');
  flatten = true;
  const flat = await hold('flat');
  assert.equal(flat.headers?.['x-header-199'], 'value 199 of /flat-39');
  assert.equal(Object.keys(flat.headers ?? {}).filter((name) => name.startsWith('x-header-')).length, 200);
  // 200 headers: a tree of about 1,000 pieces (about 30 KB with its leaves) per head, against one 6 KB string.
  const saved = (tree.held - flat.held) / 40;
  assert.ok(saved > 12 * 1024, `flattening saved ${Math.round(saved)} bytes per open answer`);
});
