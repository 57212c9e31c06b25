import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortError, ServerError, StreamErrorFrame, StreamTruncatedError, TimeoutError } from '../errors.js';
import { describeFailure } from './error-body.js';
import { chunkFrame, DONE_FRAME, failureFrame, relayToSse } from './sse-relay.js';

/** An iterator that yields `items`, then ends or throws `failure`; records `return()`. */
function source(items: unknown[], failure?: unknown) {
  const state = { returned: false, pulled: 0 };
  const iterator: AsyncIterator<unknown> = {
    async next() {
      if (state.pulled < items.length) return { done: false, value: items[state.pulled++] };
      if (failure !== undefined) throw failure;
      return { done: true, value: undefined };
    },
    async return() {
      state.returned = true;
      return { done: true, value: undefined };
    },
  };
  return { iterator, state };
}

async function frames(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const text = await new Response(stream).text();
  return text.split(/(?<=\n\n)/);
}

describe('relayToSse: one rule for how a relayed stream ends', () => {
  test('success: one frame per chunk, then [DONE]', async () => {
    const { iterator } = source([{ a: 1 }, { b: 2 }]);
    assert.deepEqual(await frames(relayToSse(iterator)), [chunkFrame({ a: 1 }), chunkFrame({ b: 2 }), DONE_FRAME]);
  });

  test('every failure after the start ends with exactly one error frame, the HTTP body for it, and no [DONE]', async () => {
    const failures = [
      new ServerError('upstream broke', { status: 500, body: { error: { code: 'server_error', message: 'broke' } } }),
      new StreamTruncatedError('no-done', 'The stream ended without [DONE]'),
      new AbortError('The server is shutting down'),
      new TimeoutError('idle', 1000),
      new StreamErrorFrame('frame', { error: { code: 'content_filter_error', message: 'filtered' } }),
      new TypeError('a bug, with a secret sk-123 in it'),
    ];
    for (const failure of failures) {
      const { iterator } = source([{ a: 1 }], failure);
      const got = await frames(relayToSse(iterator));
      assert.equal(got.length, 2, failure.name);
      assert.equal(got[0], chunkFrame({ a: 1 }));
      assert.equal(got[1], failureFrame(failure));
      assert.deepEqual(JSON.parse(got[1]!.slice(6)), describeFailure(failure).body, failure.name);
      assert.ok(!got.includes(DONE_FRAME));
      assert.doesNotMatch(got[1]!, /sk-123/);
    }
  });

  test('a reader that cancels ends the source, and nothing more is written', async () => {
    const { iterator, state } = source([{ a: 1 }, { b: 2 }, { c: 3 }]);
    const reader = relayToSse(iterator).getReader();
    await reader.read();
    await reader.cancel();
    assert.equal(state.returned, true);
    assert.equal(state.pulled, 1);
  });

  test('a custom body builder (the server passes its dialect) shapes the frame', () => {
    const frame = failureFrame(new Error('x'), () => ({ error: { message: 'm', type: 't', param: null, code: null } }));
    assert.equal(frame, 'data: {"error":{"message":"m","type":"t","param":null,"code":null}}\n\n');
  });
});
