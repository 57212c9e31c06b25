import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import {
  authHeaders,
  buildUrl,
  DEFAULT_STREAM_TIMEOUTS,
  fixedAuthHeaders,
  mergeTimeouts,
  resolveTarget,
} from './options.js';

describe('resolveTarget', () => {
  test('an Azure endpoint defaults to deployment routes and api-version 2024-10-21', () => {
    assert.deepEqual(resolveTarget({ endpoint: 'https://x.openai.azure.com/' }), {
      kind: 'azure-deployments',
      base: 'https://x.openai.azure.com',
      apiVersion: '2024-10-21',
    });
  });

  test('route v1 and a baseURL are recognised; trailing slashes are dropped', () => {
    assert.deepEqual(resolveTarget({ endpoint: 'https://x.openai.azure.com', route: 'v1' }), {
      kind: 'azure-v1',
      base: 'https://x.openai.azure.com',
    });
    assert.deepEqual(resolveTarget({ baseURL: 'http://127.0.0.1:8080/v1//' }), {
      kind: 'openai',
      base: 'http://127.0.0.1:8080/v1',
    });
  });

  test('no endpoint and no baseURL is a ConfigError naming both settings', () => {
    assert.throws(
      () => resolveTarget({}),
      (e: unknown) => e instanceof ConfigError && e.setting === 'endpoint' && /baseURL/.test(e.message),
    );
  });

  test('both endpoint and baseURL, a non-URL, a non-http URL or a query are ConfigErrors', () => {
    for (const bad of [
      { endpoint: 'https://a', baseURL: 'https://b' },
      { endpoint: 'not a url' },
      { baseURL: 'ftp://x/v1' },
      { endpoint: 'https://x?y=1' },
      { endpoint: 'https://x', route: 'nope' as 'v1' },
    ]) {
      assert.throws(() => resolveTarget(bad), ConfigError, JSON.stringify(bad));
    }
  });
});

describe('buildUrl', () => {
  const azure = resolveTarget({ endpoint: 'https://x.openai.azure.com', apiVersion: '2024-02-01' });

  test('deployment routes for chat and completions carry the api-version', () => {
    assert.equal(
      buildUrl(azure, 'chat', 'gpt-4o').url,
      'https://x.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01',
    );
    assert.equal(
      buildUrl(azure, 'completions', 'instruct').url,
      'https://x.openai.azure.com/openai/deployments/instruct/completions?api-version=2024-02-01',
    );
  });

  test('a deployment name is one percent-encoded path segment', () => {
    const { url } = buildUrl(azure, 'chat', 'a/../../x y?');
    assert.equal(
      url,
      'https://x.openai.azure.com/openai/deployments/a%2F..%2F..%2Fx%20y%3F/chat/completions?api-version=2024-02-01',
    );
    assert.equal(new URL(url).pathname, '/openai/deployments/a%2F..%2F..%2Fx%20y%3F/chat/completions');
  });

  test('a deployment route without a deployment is a ConfigError', () => {
    assert.throws(
      () => buildUrl(azure, 'chat', undefined),
      (e: unknown) => e instanceof ConfigError && e.setting === 'deployment',
    );
    assert.throws(() => buildUrl(resolveTarget({ endpoint: 'https://x', route: 'v1' }), 'chat', ''), ConfigError);
  });

  test('v1 and OpenAI-compatible routes put the deployment in the body as model', () => {
    assert.deepEqual(buildUrl(resolveTarget({ endpoint: 'https://x', route: 'v1' }), 'completions', 'dep'), {
      url: 'https://x/openai/v1/completions',
      model: 'dep',
    });
    assert.deepEqual(buildUrl(resolveTarget({ baseURL: 'https://api.openai.com/v1' }), 'chat', undefined), {
      url: 'https://api.openai.com/v1/chat/completions',
      model: undefined,
    });
  });
});

describe('authHeaders', () => {
  const azure = resolveTarget({ endpoint: 'https://x' });
  const openai = resolveTarget({ baseURL: 'https://x/v1' });

  test('Azure with a key sends api-key; OpenAI-compatible sends a bearer', async () => {
    assert.deepEqual(await authHeaders(azure, { apiKey: 'k1' }), { 'api-key': 'k1' });
    assert.deepEqual(await authHeaders(openai, { apiKey: 'k1' }), { authorization: 'Bearer k1' });
  });

  test('a token or token provider is a bearer and wins over a key', async () => {
    assert.deepEqual(await authHeaders(azure, { apiKey: 'k', token: 't' }), { authorization: 'Bearer t' });
    let calls = 0;
    const tokenProvider = async () => `tok${++calls}`;
    assert.deepEqual(await authHeaders(azure, { apiKey: 'k', tokenProvider }), { authorization: 'Bearer tok1' });
    assert.deepEqual(await authHeaders(azure, { tokenProvider }), { authorization: 'Bearer tok2' });
  });

  test('no credentials, no header; an empty token is a ConfigError', async () => {
    assert.deepEqual(await authHeaders(azure, {}), {});
    await assert.rejects(authHeaders(azure, { tokenProvider: () => '' }), ConfigError);
  });

  test('fixed headers are built once for a key or a token; a provider is asked per attempt instead', () => {
    assert.deepEqual(fixedAuthHeaders(azure, { apiKey: 'k' }), { 'api-key': 'k' });
    assert.deepEqual(fixedAuthHeaders(openai, { apiKey: 'k' }), { authorization: 'Bearer k' });
    assert.deepEqual(fixedAuthHeaders(azure, { apiKey: 'k', token: 't' }), { authorization: 'Bearer t' });
    assert.equal(fixedAuthHeaders(azure, { apiKey: 'k', tokenProvider: () => 't' }), undefined);
  });
});

test('mergeTimeouts: call over client over defaults', () => {
  assert.deepEqual(mergeTimeouts(DEFAULT_STREAM_TIMEOUTS, { idleMs: 5, totalMs: 9 }, { idleMs: 7 }), {
    headersMs: DEFAULT_STREAM_TIMEOUTS.headersMs,
    firstTokenMs: DEFAULT_STREAM_TIMEOUTS.firstTokenMs,
    idleMs: 7,
    totalMs: 9,
  });
});
