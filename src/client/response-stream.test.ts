// ResponseStream over hand-made sources: malformed chunks end the stream with a typed
// ProtocolError (partial kept), and no failure leaves final(), text(), the iterator or a
// web stream unsettled (issue 9).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionError, ProtocolError, SluiceError } from '../errors.js';
import type { ApiKind, ApiTypes, ChatCompletionChunk } from '../types.js';
import { type ChunkSource, ResponseStream, type SourceEnd } from './response-stream.js';

/** A source yielding `items` (objects are chunks as given), then ending with [DONE]. */
function source<K extends ApiKind>(items: unknown[], end: SourceEnd = { sawDone: true }) {
  const seen = { returned: false, signal: undefined as AbortSignal | undefined };
  const make: ChunkSource<K> = (ctx) => {
    seen.signal = ctx.signal;
    ctx.opened({ status: 200, rateLimit: {}, headers: new Headers(), attempts: 1 });
    return (async function* () {
      try {
        for (const item of items) yield item as ApiTypes[K]['chunk'];
        return end;
      } finally {
        seen.returned = true;
      }
    })();
  };
  return { make, seen };
}

const content = (text: string, index = 0): ChatCompletionChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index, delta: { content: text }, finish_reason: null }],
});
const finish: ChatCompletionChunk = {
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
};
const usageOnly = () =>
  JSON.parse(
    '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
  );

/** Every way to consume a stream settles, with the same error. */
async function assertFailsEverywhere(items: unknown[], check: (err: unknown) => boolean): Promise<ProtocolError> {
  const viaFinal = new ResponseStream('chat', source<'chat'>(items).make);
  const result = await viaFinal.final();
  assert.equal(result.end.state, 'failed');
  assert.ok(check(result.error), `final(): ${String(result.error)}`);

  await assert.rejects(new ResponseStream('chat', source<'chat'>(items).make).text(), check);

  const iterated = new ResponseStream('chat', source<'chat'>(items).make);
  await assert.rejects(
    (async () => {
      for await (const _ of iterated) {
        // reading
      }
    })(),
    check,
  );
  assert.equal((await iterated.final()).end.state, 'failed');

  const reader = new ResponseStream('chat', source<'chat'>(items).make).toReadableStream().getReader();
  await assert.rejects(
    (async () => {
      for (;;) if ((await reader.read()).done) break;
    })(),
    check,
  );
  return result.error as ProtocolError;
}

const unexpectedShape = (err: unknown) => err instanceof ProtocolError && err.type === 'unexpected-shape';

describe('chunks without choices', () => {
  test('a usage chunk without choices, as OpenAI-compatible servers send it, simply completes', async () => {
    const stream = new ResponseStream('chat', source<'chat'>([content('Hi'), finish, usageOnly()]).make);
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const result = await stream.final();
    assert.deepStrictEqual(result.end, { state: 'completed' });
    assert.deepStrictEqual(chunks[2]?.choices, [], 'consumers get an array');
    assert.equal(result.response.usage?.total_tokens, 5);
    assert.equal(
      await new ResponseStream('chat', source<'chat'>([content('Hi'), finish, usageOnly()]).make).text(),
      'Hi',
    );
  });

  test('data: {} ends the stream with a ProtocolError, the partial kept', async () => {
    const err = await assertFailsEverywhere([content('Hello'), content(' wor'), {}], unexpectedShape);
    assert.match(err.message, /`choices`/);
    assert.equal(
      (err.partial as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content,
      'Hello wor',
    );
  });
});

describe('malformed choices end the stream, settled everywhere', () => {
  const cases: Array<[string, unknown]> = [
    ['a null choice', JSON.parse('{"id":"c","choices":[null]}')],
    ['choices: null without usage', JSON.parse('{"id":"c","choices":null}')],
    ['delta: null', JSON.parse('{"id":"c","choices":[{"index":0,"delta":null,"finish_reason":"stop"}]}')],
    ['a null tool call', JSON.parse('{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[null]}}]}')],
    ['a choice index of 1e9', JSON.parse('{"id":"c","choices":[{"index":1000000000,"delta":{"content":"x"}}]}')],
    [
      'a tool-call index of 1e9',
      JSON.parse('{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1000000000}]}}]}'),
    ],
    ['a chunk that is not an object', 'text'],
  ];
  for (const [name, bad] of cases) {
    test(name, async () => {
      const err = await assertFailsEverywhere([content('Hello'), bad, content('never')], unexpectedShape);
      assert.equal(
        (err.partial as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content,
        'Hello',
      );
    });
  }

  test('the source is closed and its signal aborted when a chunk is refused', async () => {
    const { make, seen } = source<'chat'>([content('a'), {}, content('b')]);
    await new ResponseStream('chat', make).final();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(seen.returned, true, 'the source was returned');
    assert.equal(seen.signal?.aborted, true, 'the request was cancelled');
  });

  test('n > 128 is allowed when the request asked for it', async () => {
    const stream = new ResponseStream(
      'chat',
      source<'chat'>([content('x', 199), { ...finish, choices: [{ index: 199, delta: {}, finish_reason: 'stop' }] }])
        .make,
      {
        limits: { maxChoices: 200, maxToolCalls: 128 },
      },
    );
    assert.deepStrictEqual((await stream.final()).end, { state: 'completed' });
  });
});

describe('sources that fail in unexpected ways', () => {
  test('a source that throws at once: the constructor does not throw, final() settles failed', async () => {
    const stream = new ResponseStream<'chat'>('chat', () => {
      throw new TypeError('source bug');
    });
    const result = await stream.final();
    assert.equal(result.end.state, 'failed');
    assert.ok(result.error instanceof SluiceError);
    await assert.rejects(stream.meta);
  });

  test('a source whose next() throws a TypeError settles with a typed error', async () => {
    const stream = new ResponseStream<'chat'>('chat', () => ({
      next: () => {
        throw new TypeError('next bug');
      },
    }));
    const result = await stream.final();
    assert.ok(result.error instanceof ConnectionError);
    await assert.rejects(
      new ResponseStream<'chat'>('chat', () => ({ next: () => Promise.reject(new Error('x')) })).text(),
      ConnectionError,
    );
  });
});
