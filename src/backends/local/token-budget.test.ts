import assert from 'node:assert/strict';
import { test } from 'node:test';
import { completionBudget, defaultChatMaxTokens, requestCost } from './token-budget.js';

test('a chat answer takes at most a quarter of the context by default', () => {
  assert.equal(defaultChatMaxTokens(512), 128);
  assert.equal(defaultChatMaxTokens(2048), 512);
  assert.equal(defaultChatMaxTokens(2), 1, 'never zero');
});

test('the budget is what was asked (or the default), never more than the room left', () => {
  assert.equal(completionBudget(undefined, 48, 512), 128);
  assert.equal(completionBudget(undefined, 450, 512), 62, 'the context is the limit');
  assert.equal(completionBudget(300, 48, 512), 300, 'an explicit max_tokens may use the whole room');
  assert.equal(completionBudget(5000, 48, 512), 464);
  assert.equal(completionBudget(16, 600, 512), 0);
});

test('a request costs prompts × n × its budget, at most a context per choice', () => {
  assert.equal(requestCost({ prompts: 2, n: 3, maxTokens: 16 }, 512), 96);
  assert.equal(requestCost({ prompts: 0, n: 1, maxTokens: undefined }, 512), 128, 'chat: the default budget');
  assert.equal(requestCost({ prompts: 1, n: 1, maxTokens: 5000 }, 512), 512);
});
