import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ApiKind } from '../types.js';
import { MAX_N, parseRequest, validateRequest } from './validate.js';

const chat = (extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content: 'hi' }], ...extra });
const completion = (extra: Record<string, unknown> = {}) => ({ prompt: 'Once', ...extra });

/** Expects a 400 naming `param` with `code`. */
function rejects(kind: ApiKind, body: unknown, param: string | null, code: string, apiVersion?: string) {
  const v = validateRequest(kind, body, { apiVersion });
  assert.equal(v.ok, false, `expected a 400 for ${JSON.stringify(body)}`);
  if (v.ok) return;
  assert.equal(v.error.status, 400);
  assert.equal(v.error.body.error.param, param, JSON.stringify(v.error.body));
  assert.equal(v.error.body.error.code, code, JSON.stringify(v.error.body));
  assert.equal(v.error.body.error.type, 'invalid_request_error');
  assert.equal(typeof v.error.body.error.message, 'string');
}

function accepts(kind: ApiKind, body: unknown, apiVersion?: string) {
  const v = validateRequest(kind, body, { apiVersion });
  assert.equal(v.ok, true, v.ok ? '' : JSON.stringify(v.error.body));
}

describe('parseRequest', () => {
  test('malformed JSON and non-object bodies are 400s', () => {
    for (const text of ['', '{', '{"messages":', 'nul', '\u0000', '{"a":1}x']) {
      const v = parseRequest('chat', text, {});
      assert.ok(!v.ok);
      assert.equal(v.error.body.error.code, 'invalid_json');
    }
    for (const text of ['null', '[]', '"text"', '42', 'true']) {
      const v = parseRequest('chat', text, {});
      assert.ok(!v.ok, text);
      assert.equal(v.error.body.error.code, 'invalid_type');
    }
  });

  test('a valid body comes back as is, with the stream flag', () => {
    const body = chat({ stream: true, max_tokens: 5, stop: ['\n'], seed: 1, temperature: 0, future_field: { x: 1 } });
    const v = parseRequest('chat', JSON.stringify(body), {});
    assert.ok(v.ok);
    assert.deepEqual(v.body, body);
    assert.equal(v.stream, true);
    const plain = parseRequest('completions', JSON.stringify(completion()), {});
    assert.ok(plain.ok);
    assert.equal(plain.stream, false);
  });
});

