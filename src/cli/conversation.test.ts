import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, ServerError } from '../errors.js';
import { isContextFull, messagesFor } from './conversation.js';

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
});
