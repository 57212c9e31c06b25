import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ApiKind } from '../types.js';
import {
  acceptsStreamOptions,
  DEFAULT_COMPLETION_MAX_TOKENS,
  MAX_CHOICES,
  MAX_REQUEST_TOKENS,
  parseRequest,
  type RequestCapabilities,
  validateRequest,
} from './request.js';

const chat = (extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content: 'hi' }], ...extra });
const completion = (extra: Record<string, unknown> = {}) => ({ prompt: 'Once', ...extra });

/** Expects a problem naming `param` with `code`. */
function rejects(
  kind: ApiKind,
  body: unknown,
  param: string | null,
  code: string,
  apiVersion?: string,
  capabilities?: RequestCapabilities,
) {
  const v = validateRequest(kind, body, { apiVersion, capabilities });
  assert.equal(v.ok, false, `expected a 400 for ${JSON.stringify(body)}`);
  if (v.ok) return;
  assert.equal(v.problem.param, param, JSON.stringify(v.problem));
  assert.equal(v.problem.code, code, JSON.stringify(v.problem));
  assert.equal(typeof v.problem.message, 'string');
}

function accepts(kind: ApiKind, body: unknown, apiVersion?: string, capabilities?: RequestCapabilities) {
  const v = validateRequest(kind, body, { apiVersion, capabilities });
  assert.equal(v.ok, true, v.ok ? '' : JSON.stringify(v.problem));
}

describe('parseRequest', () => {
  test('malformed JSON and non-object bodies are 400s', () => {
    for (const text of ['', '{', '{"messages":', 'nul', '\u0000', '{"a":1}x']) {
      const v = parseRequest('chat', text, {});
      assert.ok(!v.ok);
      assert.equal(v.problem.code, 'invalid_json');
    }
    for (const text of ['null', '[]', '"text"', '42', 'true']) {
      const v = parseRequest('chat', text, {});
      assert.ok(!v.ok, text);
      assert.equal(v.problem.code, 'invalid_type');
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
    rejects('chat', chat({ n: MAX_CHOICES + 1 }), 'n', 'invalid_value');
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
      chat({
        max_tokens: 1,
        temperature: 2,
        top_p: 0,
        n: MAX_CHOICES,
        stop: ['a', 'b', 'c', 'd'],
        logit_bias: { 2: -100 },
      }),
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

  test('max_tokens 0 is valid for completions (echo returns the prompt alone), never for chat', () => {
    // The two copies disagreed: the server refused 0 everywhere, the local backend allowed it for completions.
    accepts('completions', completion({ max_tokens: 0, echo: true }));
    rejects('chat', chat({ max_tokens: 0 }), 'max_tokens', 'invalid_value');
    rejects('completions', completion({ max_tokens: -1 }), 'max_tokens', 'invalid_value');
  });
});

describe('one rule for every caller', () => {
  test('an empty stop sequence is refused, not silently dropped', () => {
    // The local backend used to drop '' from the list; the server refused it. Refusing is right: nothing is lost unseen.
    rejects('completions', completion({ stop: ['a', '', 'b'] }), 'stop', 'invalid_value');
    rejects('chat', chat({ stop: '' }), 'stop', 'invalid_value');
  });

  test('the legacy Completions default is 16 tokens, as OpenAI and Azure document', () => {
    assert.equal(DEFAULT_COMPLETION_MAX_TOKENS, 16);
  });

  test('stream_options by api-version: dated versions from 2024-09-01, undated ones always', () => {
    for (const v of [undefined, '2024-10-21', '2024-09-01-preview', '2025-01-01-preview', 'latest', 'v1', 'preview']) {
      assert.equal(acceptsStreamOptions(v), true, String(v));
    }
    for (const v of ['2024-08-01-preview', '2024-06-01', '2024-02-01', '2023-05-15']) {
      assert.equal(acceptsStreamOptions(v), false, v);
    }
  });
});

describe('capabilities: what a backend cannot honour is refused, naming the parameter', () => {
  const local: RequestCapabilities = {
    tools: false,
    responseFormat: false,
    images: false,
    logprobs: false,
    bestOf: false,
  };
  const tool = { type: 'function', function: { name: 'f', parameters: {} } };

  test('tools, tool_choice, response_format, image parts, logprobs, best_of > n', () => {
    rejects('chat', chat({ tools: [tool] }), 'tools', 'unsupported_parameter', undefined, local);
    rejects('chat', chat({ tool_choice: 'auto' }), 'tool_choice', 'unsupported_parameter', undefined, local);
    rejects('chat', chat({ functions: [{ name: 'f' }] }), 'functions', 'unsupported_parameter', undefined, local);
    rejects(
      'chat',
      chat({ response_format: { type: 'json_object' } }),
      'response_format',
      'unsupported_parameter',
      undefined,
      local,
    );
    const image = { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } };
    rejects(
      'chat',
      { messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, image] }] },
      'messages[0].content[1].type',
      'unsupported_parameter',
      undefined,
      local,
    );
    rejects('chat', chat({ logprobs: true }), 'logprobs', 'unsupported_parameter', undefined, local);
    rejects('completions', completion({ logprobs: 2 }), 'logprobs', 'unsupported_parameter', undefined, local);
    rejects('completions', completion({ best_of: 3 }), 'best_of', 'unsupported_parameter', undefined, local);
    accepts('chat', chat({ response_format: { type: 'text' }, logprobs: false }), undefined, local);
    accepts('completions', completion({ best_of: 2, n: 2, logprobs: 0 }), undefined, local);
  });

  test('without capabilities (an upstream) the same fields pass through unchanged', () => {
    const body = chat({ tools: [tool], tool_choice: 'auto', response_format: { type: 'json_object' }, logprobs: true });
    const v = validateRequest('chat', body, {});
    assert.ok(v.ok);
    assert.deepEqual(v.body, body);
  });

  test('max_tokens above what the model supports is refused with the limit, not cut', () => {
    rejects('chat', chat({ max_tokens: 513 }), 'max_tokens', 'invalid_value', undefined, { maxTokens: 512 });
    rejects('completions', completion({ max_tokens: 600 }), 'max_tokens', 'invalid_value', undefined, {
      maxTokens: 512,
    });
    const v = validateRequest('chat', chat({ max_completion_tokens: 1000 }), { capabilities: { maxTokens: 512 } });
    assert.ok(!v.ok);
    assert.match(v.problem.message, /at most 512/);
    accepts('chat', chat({ max_tokens: 512 }), undefined, { maxTokens: 512 });
  });
});

