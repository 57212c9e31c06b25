import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { acceptsStreamOptions, matchRoute } from './routes.js';

const V = '?api-version=2024-10-21';

describe('matchRoute', () => {
  test('Azure dated routes carry deployment (percent-decoded) and api-version', () => {
    const chat = matchRoute('POST', `/openai/deployments/gpt-4o/chat/completions${V}`);
    assert.deepEqual(chat, {
      route: {
        type: 'generate',
        label: 'azure_chat',
        kind: 'chat',
        dialect: 'azure',
        deployment: 'gpt-4o',
        apiVersion: '2024-10-21',
      },
    });
    const completions = matchRoute(
      'POST',
      '/openai/deployments/my%20dep/completions?x=1&api-version=2024-02-15-preview',
    );
    assert.ok('route' in completions && completions.route.type === 'generate');
    assert.equal(completions.route.kind, 'completions');
    assert.equal(completions.route.deployment, 'my dep');
    assert.equal(completions.route.apiVersion, '2024-02-15-preview');
  });

  test('v1 and OpenAI routes need no api-version and pick their dialect', () => {
    const cases: Array<[string, string, string]> = [
      ['/openai/v1/chat/completions', 'azure', 'chat'],
      ['/openai/v1/completions', 'azure', 'completions'],
      ['/v1/chat/completions', 'openai', 'chat'],
      ['/v1/completions', 'openai', 'completions'],
    ];
    for (const [path, dialect, kind] of cases) {
      const m = matchRoute('POST', path);
      assert.ok('route' in m && m.route.type === 'generate', path);
      assert.equal(m.route.dialect, dialect);
      assert.equal(m.route.kind, kind);
      assert.equal(m.route.deployment, undefined);
    }
  });

  test('missing api-version is a 400 MissingApiVersionParameter; malformed ones are 400 too', () => {
    for (const url of ['/openai/deployments/d/chat/completions', '/openai/deployments/d/completions?api-version=']) {
      const m = matchRoute('POST', url);
      assert.ok('error' in m);
      assert.equal(m.error.status, 400);
      assert.equal(m.error.body.error.code, 'MissingApiVersionParameter');
    }
    for (const v of ['2024-13-01', 'latest', '2024-10-21-beta', '24-10-21']) {
      const m = matchRoute('POST', `/openai/deployments/d/chat/completions?api-version=${v}`);
      assert.ok('error' in m, v);
      assert.equal(m.error.body.error.code, 'InvalidApiVersionParameter');
    }
  });

  test('unknown paths are Azure 404; wrong methods are 405 with Allow', () => {
    for (const url of [
      '/',
      '/openai/deployments//chat/completions?api-version=2024-10-21',
      '/openai/deployments/d/embeddings?api-version=2024-10-21',
      '/v1/chat/completions/',
      '//v1/chat/completions',
      '/openai/deployments/%E0%A4%A/chat/completions?api-version=2024-10-21',
    ]) {
      const m = matchRoute('POST', url);
      assert.ok('error' in m, url);
      assert.deepEqual(m.error.body, { error: { code: '404', message: 'Resource not found' } });
      assert.equal(m.notFound, true);
    }
    const get = matchRoute('GET', `/openai/deployments/d/chat/completions${V}`);
    assert.ok('error' in get);
    assert.equal(get.error.status, 405);
    assert.equal(get.error.headers?.allow, 'POST, OPTIONS');
    const post = matchRoute('POST', '/healthz');
    assert.ok('error' in post);
    assert.equal(post.error.status, 405);
  });

  test('models, healthz, metrics, preflight', () => {
    for (const [url, type] of [
      ['/v1/models', 'models'],
      ['/openai/v1/models', 'models'],
      [`/openai/models${V}`, 'models'],
      ['/healthz', 'healthz'],
      ['/metrics', 'metrics'],
    ] as const) {
      const m = matchRoute('GET', url);
      assert.ok('route' in m, url);
      assert.equal(m.route.type, type);
    }
    const pre = matchRoute('OPTIONS', '/anything');
    assert.ok('route' in pre && pre.route.type === 'preflight');
  });
});

describe('acceptsStreamOptions', () => {
  test('from 2024-09-01-preview on, and always on undated routes', () => {
    assert.equal(acceptsStreamOptions(undefined), true);
    assert.equal(acceptsStreamOptions('2024-10-21'), true);
    assert.equal(acceptsStreamOptions('2024-09-01-preview'), true);
    assert.equal(acceptsStreamOptions('2025-01-01-preview'), true);
    assert.equal(acceptsStreamOptions('2024-08-01-preview'), false);
    assert.equal(acceptsStreamOptions('2024-06-01'), false);
    assert.equal(acceptsStreamOptions('2023-05-15'), false);
  });
});
