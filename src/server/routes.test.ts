import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { matchRoute } from './routes.js';

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

  test('embeddings: the deployment route (api-version required), Azure v1 and OpenAI, POST only', () => {
    assert.deepEqual(matchRoute('POST', `/openai/deployments/my%20emb/embeddings${V}`), {
      route: {
        type: 'embeddings',
        label: 'azure_embeddings',
        dialect: 'azure',
        deployment: 'my emb',
        apiVersion: '2024-10-21',
      },
    });
    assert.deepEqual(matchRoute('POST', '/openai/v1/embeddings'), {
      route: { type: 'embeddings', label: 'azure_v1_embeddings', dialect: 'azure' },
    });
    assert.deepEqual(matchRoute('POST', '/v1/embeddings'), {
      route: { type: 'embeddings', label: 'openai_embeddings', dialect: 'openai' },
    });
    const missing = matchRoute('POST', '/openai/deployments/e/embeddings');
    assert.ok('error' in missing && missing.error.body.error.code === 'MissingApiVersionParameter');
    const get = matchRoute('GET', '/v1/embeddings');
    assert.ok('error' in get && get.error.status === 405);
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

  test('property: the api-version read from any query is the one URLSearchParams reads', () => {
    const piece = fc.constantFrom(
      'api-version',
      '=',
      '&',
      '?',
      '%',
      '%2D',
      '+',
      '2024-10-21',
      '-preview',
      'x',
      ' ',
      '',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const query = pieces.join('');
        const m = matchRoute('POST', `/openai/deployments/d/chat/completions?${query}`);
        const expected = new URLSearchParams(query).get('api-version');
        if (expected === null || expected === '') {
          assert.ok('error' in m && m.error.body.error.code === 'MissingApiVersionParameter', query);
        } else if (/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(expected)) {
          assert.ok('route' in m && m.route.type === 'generate', query);
          assert.equal(m.route.apiVersion, expected, query);
        } else {
          assert.ok('error' in m && m.error.body.error.code === 'InvalidApiVersionParameter', query);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('unknown paths are 404 in the dialect of their prefix; wrong methods are 405 with Allow', () => {
    for (const url of [
      '/',
      '/openai/deployments/d/images/generations?api-version=2024-10-21',
      '/openai/deployments/%E0%A4%A/chat/completions?api-version=2024-10-21',
    ]) {
      const m = matchRoute('POST', url);
      assert.ok('error' in m, url);
      assert.deepEqual(m.error.body, { error: { code: '404', message: 'Resource not found' } });
      assert.equal(m.notFound, true);
    }
    const openai = matchRoute('POST', '/v1/chat/completions/');
    assert.ok('error' in openai);
    assert.deepEqual(openai.error.body, {
      error: {
        message: 'Invalid URL (POST /v1/chat/completions/)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
    const get = matchRoute('GET', `/openai/deployments/d/chat/completions${V}`);
    assert.ok('error' in get);
    assert.equal(get.error.status, 405);
    assert.equal(get.error.headers?.allow, 'POST, OPTIONS');
    const post = matchRoute('POST', '/healthz');
    assert.ok('error' in post);
    assert.equal(post.error.status, 405);
  });

  test('runs of slashes count as one, as Azure routes them (an endpoint ending in / gives //openai/...)', () => {
    const m = matchRoute('POST', `//openai/deployments/gpt-4o/chat/completions${V}`);
    assert.ok('route' in m);
    assert.equal(m.route.type === 'generate' && m.route.deployment, 'gpt-4o');
    const v1 = matchRoute('POST', '//v1//chat/completions');
    assert.ok('route' in v1 && v1.route.label === 'openai_chat');
  });

  test('the Responses API: POST the collection, GET one response (resume parameters), in the dialect of its prefix', () => {
    for (const [url, dialect] of [
      ['/v1/responses', 'openai'],
      ['/openai/v1/responses', 'azure'],
      ['/openai/responses?api-version=2025-04-01-preview', 'azure'],
    ] as const) {
      const m = matchRoute('POST', url);
      assert.ok('route' in m && m.route.type === 'responses', url);
      assert.equal(m.route.dialect, dialect);
    }
    const deployment = matchRoute('POST', '/openai/deployments/story/responses?api-version=2025-04-01-preview');
    assert.ok('route' in deployment && deployment.route.type === 'responses');
    assert.equal(deployment.route.deployment, 'story');
    const get = matchRoute('GET', '/v1/responses/resp_1?stream=true&starting_after=7');
    assert.ok('route' in get && get.route.type === 'response');
    assert.deepEqual([get.route.id, get.route.stream, get.route.startingAfter], ['resp_1', true, 7]);
    const plain = matchRoute('GET', '/openai/v1/responses/resp_2');
    assert.ok('route' in plain && plain.route.type === 'response' && plain.route.dialect === 'azure');
    assert.deepEqual([plain.route.stream, plain.route.startingAfter], [false, -1]);
    const bad = matchRoute('GET', '/v1/responses/resp_1?stream=true&starting_after=x');
    assert.ok('error' in bad && bad.error.status === 400 && bad.error.body.error.param === 'starting_after');
    const wrong = matchRoute('GET', '/v1/responses');
    assert.ok('error' in wrong && wrong.error.status === 405);
    const deeper = matchRoute('GET', '/v1/responses/resp_1/input_items');
    assert.ok('error' in deeper && deeper.error.status === 404);
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
