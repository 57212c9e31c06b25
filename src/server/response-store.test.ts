// The kept responses' bounds: count, age and size (the oldest go first), and the snapshot
// taken when a response settles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResponseObject } from '../protocol/responses/types.js';
import { createResponseStore } from './response-store.js';

const response = (id: string, text = ''): ResponseObject => ({
  id,
  object: 'response',
  created_at: 0,
  status: 'completed',
  model: 'm',
  output: [
    {
      type: 'message',
      id: 'msg',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text, annotations: [] }],
    },
  ],
  error: null,
  incomplete_details: null,
});

test('at most maxResponses are kept: the oldest goes first', () => {
  const store = createResponseStore({ maxResponses: 2 });
  for (const id of ['a', 'b', 'c']) store.put(id, { response: () => response(id), input: [], keyHash: '' });
  assert.equal(store.get('a'), undefined);
  assert.equal(store.get('b')?.response().id, 'b');
  assert.equal(store.get('c')?.response().id, 'c');
});

test('a response is forgotten ttlMs after it was made', () => {
  let now = 0;
  const store = createResponseStore({ ttlMs: 1000, now: () => now });
  store.put('a', { response: () => response('a'), input: [], keyHash: '' });
  now = 1000;
  assert.ok(store.get('a'));
  now = 1001;
  assert.equal(store.get('a'), undefined);
});

test('the size bound counts settled input and output; the oldest go first', () => {
  const store = createResponseStore({ maxBytes: 600 });
  for (const id of ['a', 'b']) {
    store.put(id, {
      response: () => response(id, 'x'.repeat(200)),
      input: [{ role: 'user', content: 'hi' }],
      keyHash: '',
    });
    store.settle(id);
  }
  assert.equal(store.get('a'), undefined);
  assert.ok(store.get('b'));
});

test('settling keeps the final snapshot: later changes to the live response do not leak in', () => {
  const store = createResponseStore();
  let live = response('a', 'partial');
  store.put('a', { response: () => live, input: [], keyHash: '' });
  assert.equal(store.get('a')?.response().output.length, 1);
  store.settle('a');
  live = response('a', 'changed afterwards');
  const kept = store.get('a')!.response();
  assert.equal((kept.output[0] as { content: Array<{ text: string }> }).content[0]?.text, 'partial');
});