describe('the work one request may ask for is bounded', () => {
  test('prompts × n', () => {
    const prompts = Array.from({ length: 20_000 }, (_, i) => `p${i}`);
    rejects('completions', { prompt: prompts, n: 128, max_tokens: 1 }, 'prompt', 'invalid_value');
    rejects('completions', { prompt: prompts.slice(0, 129) }, 'prompt', 'invalid_value');
    rejects('completions', { prompt: ['a', 'b'], n: 65 }, 'prompt', 'invalid_value');
    accepts('completions', { prompt: prompts.slice(0, 128) });
    accepts('completions', { prompt: ['a', 'b'], n: 64 });
  });

  test('prompts × n × max_tokens', () => {
    const v = validateRequest('completions', { prompt: ['a', 'b'], n: 64, max_tokens: 4096 });
    assert.ok(!v.ok);
    assert.equal(v.problem.param, 'max_tokens');
    assert.match(v.problem.message, new RegExp(`at most ${MAX_REQUEST_TOKENS}`));
    accepts('completions', { prompt: ['a', 'b'], n: 64, max_tokens: 2048 });
    // Chat without max_tokens runs to the context: the backend's limit counts.
    rejects('chat', chat({ n: 128 }), 'max_tokens', 'invalid_value', undefined, { maxTokens: 4096 });
    accepts('chat', chat({ n: 128 }), undefined, { maxTokens: 512 });
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
          assert.equal(typeof v.problem.message, 'string');
          assert.equal(typeof v.problem.code, 'string');
          assert.ok(v.problem.param === null || typeof v.problem.param === 'string');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

function errorCode(value: number): string {
  return Number.isInteger(value) ? 'invalid_value' : 'invalid_type';
}
