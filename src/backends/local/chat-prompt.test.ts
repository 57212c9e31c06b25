import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chatHistory, TRANSCRIPT_STOPS, transcriptPrompt } from './chat-prompt.js';
import { StopMatcher } from './stop-matcher.js';

describe('transcriptPrompt', () => {
  test('one line per turn, ending with an open assistant turn', () => {
    const text = transcriptPrompt([
      { role: 'system', text: 'You tell stories.' },
      { role: 'user', text: 'Hi' },
      { role: 'assistant', text: 'Hello!' },
      { role: 'developer', text: 'Be brief.' },
      { role: 'tool', text: '42' },
      { role: 'user', text: ' A cat?\n' },
    ]);
    assert.equal(
      text,
      'System: You tell stories.\nUser: Hi\nAssistant: Hello!\nSystem: Be brief.\nTool: 42\nUser: A cat?\nAssistant:',
    );
  });

  test('the transcript stops end the reply where the model starts a new turn', () => {
    const m = new StopMatcher(TRANSCRIPT_STOPS);
    assert.deepEqual(m.push(' Hello there.\nUser: and then'), { emit: ' Hello there.', stopped: true });
  });
});

describe('chatHistory', () => {
  test('maps roles to node-llama-cpp history items and opens a model turn', () => {
    assert.deepEqual(
      chatHistory([
        { role: 'system', text: 's' },
        { role: 'user', text: 'u' },
        { role: 'assistant', text: 'a' },
        { role: 'tool', text: 't' },
      ]),
      [
        { type: 'system', text: 's' },
        { type: 'user', text: 'u' },
        { type: 'model', response: ['a'] },
        { type: 'user', text: 'Tool result: t' },
        { type: 'model', response: [] },
      ],
    );
  });
});
