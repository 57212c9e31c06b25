import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadRequestError, ServerError } from '../errors.js';
import {
  CONTEXT_LENGTH_EXCEEDED,
  contextSizeInMessage,
  contextSizeOrUndefined,
  dropOldestExchange,
  isContextLengthError,
} from './context.js';

describe('a context-length failure', () => {
  test('is a 400 whose error body says context_length_exceeded, nothing else', () => {
    const full = new BadRequestError('too long', {
      status: 400,
      body: { error: { code: CONTEXT_LENGTH_EXCEEDED, message: 'too long', type: 'invalid_request_error' } },
    });
    assert.equal(isContextLengthError(full), true);
    assert.equal(isContextLengthError({ code: CONTEXT_LENGTH_EXCEEDED }), true);
    assert.equal(isContextLengthError(new BadRequestError('x', { status: 400 })), false);
    assert.equal(isContextLengthError(new ServerError('x', { status: 500 })), false);
    assert.equal(isContextLengthError(null), false);
    assert.equal(isContextLengthError('context_length_exceeded'), false);
  });

  test('states its size as OpenAI and the embedded model word it', () => {
    assert.equal(
      contextSizeInMessage(
        "This model's maximum context length is 512 tokens. However, your messages resulted in 530 tokens.",
      ),
      512,
    );
    assert.equal(contextSizeInMessage('Something else went wrong.'), undefined);
    assert.equal(contextSizeInMessage('maximum context length is 0 tokens'), undefined);
  });

  test('only believable sizes are taken from upstream fields', () => {
    assert.equal(contextSizeOrUndefined(8192), 8192);
    for (const bad of [0, -1, 1.5, 1e12, '512', null, undefined, Number.NaN]) {
      assert.equal(contextSizeOrUndefined(bad), undefined, String(bad));
    }
  });
});

describe('dropping the oldest exchange', () => {
  test('drops a question with its answer, never the latest turn', () => {
    const turns = [
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2' },
      { role: 'assistant', content: 'a2' },
      { role: 'user', content: 'q3' },
    ];
    assert.equal(dropOldestExchange(turns), 2);
    assert.deepEqual(
      turns.map((t) => t.content),
      ['q2', 'a2', 'q3'],
    );
    assert.equal(dropOldestExchange(turns), 2);
    assert.equal(dropOldestExchange(turns), 0, 'the latest question stays');
    assert.deepEqual(turns, [{ role: 'user', content: 'q3' }]);
  });

  test('a question left without an answer goes alone; several answers go with their question', () => {
    const unanswered = [{ role: 'user' }, { role: 'user' }];
    assert.equal(dropOldestExchange(unanswered), 1);
    const regenerated = [{ role: 'user' }, { role: 'assistant' }, { role: 'assistant' }, { role: 'user' }];
    assert.equal(dropOldestExchange(regenerated), 3);
  });
});