describe('validateRequest: chat', () => {
  test('messages', () => {
    rejects('chat', {}, 'messages', 'missing_required_parameter');
    rejects('chat', { messages: 'hi' }, 'messages', 'invalid_type');
    rejects('chat', { messages: {} }, 'messages', 'invalid_type');
    rejects('chat', { messages: [] }, 'messages', 'invalid_value');
    rejects('chat', { messages: ['hi'] }, 'messages[0]', 'invalid_type');
    rejects('chat', { messages: [{ content: 'x' }] }, 'messages[0].role', 'missing_required_parameter');
    rejects('chat', { messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', 'invalid_value');
    rejects('chat', { messages: [{ role: 7, content: 'x' }] }, 'messages[0].role', 'invalid_value');
    rejects('chat', { messages: [{ role: 'user' }] }, 'messages[0].content', 'missing_required_parameter');
    rejects('chat', { messages: [{ role: 'user', content: 5 }] }, 'messages[0].content', 'invalid_type');
    rejects('chat', { messages: [{ role: 'user', content: null }] }, 'messages[0].content', 'invalid_type');
    rejects('chat', { messages: [{ role: 'user', content: [] }] }, 'messages[0].content', 'invalid_value');
    rejects('chat', { messages: [{ role: 'user', content: ['x'] }] }, 'messages[0].content[0]', 'invalid_type');
    rejects(
      'chat',
      { messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      'messages[0].content[0].text',
      'invalid_type',
    );
    rejects(
      'chat',
      {
        messages: [
          { role: 'user', content: 'ok' },
          { role: 'user', content: 'x', name: 3 },
        ],
      },
      'messages[1].name',
      'invalid_type',
    );
    accepts('chat', { messages: [{ role: 'assistant', content: null, tool_calls: [] }] });
    accepts('chat', { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
    for (const role of ['system', 'developer', 'user', 'assistant', 'tool', 'function']) {
      accepts('chat', { messages: [{ role, content: 'x' }] });
    }
  });

  test('sampling and length parameters', () => {
    for (const max_tokens of [0, -1, 1.5]) rejects('chat', chat({ max_tokens }), 'max_tokens', errorCode(max_tokens));
    rejects('chat', chat({ max_tokens: '5' }), 'max_tokens', 'invalid_type');
    rejects('chat', chat({ max_completion_tokens: 0 }), 'max_completion_tokens', 'invalid_value');
    rejects('chat', chat({ temperature: 2.01 }), 'temperature', 'invalid_value');
    rejects('chat', chat({ temperature: -0.1 }), 'temperature', 'invalid_value');
    rejects('chat', chat({ temperature: 'hot' }), 'temperature', 'invalid_type');
    rejects('chat', chat({ top_p: 1.1 }), 'top_p', 'invalid_value');
    rejects('chat', chat({ n: 0 }), 'n', 'invalid_value');
    rejects('chat', chat({ n: MAX_N + 1 }), 'n', 'invalid_value');
    rejects('chat', chat({ n: 2.5 }), 'n', 'invalid_type');
    rejects('chat', chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop', 'invalid_value');
    rejects('chat', chat({ stop: [1] }), 'stop', 'invalid_type');
    rejects('chat', chat({ stop: '' }), 'stop', 'invalid_value');
    rejects('chat', chat({ seed: 1.5 }), 'seed', 'invalid_type');
    rejects('chat', chat({ presence_penalty: 3 }), 'presence_penalty', 'invalid_value');
    rejects('chat', chat({ logit_bias: { abc: 1 } }), 'logit_bias', 'invalid_value');
    rejects('chat', chat({ logit_bias: { 50256: 101 } }), 'logit_bias', 'invalid_value');
    rejects('chat', chat({ stream: 'yes' }), 'stream', 'invalid_type');
    rejects('chat', chat({ model: 4 }), 'model', 'invalid_type');
    accepts(
      'chat',
      chat({ max_tokens: 1, temperature: 2, top_p: 0, n: MAX_N, stop: ['a', 'b', 'c', 'd'], logit_bias: { 2: -100 } }),
    );
    accepts('chat', chat({ max_tokens: null, temperature: null, stop: null, n: null }));
  });

  test('stream_options: needs stream, and Azure api-version 2024-09-01-preview or later', () => {
    rejects('chat', chat({ stream_options: { include_usage: true } }), 'stream_options', 'invalid_value');
    rejects('chat', chat({ stream: true, stream_options: 1 }), 'stream_options', 'invalid_type');
    rejects(
      'chat',
      chat({ stream: true, stream_options: { include_usage: 'yes' } }),
      'stream_options.include_usage',
      'invalid_type',
    );
    rejects(
      'chat',
      chat({ stream: true, stream_options: { include_usage: true } }),
      'stream_options',
      'unknown_parameter',
      '2024-06-01',
    );
    rejects(
      'completions',
      completion({ stream: true, stream_options: { include_usage: true } }),
      'stream_options',
      'unknown_parameter',
      '2024-08-01-preview',
    );
    accepts('chat', chat({ stream: true, stream_options: { include_usage: true } }), '2024-10-21');
    accepts('chat', chat({ stream: true, stream_options: { include_usage: true } }), '2024-09-01-preview');
    accepts('chat', chat({ stream: true, stream_options: { include_usage: true } }));
  });
});

describe('validateRequest: completions', () => {
  test('prompt, best_of, logprobs', () => {
    rejects('completions', {}, 'prompt', 'missing_required_parameter');
    rejects('completions', { prompt: 5 }, 'prompt', 'invalid_type');
    rejects('completions', { prompt: [1, 2, 3] }, 'prompt', 'invalid_type');
    rejects('completions', { prompt: [] }, 'prompt', 'invalid_value');
    rejects('completions', completion({ best_of: 2, stream: true }), 'best_of', 'invalid_value');
    rejects('completions', completion({ best_of: 1, n: 2 }), 'best_of', 'invalid_value');
    rejects('completions', completion({ best_of: 21 }), 'best_of', 'invalid_value');
    rejects('completions', completion({ logprobs: 6 }), 'logprobs', 'invalid_value');
    rejects('completions', completion({ echo: 1 }), 'echo', 'invalid_type');
    accepts('completions', { prompt: ['a', 'b'] });
    accepts('completions', completion({ best_of: 3, n: 2, logprobs: 0 }));
  });
});

describe('validateRequest never throws', () => {
  test('random JSON values: either ok or a well-formed 400', () => {
    const arbitraryBody = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(
        fc.constantFrom(
          'messages',
          'prompt',
          'max_tokens',
          'n',
          'stop',
          'stream',
          'stream_options',
          'temperature',
          'best_of',
          'logit_bias',
          'top_p',
          'model',
        ),
        fc.jsonValue(),
      ),
      fc.record({
        messages: fc.array(fc.dictionary(fc.constantFrom('role', 'content', 'name'), fc.jsonValue())),
      }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom<ApiKind>('chat', 'completions'),
        arbitraryBody,
        fc.option(fc.constantFrom('2024-06-01', '2024-10-21')),
        (kind, body, version) => {
          const v = validateRequest(kind, body, { apiVersion: version ?? undefined });
          if (v.ok) return;
          assert.equal(v.error.status, 400);
          assert.equal(typeof v.error.body.error.message, 'string');
          assert.equal(typeof v.error.body.error.code, 'string');
          assert.ok('param' in v.error.body.error && 'type' in v.error.body.error);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

function errorCode(value: number): string {
  return Number.isInteger(value) ? 'invalid_value' : 'invalid_type';
}
