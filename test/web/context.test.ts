/**
 * The page's handling of the model's context window (src/web/app/context.ts): a pure module,
 * tested under Node (what the store keeps of it: store.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contextSizeInMessage } from '../../src/protocol/context.js';
import {
  contextFill,
  contextSizeOfModel,
  dropOldestTurn,
  isContextOverflow,
  sentFrom,
} from '../../src/web/app/context.js';
import type { Message } from '../../src/web/app/types.js';

const user = (content: string): Message => ({ role: 'user', content });
const answer = (content: string): Message => ({
  role: 'assistant',
  content,
  end: { kind: 'done', finishReason: 'stop' },
});

describe('dropping the oldest turns', () => {
  // u0 a1 u2 a3 u4 (a5 being written)
  const messages: Message[] = [user('u0'), answer('a1'), user('u2'), answer('a3'), user('u4'), answer('')];

  test('each drop removes one user turn and its answers, until only the latest user turn is left', () => {
    assert.equal(dropOldestTurn(messages, 0), 2);
    assert.equal(dropOldestTurn(messages, 2), 4);
    assert.equal(dropOldestTurn(messages, 4), undefined, 'the latest user turn is always sent');
  });

  test('a turn with several answers (regenerated, failed) goes whole', () => {
    const twice = [user('u0'), answer('a1'), answer('a2'), user('u3'), answer('')];
    assert.equal(dropOldestTurn(twice, 0), 3);
  });

  test('the start never passes the latest user message (after an edit shortened the conversation)', () => {
    assert.equal(sentFrom(messages, 99), 4);
    assert.equal(sentFrom(messages, 2), 2);
    assert.equal(sentFrom([], 3), 0);
    assert.equal(dropOldestTurn([user('only')], 0), undefined);
  });
});

describe('the context size', () => {
  test('read from the context-length error, as OpenAI and the embedded model word it', () => {
    assert.equal(
      contextSizeInMessage(
        "This model's maximum context length is 512 tokens. However, your messages resulted in 530 tokens, which leaves no room for a completion.",
      ),
      512,
    );
    assert.equal(contextSizeInMessage('Something else went wrong.'), undefined);
    assert.equal(contextSizeInMessage('maximum context length is 0 tokens'), undefined);
  });

  test('read from a /v1/models entry when a server states it; anything else is ignored', () => {
    assert.equal(contextSizeOfModel({ id: 'm', context_length: 8192 }), 8192);
    assert.equal(contextSizeOfModel({ id: 'm', max_model_len: 4096 }), 4096);
    assert.equal(contextSizeOfModel({ id: 'm', object: 'model', created: 0, owned_by: 'sluice' }), undefined);
    for (const bad of [-1, 0, 1.5, '512', 1e12, null])
      assert.equal(contextSizeOfModel({ context_length: bad }), undefined);
    assert.equal(contextSizeOfModel(null), undefined);
  });

  test('the fill is prompt + answer tokens, and only from exact (usage) counts', () => {
    assert.deepEqual(contextFill({ promptTokens: 300, tokens: 200, tokensExact: true }, 512), { used: 500, size: 512 });
    assert.deepEqual(contextFill({ promptTokens: 30, tokens: 20, tokensExact: true }, undefined), {
      used: 50,
      size: undefined,
    });
    assert.equal(contextFill({ tokens: 20, tokensExact: false }, 512), undefined);
    assert.equal(contextFill(undefined, 512), undefined);
  });

  test('an overflow is a failure with the context_length_exceeded code', () => {
    assert.equal(
      isContextOverflow({
        kind: 'failed',
        message: 'x',
        code: 'context_length_exceeded',
        status: 400,
        retryable: false,
      }),
      true,
    );
    assert.equal(isContextOverflow({ kind: 'failed', message: 'x', status: 400, retryable: false }), false);
    assert.equal(isContextOverflow({ kind: 'done', finishReason: 'length' }), false);
  });
});
