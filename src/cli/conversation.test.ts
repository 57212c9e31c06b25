import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, ServerError } from '../errors.js';
import { dropOldestExchange, isContextFull, messagesFor, type Turn } from './conversation.js';

const full = new BadRequestError('too long', {
  status: 400,
  body: { error: { code: 'context_length_exceeded', message: 'too long', type: 'invalid_request_error' } },
});

describe('conversation', () => {
  it('messages: the system message first, then the turns', () => {
    assert.deepEqual(messagesFor('S', [{ role: 'user', content: 'q', interrupted: true }]), [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'q' },
    ]);
  });

  it('a full context is a 400 context_length_exceeded, nothing else', () => {
    assert.equal(isContextFull({ state: 'failed', error: full }), true);
    assert.equal(isContextFull({ state: 'failed', error: new BadRequestError('x', { status: 400 }) }), false);
    assert.equal(isContextFull({ state: 'failed', error: new ServerError('x', { status: 500 }) }), false);
    assert.equal(isContextFull({ state: 'completed' }), false);
  });

  it('drops the oldest exchange, never the latest turn', () => {
    const turns: Turn[] = [
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

  it('a question left without an answer goes alone', () => {
    const turns: Turn[] = [
      { role: 'user', content: 'q1' },
      { role: 'user', content: 'q2' },
    ];
    assert.equal(dropOldestExchange(turns), 1);
    assert.deepEqual(turns, [{ role: 'user', content: 'q2' }]);
  });
});
