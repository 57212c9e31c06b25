import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatCompletion } from '../types.js';
import { toolCallLines } from './tool-calls.js';

const call = (name: unknown, args: unknown) => ({ id: 'c', type: 'function', function: { name, arguments: args } });
const response = (choices: Array<{ index: number; calls: unknown[] }>) =>
  ({
    id: 'x',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: choices.map((c) => ({
      index: c.index,
      finish_reason: 'tool_calls',
      logprobs: null,
      message: { role: 'assistant', content: null, tool_calls: c.calls },
    })),
  }) as unknown as ChatCompletion;

describe('toolCallLines', () => {
  test('one line per call, arguments compact when they parse, as received otherwise', () => {
    const r = response([{ index: 0, calls: [call('f', '{ "a": 1 }'), call('g', '{"cut')] }]);
    assert.deepEqual(toolCallLines(r, 1), ['⚙ f({"a":1})', '⚙ g({"cut)']);
  });

  test('choices in index order, labelled when n > 1; no calls, no lines', () => {
    const r = response([
      { index: 1, calls: [call('b', '{}')] },
      { index: 0, calls: [call('a', '{}')] },
    ]);
    assert.deepEqual(toolCallLines(r, 2), ['[choice 0] ⚙ a({})', '[choice 1] ⚙ b({})']);
    assert.deepEqual(toolCallLines(response([{ index: 0, calls: [] }]), 1), []);
    assert.deepEqual(toolCallLines(undefined, 1), []);
  });

  test('hostile names and arguments: control characters dropped, one line, odd types tolerated', () => {
    const r = response([{ index: 0, calls: [call('x\u001b]0;pwned\u0007', '"\n\u001b[2J"'), call(5, null), null] }]);
    const lines = toolCallLines(r, 1);
    assert.equal(lines.length, 3);
    for (const line of lines) assert.doesNotMatch(line, /[\u0000-\u001f]/);
    assert.equal(lines[1], '⚙ ?()');
  });
});
