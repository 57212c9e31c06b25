import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError, ProtocolError, StreamErrorFrame } from '../errors.js';
import { redactError, redactSecrets, redactSecretsDeep } from './secrets.js';

const KEY = '0123456789abcdef0123456789abcdef';

describe('redactSecrets', () => {
  test('redacts keys, tokens and signatures; leaves prose alone', () => {
    assert.equal(redactSecrets('url ?api-key=abc123&x=1'), 'url ?api-key=[redacted]&x=1');
    assert.equal(redactSecrets('Authorization: Bearer abcdefghijkl'), 'Authorization: Bearer [redacted]');
    assert.equal(redactSecrets('sas ?sv=1&sig=AbCd%2F123'), 'sas ?sv=1&sig=[redacted]');
    assert.equal(
      redactSecrets('invalid subscription key or wrong API endpoint'),
      'invalid subscription key or wrong API endpoint',
    );
  });

  test('OpenAI-style keys and JSON web tokens, wherever they stand', () => {
    assert.equal(redactSecrets('OPENAI_BASE_URL=sk-proj-abcdefghijklmnop1234'), 'OPENAI_BASE_URL=[redacted]');
    assert.equal(
      redactSecrets('got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl here'),
      'got [redacted] here',
    );
  });

  test('known secrets by exact value, also URL-encoded; too-short values are left', () => {
    assert.equal(redactSecrets(`echo ${KEY} and ${KEY}`, [KEY]), 'echo [redacted] and [redacted]');
    assert.equal(redactSecrets('?k=a%2Fb%3D%3D', ['a/b==']), '?k=[redacted]');
    assert.equal(redactSecrets('a bare key abc', ['abc']), 'a bare key abc');
    assert.equal(redactSecrets(`no known ${KEY}`), `no known ${KEY}`, 'a bare hex key needs to be known');
  });
});

describe('redactSecretsDeep', () => {
  test('every string in objects and arrays, keys kept, other values as they are', () => {
    assert.deepStrictEqual(redactSecretsDeep({ a: [`x ${KEY}`, 1, null, { b: true }], c: 'fine' }, [KEY]), {
      a: ['x [redacted]', 1, null, { b: true }],
      c: 'fine',
    });
  });
});

describe('redactError', () => {
  test('message, stack, upstream body, partial and a SluiceError cause', () => {
    const api = new ApiError(`echo ${KEY}`, {
      status: 500,
      body: { error: { message: `echo ${KEY}`, code: 'x' } },
      partial: {
        id: 'r',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: KEY }, finish_reason: null, logprobs: null }],
      },
    });
    const outer = new ProtocolError('unexpected-shape', `wrapped: ${api.message}`, { cause: api });
    assert.equal(redactError(outer, [KEY]), outer);
    const all = [
      outer.message,
      outer.stack,
      api.message,
      api.stack,
      JSON.stringify(api.body),
      JSON.stringify(api.partial),
    ];
    for (const text of all) assert.ok(!String(text).includes(KEY), String(text));
    const frame = redactError(new StreamErrorFrame('m', { error: { message: `token=${KEY}` } }));
    assert.equal(frame.body?.error.message, 'token=[redacted]');
  });
});

describe('prose after a credential word', () => {
  test('stays readable; credential-shaped values still go', () => {
    assert.equal(
      redactSecrets('Unknown option --max-token: did you mean --max-tokens?'),
      'Unknown option --max-token: did you mean --max-tokens?',
    );
    assert.equal(redactSecrets('the key: maximum context'), 'the key: maximum context');
    assert.equal(redactSecrets('password=hunter22'), 'password=[redacted]');
    assert.equal(redactSecrets('key: abcdefghijklmnopqrstuv'), 'key: [redacted]');
    assert.equal(redactSecrets('token: ab12cd34'), 'token: [redacted]');
    assert.equal(redactSecrets('?key=SECRETSECRET'), '?key=[redacted]');
    assert.equal(redactSecrets('?api-key=abc123&x=1'), '?api-key=[redacted]&x=1');
  });
});
