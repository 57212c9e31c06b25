// The turn writer: frames written in one event-loop turn go out at its end, one write per
// answer, in call order; the end carries what waits; a full buffer says wait; a closed answer
// gets nothing; a lone open answer is written at once. Every test closes its writers (the
// count of open answers is the module's).
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TurnWriter } from './turn-writer.js';

const made: TurnWriter[] = [];
afterEach(() => {
  for (const writer of made.splice(0)) writer.close();
});

/** A ServerResponse as far as the writer uses it, recording every write and end on `log`. */
function answer(name: string, log: string[], state = { writableNeedDrain: false, destroyed: false }) {
  const res = {
    get writableNeedDrain() {
      return state.writableNeedDrain;
    },
    get destroyed() {
      return state.destroyed;
    },
    write(chunk: string) {
      log.push(`${name} write ${JSON.stringify(chunk)}`);
      return true;
    },
    end(chunk?: string) {
      log.push(`${name} end ${JSON.stringify(chunk ?? null)}`);
    },
  };
  const writer = new TurnWriter(res as unknown as ServerResponse);
  made.push(writer);
  return { writer, state };
}

test('frames of one turn are written at its end: one write per answer, answers in the order they first wrote', async () => {
  const log: string[] = [];
  const a = answer('a', log);
  const b = answer('b', log);
  b.writer.write('data: 1\n\n');
  a.writer.write('data: x\n\n');
  b.writer.write('data: 2\n\n');
  assert.deepEqual(log, [], 'nothing is written before the turn ends');
  await nextTurn();
  assert.deepEqual(log, ['b write "data: 1\\n\\ndata: 2\\n\\n"', 'a write "data: x\\n\\n"']);
  // The next turn's frames go out at the next turn's end.
  a.writer.write('data: y\n\n');
  await nextTurn();
  assert.deepEqual(log.slice(2), ['a write "data: y\\n\\n"']);
});

test('end() writes what waits and the tail in one end, at once; the turn’s end then writes nothing more', async () => {
  const log: string[] = [];
  const { writer } = answer('a', log);
  answer('other open answer', log);
  writer.write('data: 1\n\n');
  writer.end('data: [DONE]\n\n');
  assert.deepEqual(log, ['a end "data: 1\\n\\ndata: [DONE]\\n\\n"']);
  await nextTurn();
  assert.equal(log.length, 1);
  const other = answer('b', log);
  other.writer.end();
  assert.deepEqual(log.slice(1), ['b end null'], 'an end with nothing to carry is a plain end');
});

test('write() says wait while the answer’s buffer is full, as res.write would', () => {
  const log: string[] = [];
  const { writer, state } = answer('a', log);
  answer('other open answer', log);
  assert.equal(writer.write('data: 1\n\n'), true);
  state.writableNeedDrain = true;
  assert.equal(writer.write('data: 2\n\n'), false);
});

test('an answer destroyed or closed before the turn ends gets no write', async () => {
  const log: string[] = [];
  const { writer, state } = answer('a', log);
  const closed = answer('c', log);
  const open = answer('b', log);
  writer.write('data: 1\n\n');
  closed.writer.write('data: 3\n\n');
  open.writer.write('data: 2\n\n');
  state.destroyed = true;
  closed.writer.close();
  await nextTurn();
  assert.deepEqual(log, ['b write "data: 2\\n\\n"']);
});

test('frames past 16 KiB are written at once, without waiting for the turn to end (a backend that never ends the turn)', () => {
  const log: string[] = [];
  const { writer } = answer('a', log);
  answer('other open answer', log);
  const frame = `data: ${'x'.repeat(1000)}\n\n`;
  let written = 0;
  while (log.length === 0 && written < 100) {
    writer.write(frame);
    written++;
  }
  assert.equal(log.length, 1, 'one write, before the turn ended');
  assert.equal(written, Math.ceil((16 * 1024) / frame.length));
  assert.equal(log[0]?.length, `a write ${JSON.stringify(frame.repeat(written))}`.length);
});

test('while only one answer is open, its frames are written at once; with two open, at the turn’s end', async () => {
  const log: string[] = [];
  const a = answer('a', log);
  a.writer.write('data: 1\n\n');
  assert.deepEqual(log, ['a write "data: 1\\n\\n"'], 'nothing to gather: written at once');
  const b = answer('b', log);
  a.writer.write('data: 2\n\n');
  assert.equal(log.length, 1, 'two open: gathered');
  b.writer.close();
  a.writer.write('data: 3\n\n');
  assert.equal(log.length, 1, 'what waits goes first: the frame joins it');
  await nextTurn();
  assert.deepEqual(log.slice(1), ['a write "data: 2\\n\\ndata: 3\\n\\n"']);
  a.writer.write('data: 4\n\n');
  assert.deepEqual(log.slice(2), ['a write "data: 4\\n\\n"'], 'alone again: at once');
});

test('sendNow: a lone answer’s frame leaves for the socket at once, not when the tick’s callbacks are done', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const writer = new TurnWriter(res);
    made.push(writer);
    writer.write('data: first\n\n');
    const socket = res.socket!;
    // Node corks an answer's socket on its first write, until the tick is over.
    const held = { corked: socket.writableCorked, buffered: socket.writableLength };
    writer.sendNow();
    const sent = { corked: socket.writableCorked, buffered: socket.writableLength };
    writer.end('data: [DONE]\n\n');
    resolveSeen({ held, sent });
  });
  let resolveSeen: (seen: { held: Sent; sent: Sent }) => void = () => {};
  const seen = new Promise<{ held: Sent; sent: Sent }>((resolve) => {
    resolveSeen = resolve;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(body, 'data: first\n\ndata: [DONE]\n\n');
    const { held, sent } = await seen;
    assert.equal(held.corked, 1, 'written, but held');
    assert.ok(held.buffered > 0, 'the head and the frame wait in the socket');
    assert.deepEqual(sent, { corked: 0, buffered: 0 }, 'handed to the kernel');
  } finally {
    server.close();
  }
});

test('sendNow leaves frames that wait for the turn’s end waiting', async () => {
  const log: string[] = [];
  const a = answer('a', log);
  answer('b', log);
  a.writer.write('data: 1\n\n');
  a.writer.sendNow();
  assert.deepEqual(log, [], 'still gathered');
  await nextTurn();
  assert.deepEqual(log, ['a write "data: 1\\n\\n"']);
});

interface Sent {
  corked: number;
  buffered: number;
}
