import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackendRequest } from '../../backend.js';
import { BadRequestError } from '../../errors.js';
import { DEFAULT_COMPLETION_MAX_TOKENS } from '../../protocol/request.js';
import { contentText, planRequest } from './request-plan.js';

const completions = (body: Record<string, unknown>) =>
  ({ kind: 'completions', body: { prompt: 'x', ...body } }) as BackendRequest;
const chat = (body: Record<string, unknown>) =>
  ({ kind: 'chat', body: { messages: [{ role: 'user', content: 'hi' }], ...body } }) as BackendRequest;

function rejects(request: BackendRequest, param: string): void {
  assert.throws(
    () => planRequest(request),
    (e: unknown) => e instanceof BadRequestError && e.status === 400 && e.body?.error.param === param,
  );
}

describe('planRequest', () => {
  test('defaults: completions 16 tokens, chat up to the context, temperature 1, top_p 1, n 1', () => {
    const c = planRequest(completions({}));
    assert.equal(c.maxTokens, DEFAULT_COMPLETION_MAX_TOKENS);
    assert.equal(c.maxTokens, 16);
    assert.deepEqual([c.n, c.temperature, c.topP, c.includeUsage, c.echo], [1, 1, 1, false, false]);
    assert.deepEqual(c.prompts, ['x']);
    const h = planRequest(chat({}));
    assert.equal(h.maxTokens, undefined);
    assert.deepEqual(h.messages, [{ role: 'user', text: 'hi' }]);
  });

  test('chat prefers max_completion_tokens over max_tokens', () => {
    assert.equal(planRequest(chat({ max_tokens: 5 })).maxTokens, 5);
    assert.equal(planRequest(chat({ max_tokens: 5, max_completion_tokens: 7 })).maxTokens, 7);
  });

  test('a missing seed is random; a given seed is kept', () => {
    const seeds = new Set(Array.from({ length: 5 }, () => planRequest(completions({})).seed));
    assert.ok(seeds.size > 1);
    assert.equal(planRequest(completions({ seed: 42 })).seed, 42);
  });

  test('stop: string or up to four strings; an empty one is refused (as the server does), not dropped', () => {
    assert.deepEqual(planRequest(completions({ stop: '.' })).stops, ['.']);
    assert.deepEqual(planRequest(completions({ stop: ['a', 'b'] })).stops, ['a', 'b']);
    rejects(completions({ stop: ['a', '', 'b'] }), 'stop');
    rejects(completions({ stop: ['1', '2', '3', '4', '5'] }), 'stop');
    rejects(completions({ stop: 3 }), 'stop');
  });

  test('include_usage and echo', () => {
    assert.equal(planRequest(chat({ stream_options: { include_usage: true } })).includeUsage, true);
    assert.equal(planRequest(chat({ stream_options: null })).includeUsage, false);
    assert.equal(planRequest(completions({ echo: true })).echo, true);
  });

  test('bad values are 400s naming the parameter', () => {
    rejects(completions({ n: 0 }), 'n');
    rejects(completions({ n: 1.5 }), 'n');
    rejects(completions({ n: 129 }), 'n');
    rejects(completions({ max_tokens: -1 }), 'max_tokens');
    rejects(chat({ max_tokens: 0 }), 'max_tokens');
    assert.equal(planRequest(completions({ max_tokens: 0, echo: true })).maxTokens, 0);
    rejects(completions({ temperature: 2.5 }), 'temperature');
    rejects(completions({ temperature: '1' }), 'temperature');
    rejects(completions({ top_p: 1.1 }), 'top_p');
    rejects(completions({ seed: 1.5 }), 'seed');
    rejects(completions({ presence_penalty: 3 }), 'presence_penalty');
    rejects(completions({ prompt: [] }), 'prompt');
    rejects(completions({ prompt: [1, 2] }), 'prompt');
    rejects(chat({ messages: [] }), 'messages');
    rejects(chat({ messages: [{ content: 'no role' }] }), 'messages[0].role');
    rejects(chat({ messages: [{ role: 'user', content: 5 }] }), 'messages[0].content');
  });

  test('what the local model cannot do is refused, not silently ignored', () => {
    rejects(chat({ tools: [{ type: 'function', function: { name: 'f' } }] }), 'tools');
    rejects(chat({ tool_choice: 'none' }), 'tool_choice');
    rejects(chat({ response_format: { type: 'json_object' } }), 'response_format');
    rejects(
      chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }),
      'messages[0].content[0].type',
    );
    rejects(chat({ logprobs: true }), 'logprobs');
    rejects(completions({ logprobs: 2 }), 'logprobs');
    rejects(completions({ best_of: 3 }), 'best_of');
    assert.doesNotThrow(() => planRequest(completions({ best_of: 2, n: 2, logprobs: 0 })));
  });
});

describe('contentText', () => {
  test('strings, text parts joined, other parts skipped, null empty', () => {
    assert.equal(contentText('a'), 'a');
    assert.equal(
      contentText([
        { type: 'text', text: 'a' },
        { type: 'image_url', image_url: { url: 'x' } },
        { type: 'text', text: 'b' },
      ]),
      'ab',
    );
    assert.equal(contentText(null), '');
  });
});
