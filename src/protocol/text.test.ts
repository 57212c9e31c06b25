import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chatAsyncFilterAnnotations,
  chatBasic,
  chatRefusal,
  completionsLogprobs,
} from '../../test/fixtures/azure-streams.js';
import type { ChatCompletionChunk } from '../types.js';
import { choiceText, textDeltas } from './text.js';

test('chat content deltas, with the choice index', () => {
  assert.deepStrictEqual(textDeltas(chatBasic.chunks[2]!), [{ index: 0, text: 'A sluice gate' }]);
});

test('prompt-filter, role ("" content), finish and usage chunks yield nothing', () => {
  for (const i of [0, 1, 7, 8]) assert.deepStrictEqual(textDeltas(chatBasic.chunks[i]!), [], `chunk ${i}`);
});

test('annotation chunks (no delta) yield nothing', () => {
  assert.deepStrictEqual(textDeltas(chatAsyncFilterAnnotations.chunks[4]!), []);
});

test('refusal fragments are not answer text', () => {
  for (const chunk of chatRefusal.chunks) assert.deepStrictEqual(textDeltas(chunk), []);
});

test('completions text, finishing chunk with "" skipped', () => {
  assert.deepStrictEqual(textDeltas(completionsLogprobs.chunks[1]!), [{ index: 0, text: ' Once' }]);
  assert.deepStrictEqual(textDeltas(completionsLogprobs.chunks[4]!), []);
});

test('several choices in one chunk, in order; null content skipped', () => {
  const chunk: ChatCompletionChunk = {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [
      { index: 1, delta: { content: 'b' }, finish_reason: null },
      { index: 0, delta: { content: null }, finish_reason: null },
      { index: 0, delta: { content: 'a' }, finish_reason: null },
    ],
  };
  assert.deepStrictEqual(textDeltas(chunk), [
    { index: 1, text: 'b' },
    { index: 0, text: 'a' },
  ]);
});

test('a chunk without choices yields nothing instead of throwing', () => {
  assert.deepStrictEqual(textDeltas({ id: 'c', object: '', created: 0, model: '' } as never), []);
});

test('choiceText: the answer text of chunk and response choices, both kinds', () => {
  assert.equal(choiceText({ index: 0, delta: { content: 'Hi' }, finish_reason: null }), 'Hi');
  assert.equal(choiceText({ index: 0, text: 'Once', finish_reason: null }), 'Once');
  assert.equal(
    choiceText({ index: 0, message: { role: 'assistant', content: 'Done' }, finish_reason: 'stop' }),
    'Done',
  );
  assert.equal(choiceText({ index: 0, text: 'legacy', logprobs: null, finish_reason: 'stop' }), 'legacy');
});

test('choiceText: "" for a choice that could carry text but has none; undefined for annotations', () => {
  assert.equal(choiceText({ index: 0, delta: { role: 'assistant' }, finish_reason: null }), '');
  assert.equal(choiceText({ index: 0, delta: { content: null, tool_calls: [] }, finish_reason: null }), '');
  assert.equal(
    choiceText({ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'tool_calls' }),
    '',
  );
  assert.equal(
    choiceText({ index: 0, delta: { refusal: 'No.' }, finish_reason: null }),
    '',
    'a refusal is not answer text',
  );
  assert.equal(choiceText({ index: 0, content_filter_results: {}, finish_reason: null }), undefined);
  assert.equal(choiceText(null), undefined);
  assert.equal(choiceText('text'), undefined);
});

test('choiceText agrees with textDeltas on every recorded stream', () => {
  for (const fixture of [chatBasic, chatRefusal, chatAsyncFilterAnnotations, completionsLogprobs]) {
    for (const chunk of fixture.chunks) {
      const expected = chunk.choices
        .map((c) => ({ index: c.index, text: choiceText(c) ?? '' }))
        .filter((d) => d.text !== '');
      assert.deepStrictEqual(textDeltas(chunk), expected);
    }
  }
});
