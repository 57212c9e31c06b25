import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '../../test/support/sse.js';
import { SseDecodeError } from '../errors.js';
import { iterateSse } from './iterate.js';

/** A pull-based stream: each chunk is produced only when the reader asks for it. Records what happened. */
function trackedStream(chunks: string[]) {
  const state = { pulls: 0, cancelled: false, cancelReason: undefined as unknown };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = chunks[state.pulls++];
        if (next === undefined) controller.close();
        else controller.enqueue(encode(next));
      },
      cancel(reason) {
        state.cancelled = true;
        state.cancelReason = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

/** Drains an iterator, returning the yielded values and the return value. */
async function drain<T, R>(it: AsyncGenerator<T, R>): Promise<{ values: T[]; result: R }> {
  const values: T[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return { values, result: r.value };
    values.push(r.value);
  }
}

describe('iterateSse', () => {
  it('yields the events of a ReadableStream and returns a clean end', async () => {
    const { stream } = trackedStream(['data: a\n', '\nevent: e\nid: 1\ndata: b\n\n']);
    const { values, result } = await drain(iterateSse(stream));
    assert.deepEqual(values, [
      { type: 'message', data: 'a', id: '' },
      { type: 'e', data: 'b', id: '1' },
    ]);
    assert.deepEqual(result, { unterminated: false });
  });

  it('yields the events of an async iterable', async () => {
    async function* source() {
      yield encode('data: x\n\nda');
      yield encode('ta: y\n\n');
    }
    const { values } = await drain(iterateSse(source()));
    assert.deepEqual(
      values.map((e) => e.data),
      ['x', 'y'],
    );
  });

  it('returns unterminated with the pending data when the stream ends mid-event', async () => {
    const { stream } = trackedStream(['data: {"n":1}\n\n', 'data: [DONE]']);
    const { values, result } = await drain(iterateSse(stream));
    assert.deepEqual(
      values.map((e) => e.data),
      ['{"n":1}'],
    );
    assert.deepEqual(result, { unterminated: true, pendingData: '[DONE]' });
  });

  it('yields each event as soon as its chunk arrives, before the stream has ended', async () => {
    const { stream, state } = trackedStream(['data: first\n\n', 'data: second\n\n']);
    const it = iterateSse(stream);
    const first = await it.next();
    assert.ok(!first.done);
    assert.equal(first.value.data, 'first');
    assert.equal(state.pulls, 1, 'only the first chunk has been produced');
    const rest = await drain(it);
    assert.deepEqual(
      rest.values.map((e) => e.data),
      ['second'],
    );
  });

  it('cancels and releases a ReadableStream when the consumer stops early', async () => {
    const { stream, state } = trackedStream(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']);
    for await (const e of iterateSse(stream)) {
      assert.equal(e.data, '1');
      break;
    }
    assert.equal(state.cancelled, true);
    assert.equal(stream.locked, false, 'the reader lock is released');
    assert.equal(state.pulls, 1, 'nothing more was read');
  });

  it('cancels the stream when the loop body throws', async () => {
    const { stream, state } = trackedStream(['data: 1\n\n', 'data: 2\n\n']);
    await assert.rejects(async () => {
      for await (const _ of iterateSse(stream)) throw new Error('consumer failed');
    }, /consumer failed/);
    assert.equal(state.cancelled, true);
    assert.equal(stream.locked, false);
  });

  it('calls return() on an async iterator when the consumer stops early', async () => {
    let returned = false;
    let produced = 0;
    async function* source() {
      try {
        for (;;) {
          produced++;
          yield encode(`data: ${produced}\n\n`);
        }
      } finally {
        returned = true;
      }
    }
    const seen: string[] = [];
    for await (const e of iterateSse(source())) {
      seen.push(e.data);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, ['1', '2']);
    assert.equal(returned, true);
    assert.equal(produced, 2);
  });

  it('stops before the remaining events of a chunk when the consumer stops early', async () => {
    let returned = false;
    async function* source() {
      try {
        yield encode('data: 1\n\ndata: 2\n\ndata: 3\n\n');
      } finally {
        returned = true;
      }
    }
    const seen: string[] = [];
    for await (const e of iterateSse(source())) {
      seen.push(e.data);
      break;
    }
    assert.deepEqual(seen, ['1']);
    assert.equal(returned, true);
  });

  it('rejects with the source error, after yielding what arrived before it', async () => {
    let n = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (n++ === 0) controller.enqueue(encode('data: before\n\n'));
        else controller.error(new Error('connection reset'));
      },
    });
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const e of iterateSse(stream)) seen.push(e.data);
    }, /connection reset/);
    assert.deepEqual(seen, ['before']);
  });

  it('throws line-too-long from maxLineLength and cancels the source', async () => {
    const { stream, state } = trackedStream(['data: ok\n\n', `data: ${'x'.repeat(100)}`, 'data: never\n\n']);
    const seen: string[] = [];
    await assert.rejects(
      async () => {
        for await (const e of iterateSse(stream, { maxLineLength: 50 })) seen.push(e.data);
      },
      (e) => e instanceof SseDecodeError && e.type === 'line-too-long',
    );
    assert.deepEqual(seen, ['ok']);
    assert.equal(state.cancelled, true);
  });

  it('rejects a source that is neither a stream nor an async iterable, naming what it needs', async () => {
    const response = new Response('data: x\n\n');
    await assert.rejects(iterateSse(response as never).next(), { name: 'TypeError', message: /response\.body/ });
    const { values } = await drain(iterateSse(response.body as ReadableStream<Uint8Array>));
    assert.equal(values[0]?.data, 'x');
  });
});
