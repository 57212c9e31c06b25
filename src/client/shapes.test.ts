// What is kept for its hidden classes after a stream: hollow copies of a few items (the
// keys, in order, and nothing of the text), refreshed at most once a second.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sameMap } from '../../test/support/hidden-class.js';
import { createClient } from './client.js';
import { forgetItemShapes, keepItemShapes, keptShapes } from './shapes.js';

/** A client reading `sse` (the body of a 200 event stream) from a fetch stub. */
function clientOf(sse: string) {
  const fetch = (async () =>
    new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream' } })) as typeof globalThis.fetch;
  return createClient({ endpoint: 'http://127.0.0.1:9', apiKey: 'k', deployment: 'd', fetch, maxRetries: 0 });
}

const chunk = (content: string, finish: string | null = null) => ({
  id: 'chatcmpl-secret',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [
    { index: 0, delta: { content }, finish_reason: finish },
    { index: 1, delta: { content }, finish_reason: finish },
  ],
});

/** Every string in `value` is empty and every array has at most one element. */
function assertHollow(value: unknown): void {
  if (typeof value === 'string') assert.equal(value, '');
  else if (Array.isArray(value)) {
    assert.ok(value.length <= 1, `an array of ${value.length} was kept`);
    value.forEach(assertHollow);
  } else if (value !== null && typeof value === 'object') Object.values(value).forEach(assertHollow);
}

describe('kept shapes', () => {
  test('a stream leaves hollow copies of its first and last chunks: the same keys, none of the text', async () => {
    const sse = ['first', 'second', 'third', 'fourth'].map((t) => `data: ${JSON.stringify(chunk(t))}\n\n`).join('');
    const last = `data: ${JSON.stringify(chunk('', 'stop'))}\n\ndata: [DONE]\n\n`;
    forgetItemShapes(); // the next stream's end keeps its own
    const { end } = await clientOf(sse + last)
      .chat.stream({ messages: [{ role: 'user', content: 'x' }] })
      .final();
    assert.equal(end.state, 'completed');
    const { items } = keptShapes();
    assert.equal(items.length, 8); // three first, one last; each as parsed and as a template builds it
    for (const item of items) {
      assert.deepEqual(Object.keys(item as object), Object.keys(chunk('')));
      assertHollow(item);
    }
    assert.deepEqual((items[6] as ReturnType<typeof chunk>).choices[0]?.finish_reason, '');
    assert.ok(!JSON.stringify(items).includes('first') && !JSON.stringify(items).includes('secret'));
  });

  test('shapes are refreshed at most once a second; what is not JSON, or too big, is skipped', () => {
    forgetItemShapes();
    keepItemShapes([{ a: 'x' }], 10_000);
    keepItemShapes([{ b: 'y' }], 10_500);
    assert.deepEqual(keptShapes().items, [{ a: '' }, { a: '' }]);
    const cycle: Record<string, unknown> = { c: 1 };
    cycle.self = cycle;
    const manyKeys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key${i}`, i]));
    keepItemShapes([cycle, { big: 1n }, 'text', manyKeys, { d: [1, 2, 3] }], 11_000);
    assert.deepEqual(keptShapes().items, [{ d: [1] }, { d: [1] }]);
  });

  test('the copies hold the hidden classes of the chunks the template built, not only of the parsed ones', async () => {
    // One choice, the same but for the text: the stream's chunk template builds every content
    // chunk after the first (protocol/chunk-template.ts), with maps JSON.parse does not make.
    const content = (text: string, finish: string | null = null) => ({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [{ index: 0, delta: { content: text }, finish_reason: finish }],
    });
    const sse = ['one', 'two', 'three', 'four', 'five'].map((t) => `data: ${JSON.stringify(content(t))}\n\n`).join('');
    forgetItemShapes();
    const chunks: ReturnType<typeof content>[] = [];
    const end = `data: ${JSON.stringify(content('', 'stop'))}\n\ndata: [DONE]\n\n`;
    for await (const c of clientOf(sse + end).chat.stream({ messages: [{ role: 'user', content: 'x' }] })) {
      chunks.push(c as ReturnType<typeof content>);
    }
    const [parsed, built] = chunks as [ReturnType<typeof content>, ReturnType<typeof content>];
    assert.equal(
      sameMap(parsed, built),
      false,
      'the second chunk was parsed too: this test needs a template-built one',
    );
    const kept = keptShapes().items as ReturnType<typeof content>[];
    const holds = (chunk: ReturnType<typeof content>) =>
      kept.some(
        (k) =>
          sameMap(k, chunk) &&
          sameMap(k.choices[0]!, chunk.choices[0]!) &&
          sameMap(k.choices[0]!.delta, chunk.choices[0]!.delta),
      );
    assert.ok(holds(parsed), "no kept copy has the parsed chunk's maps");
    assert.ok(holds(built), "no kept copy has the template-built chunk's maps");
  });
});
