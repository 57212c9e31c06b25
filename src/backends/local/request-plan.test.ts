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
    rejects(chat({ functions: [{ name: 'f' }] }), 'functions');
    rejects(chat({ function_call: 'auto' }), 'function_call');
    rejects(
      chat({
        messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] }],
      }),
      'messages[0].content[0].type',
    );
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

describe('planRequest: output (tools, response_format)', () => {
  const tool = {
    type: 'function',
    function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } } },
  };

  test('tools and tool_choice become a tool plan; none and absent tools are text', () => {
    const auto = planRequest(chat({ tools: [tool] })).output;
    assert.equal(auto.kind, 'tools');
    assert.equal(auto.kind === 'tools' && auto.choice, 'auto');
    const named = planRequest(
      chat({ tools: [tool], tool_choice: { type: 'function', function: { name: 'f' } } }),
    ).output;
    assert.deepEqual(named.kind === 'tools' && named.choice, { name: 'f' });
    assert.equal(planRequest(chat({ tools: [tool], tool_choice: 'none' })).output.kind, 'text');
    assert.equal(planRequest(chat({ tools: [] })).output.kind, 'text');
    assert.equal(planRequest(chat({})).output.kind, 'text');
    assert.equal(planRequest(chat({ response_format: { type: 'json_object' } })).output.kind, 'json');
  });

  test('the tools are named in a system line first; assistant tool calls are shown as the model writes them', () => {
    const plan = planRequest(
      chat({
        tools: [tool],
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":"x"}' } }],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'done' },
        ],
      }),
    );
    assert.deepEqual(plan.messages, [
      { role: 'system', text: 'Tools: f(a)' },
      { role: 'user', text: 'go' },
      { role: 'assistant', text: 'call f {"a":"x"}' },
      { role: 'tool', text: 'done' },
    ]);
  });

  test('malformed tool_calls in history are shown as far as they are text, never a crash', () => {
    const plan = planRequest(
      chat({
        messages: [
          {
            role: 'assistant',
            content: 'hm',
            tool_calls: [null, 5, { function: { name: 7 } }, { function: { name: 'g' } }],
          },
        ],
      }),
    );
    assert.deepEqual(plan.messages, [{ role: 'assistant', text: 'hm\ncall g' }]);
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
