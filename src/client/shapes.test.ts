// What is kept for its hidden classes after a stream: hollow copies of a few items (the
// keys, in order, and nothing of the text), refreshed at most once a second.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createClient } from './client.js';
import { forgetItemShapes, keepItemShapes, keptShapes } from './shapes.js';

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
    const fetch = (async () =>
      new Response(sse + last, {
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
      })) as typeof globalThis.fetch;
    const client = createClient({ endpoint: 'http://127.0.0.1:9', apiKey: 'k', deployment: 'd', fetch, maxRetries: 0 });
    forgetItemShapes(); // the next stream's end keeps its own
    const { end } = await client.chat.stream({ messages: [{ role: 'user', content: 'x' }] }).final();
    assert.equal(end.state, 'completed');
    const { items } = keptShapes();
    assert.equal(items.length, 4); // three first, one last
    for (const item of items) {
      assert.deepEqual(Object.keys(item as object), Object.keys(chunk('')));
      assertHollow(item);
    }
    assert.deepEqual((items[3] as ReturnType<typeof chunk>).choices[0]?.finish_reason, '');
    assert.ok(!JSON.stringify(items).includes('first') && !JSON.stringify(items).includes('secret'));
  });

  test('shapes are refreshed at most once a second; what is not JSON, or too big, is skipped', () => {
    forgetItemShapes();
    keepItemShapes([{ a: 'x' }], 10_000);
    keepItemShapes([{ b: 'y' }], 10_500);
    assert.deepEqual(keptShapes().items, [{ a: '' }]);
    const cycle: Record<string, unknown> = { c: 1 };
    cycle.self = cycle;
    const manyKeys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key${i}`, i]));
    keepItemShapes([cycle, { big: 1n }, 'text', manyKeys, { d: [1, 2, 3] }], 11_000);
    assert.deepEqual(keptShapes().items, [{ d: [1] }]);
  });
});
