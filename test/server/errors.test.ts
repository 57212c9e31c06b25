// Every bad input and every backend failure over real HTTP: Azure's status, body and
// headers, never a crash or a stack trace.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import {
  BadRequestError,
  ContentFilterError,
  ModelLoadError,
  OverloadedError,
  RateLimitError,
  ServerError,
} from '../../src/errors.js';
import type { ApiErrorBody } from '../../src/types.js';
import { allFrames, azureUrl, dataOf, metrics, post, start } from '../support/server.js';

const chatBody = { messages: [{ role: 'user', content: 'hi' }] };
const NOT_FOUND = { error: { code: '404', message: 'Resource not found' } };
const UNAUTHORIZED = {
  error: {
    code: '401',
    message:
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
  },
};
const DEPLOYMENT_NOT_FOUND = {
  error: {
    code: 'DeploymentNotFound',
    message:
      'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
  },
};

describe('routes and methods', () => {
  test('unknown routes: Azure 404; wrong methods: 405 with Allow', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend([]) });
    for (const path of [
      '/',
      '/v2/chat/completions',
      '/openai/deployments/d/images/generations?api-version=2024-10-21',
    ]) {
      const res = await post(`${url}${path}`, chatBody);
      assert.equal(res.status, 404, path);
      assert.deepEqual(await res.json(), NOT_FOUND);
    }
    const res = await fetch(azureUrl(url, 'd', 'chat'));
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
    const body = (await res.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal((await fetch(`${url}/v1/models`, { method: 'DELETE' })).status, 405);
  });

  test('missing api-version on a dated route: 400 MissingApiVersionParameter; the backend is not called', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'x'));
    const { url } = await start(t, { backend });
    const res = await post(`${url}/openai/deployments/d/chat/completions`, chatBody);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; param: string } };
    assert.equal(body.error.code, 'MissingApiVersionParameter');
    assert.equal(body.error.param, 'api-version');
    assert.equal(backend.requests.length, 0);
  });

  test('a static handler serves non-API GETs; false falls through to 404; API routes never reach it', async (t) => {
    const seen: string[] = [];
    const { url } = await start(t, {
      backend: createScriptedBackend(textScript('chat', 'x')),
      apiKey: 'k',
      staticHandler: (req, res) => {
        seen.push(req.url ?? '');
        if (req.url !== '/') return false;
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<h1>chat</h1>');
        return true;
      },
    });
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<h1>chat</h1>');
    assert.equal(page.headers.get('x-request-id')?.length, 36);
    const missing = await fetch(`${url}/nope.js`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), NOT_FOUND);
    assert.equal((await post(`${url}/`, {})).status, 404);
    await (await fetch(`${url}/healthz`)).text();
    await (await post(azureUrl(url, 'd', 'chat'), chatBody, { 'api-key': 'k' })).text();
    assert.deepEqual(seen, ['/', '/nope.js']);
  });

  test('a throwing static handler is a bare 500, not a crash', async (t) => {
    const { url } = await start(t, {
      backend: createScriptedBackend([]),
      staticHandler: () => {
        throw new Error('secret path /home/x');
      },
    });
    const res = await fetch(`${url}/`);
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.doesNotMatch(text, /secret|home|at /);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });
});

describe('bad bodies', () => {
  const cases: Array<[string, unknown, string | null, string]> = [
    ['malformed JSON', '{"messages": [', null, 'invalid_json'],
    ['empty body', '', null, 'invalid_json'],
    ['an array', '[]', null, 'invalid_type'],
    ['messages not an array', { messages: 'hi' }, 'messages', 'invalid_type'],
    ['invalid role', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role', 'invalid_value'],
    ['content a number', { messages: [{ role: 'user', content: 1 }] }, 'messages[0].content', 'invalid_type'],
    [
      'a later message named with a number',
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b', name: 5 },
        ],
      },
      'messages[1].name',
      'invalid_type',
    ],
    [
      'a content part without a type',
      { messages: [{ role: 'user', content: [{ text: 'x' }] }] },
      'messages[0].content[0].type',
      'invalid_type',
    ],
    ['max_tokens 0', { ...chatBody, max_tokens: 0 }, 'max_tokens', 'invalid_value'],
    ['max_tokens 1.5', { ...chatBody, max_tokens: 1.5 }, 'max_tokens', 'invalid_type'],
    ['temperature 3', { ...chatBody, temperature: 3 }, 'temperature', 'invalid_value'],
    ['top_p 2', { ...chatBody, top_p: 2 }, 'top_p', 'invalid_value'],
    ['n 129', { ...chatBody, n: 129 }, 'n', 'invalid_value'],
    ['5 stop sequences', { ...chatBody, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', 'invalid_value'],
    [
      'stream_options without stream',
      { ...chatBody, stream_options: { include_usage: true } },
      'stream_options',
      'invalid_value',
    ],
  ];
  for (const [name, body, param, code] of cases) {
    test(`${name}: 400 ${code}`, async (t) => {
      const backend = createScriptedBackend(textScript('chat', 'x'));
      const { url } = await start(t, { backend });
      const res = await post(azureUrl(url, 'd', 'chat'), body);
      assert.equal(res.status, 400);
      const got = (await res.json()) as {
        error: { code: string; param: string | null; type: string; message: string };
      };
      assert.equal(got.error.code, code);
      assert.equal(got.error.param, param);
      assert.equal(got.error.type, 'invalid_request_error');
      assert.ok(got.error.message.length > 0);
      assert.equal(backend.requests.length, 0);
    });
  }

  test('completions: prompt missing, best_of with stream', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend(textScript('completions', 'x')) });
    const missing = (await (await post(azureUrl(url, 'd', 'completions'), { max_tokens: 3 })).json()) as {
      error: { code: string; param: string };
    };
    assert.deepEqual([missing.error.code, missing.error.param], ['missing_required_parameter', 'prompt']);
    const bestOf = await post(azureUrl(url, 'd', 'completions'), { prompt: 'x', best_of: 2, stream: true });
    assert.equal(bestOf.status, 400);
    assert.equal(((await bestOf.json()) as { error: { param: string } }).error.param, 'best_of');
  });

  test('stream_options on an api-version before 2024-09-01-preview: 400 unknown_parameter', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend(textScript('chat', 'x')) });
    const body = { ...chatBody, stream: true, stream_options: { include_usage: true } };
    const old = await post(azureUrl(url, 'd', 'chat', '2024-06-01'), body);
    assert.equal(old.status, 400);
    const got = (await old.json()) as { error: { code: string; param: string } };
    assert.deepEqual([got.error.code, got.error.param], ['unknown_parameter', 'stream_options']);
    const current = await post(azureUrl(url, 'd', 'chat', '2024-09-01-preview'), body);
    assert.equal(current.status, 200);
    await current.text();
  });

  test('unknown parameters are accepted and passed to the backend', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'x'));
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'd', 'chat'), { ...chatBody, data_sources: [{ type: 'x' }], foo: 1 });
    assert.equal(res.status, 200);
    await res.json();
    assert.equal(backend.requests[0]?.body.foo, 1);
  });

  test('oversized bodies: 413 from content-length before reading, and from a chunked body past the limit', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'x'));
    const { url } = await start(t, { backend, maxBodyBytes: 1000 });
    const big = JSON.stringify({ ...chatBody, pad: 'x'.repeat(2000) });
    const declared = await post(azureUrl(url, 'd', 'chat'), big);
    assert.equal(declared.status, 413);
    const body = (await declared.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'RequestEntityTooLarge');
    assert.match(body.error.message, /1000 bytes/);

    // Chunked (no content-length): the server stops once past the limit.
    const chunked = await rawChunkedPost(azureUrl(url, 'd', 'chat'), [
      big.slice(0, 600),
      big.slice(600, 1200),
      big.slice(1200),
    ]);
    assert.equal(chunked.status, 413);
    assert.match(chunked.body, /RequestEntityTooLarge/);

    // Just under the limit is fine.
    const small = JSON.stringify({ ...chatBody, pad: 'x'.repeat(900) });
    assert.ok(Buffer.byteLength(small) <= 1000);
    const ok = await post(azureUrl(url, 'd', 'chat'), small);
    assert.equal(ok.status, 200);
    await ok.text();
    assert.equal(backend.requests.length, 1);
  });
});

describe('auth', () => {
  test('with apiKey: missing or wrong key -> Azure 401; api-key or Bearer -> 200', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'x'));
    const { url } = await start(t, { backend, apiKey: 'the-key' });
    const wrong: Array<Record<string, string>> = [
      {},
      { 'api-key': 'nope' },
      { authorization: 'Bearer nope' },
      { authorization: 'the-key' },
      { 'api-key': 'the-ke' },
    ];
    for (const headers of wrong) {
      const res = await post(azureUrl(url, 'd', 'chat'), chatBody, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.deepEqual(await res.json(), UNAUTHORIZED);
    }
    assert.equal((await fetch(`${url}/v1/models`)).status, 401);
    const right: Array<Record<string, string>> = [
      { 'api-key': 'the-key' },
      { authorization: 'Bearer the-key' },
      { authorization: 'bearer the-key' },
    ];
    for (const headers of right) {
      const res = await post(azureUrl(url, 'd', 'chat'), chatBody, headers);
      assert.equal(res.status, 200, JSON.stringify(headers));
      await res.json();
    }
    assert.equal(backend.requests.length, 3);
  });

  test('without apiKey: any or no key is accepted', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend(textScript('chat', 'x')) });
    for (const headers of [{}, { 'api-key': 'whatever' }] as Array<Record<string, string>>) {
      const res = await post(azureUrl(url, 'd', 'chat'), chatBody, headers);
      assert.equal(res.status, 200);
      await res.json();
    }
  });
});

describe('deployments', () => {
  test('configured names route to their backend; unknown names get 404 DeploymentNotFound', async (t) => {
    const a = createScriptedBackend(textScript('chat', 'from a'), { name: 'a' });
    const b = createScriptedBackend(textScript('chat', 'from b'), { name: 'b' });
    const { url } = await start(t, { deployments: { 'gpt-4o': a, tiny: b } });
    const text = async (res: Response) =>
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content;
    assert.equal(await text(await post(azureUrl(url, 'gpt-4o', 'chat'), chatBody)), 'from a');
    assert.equal(await text(await post(azureUrl(url, 'tiny', 'chat'), chatBody)), 'from b');
    assert.equal(await text(await post(`${url}/openai/v1/chat/completions`, { ...chatBody, model: 'tiny' })), 'from b');

    const unknown = await post(azureUrl(url, 'gpt-5', 'chat'), chatBody);
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), DEPLOYMENT_NOT_FOUND);
    const v1 = await post(`${url}/openai/v1/chat/completions`, { ...chatBody, model: 'gpt-5' });
    assert.deepEqual(await v1.json(), DEPLOYMENT_NOT_FOUND);
    const openai = await post(`${url}/v1/chat/completions`, { ...chatBody, model: 'gpt-5' });
    assert.equal(openai.status, 404);
    assert.equal(((await openai.json()) as { error: { code: string } }).error.code, 'model_not_found');
    const noModel = await post(`${url}/v1/chat/completions`, chatBody);
    assert.equal(noModel.status, 400);
    await noModel.text();
    // Prototype keys are not deployments.
    assert.equal((await post(azureUrl(url, 'constructor', 'chat'), chatBody)).status, 404);
    assert.equal(a.requests.length + b.requests.length, 3);
  });

  test('without deployments, every name is served by the default backend', async (t) => {
    const backend = createScriptedBackend(textScript('completions', 'x'));
    const { url } = await start(t, { backend });
    for (const name of ['gpt-35-turbo-instruct', 'anything', 'a b']) {
      const res = await post(azureUrl(url, name, 'completions'), { prompt: 'p' });
      assert.equal(res.status, 200);
      await res.json();
    }
    assert.deepEqual(
      backend.requests.map((r) => r.deployment),
      ['gpt-35-turbo-instruct', 'anything', 'a b'],
    );
  });
});

describe('backend failures', () => {
  test('overloaded: 429 with retry-after-ms and retry-after, Azure body, counted in /metrics', async (t) => {
    const backend = createScriptedBackend([{ error: () => new OverloadedError(1500) }]);
    const { url } = await start(t, { backend });
    for (const stream of [true, false]) {
      const res = await post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after-ms'), '1500');
      assert.equal(res.headers.get('retry-after'), '2');
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, '429');
      assert.match(body.error.message, /ChatCompletions_Create.*2024-10-21.*Please retry after 2 seconds/);
    }
    const m = await metrics(url);
    assert.equal(m.get('sluice_overloaded_total'), 2);
    assert.equal(m.get('sluice_http_requests_total{route="azure_chat",status="429"}'), 2);
  });

  test('model load failure: 500 naming the model path', async (t) => {
    const backend = createScriptedBackend([
      {
        error: () =>
          new ModelLoadError('Cannot read model file /models/x.gguf (set --model or SLUICE_MODEL)', '/models/x.gguf'),
      },
    ]);
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream: true });
    assert.equal(res.status, 500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'ModelLoadFailed');
    assert.match(body.error.message, /\/models\/x\.gguf/);
  });

  test('an error mid-stream: the chunks so far, then a data: {"error"} frame, then the end without [DONE]', async (t) => {
    const steps = textScript('chat', 'one two three four');
    const backend = createScriptedBackend([
      ...steps.slice(0, 3),
      { error: new ServerError('upstream broke', { status: 500 }) },
    ]);
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream: true });
    assert.equal(res.status, 200);
    const frames = await allFrames(res);
    const { chunks, done } = dataOf(frames);
    assert.equal(done, false);
    // prompt filter + role + 2 content chunks kept, then the error frame.
    assert.equal(chunks.length, 5);
    assert.equal(
      chunks
        .slice(1, 4)
        .map((c) => (c.choices[0] as { delta?: { content?: string } } | undefined)?.delta?.content ?? '')
        .join(''),
      'one two',
    );
    assert.deepEqual(chunks.at(-1), { error: { code: '500', message: 'upstream broke' } });
    const m = await metrics(url);
    assert.equal(m.get('sluice_stream_errors_total'), 1);
  });

  test('upstream ApiError: same status and body, retry delay kept, nothing else of the upstream', async (t) => {
    const filtered: ApiErrorBody = {
      error: {
        code: 'content_filter',
        param: 'prompt',
        message: 'The response was filtered',
        innererror: {
          code: 'ResponsibleAIPolicyViolation',
          content_filter_result: { violence: { filtered: true, severity: 'high' } },
        },
      },
    };
    let call = 0;
    const backend = createScriptedBackend(() => [
      {
        error:
          call++ === 0
            ? new ContentFilterError('filtered', {
                status: 400,
                body: filtered,
                requestId: 'upstream-req-id',
                where: 'prompt',
                categories: ['violence'],
              })
            : new RateLimitError('slow down', {
                status: 429,
                body: { error: { code: '429', message: 'Please retry after 7 seconds.' } },
                rateLimit: { retryAfterMs: 7000 },
              }),
      },
    ]);
    const { url } = await start(t, { backend });
    const first = await post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream: true });
    assert.equal(first.status, 400);
    assert.deepEqual(await first.json(), filtered);
    assert.notEqual(first.headers.get('x-request-id'), 'upstream-req-id');
    const second = await post(azureUrl(url, 'd', 'chat'), chatBody);
    assert.equal(second.status, 429);
    assert.equal(second.headers.get('retry-after-ms'), '7000');
    assert.equal(second.headers.get('retry-after'), '7');
    await second.text();
  });

  test('an upstream 4xx without a body and an unknown thrown error: no secrets, no stack', async (t) => {
    let call = 0;
    const backend = createScriptedBackend(() => [
      {
        error:
          call++ === 0
            ? new BadRequestError('bad', { status: 400 })
            : new TypeError('Cannot read properties of undefined (key sk-123)'),
      },
    ]);
    const { url } = await start(t, { backend });
    const first = await post(azureUrl(url, 'd', 'chat'), chatBody);
    assert.equal(first.status, 400);
    assert.deepEqual(await first.json(), { error: { code: '400', message: 'bad' } });
    const second = await post(azureUrl(url, 'd', 'chat'), chatBody);
    assert.equal(second.status, 500);
    const text = await second.text();
    assert.doesNotMatch(text, /sk-123|TypeError|at /);
    assert.equal(JSON.parse(text).error.code, 'InternalServerError');
  });
});

/** POST with a chunked body (no content-length), written piece by piece. */
function rawChunkedPost(url: string, pieces: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // The server may close the socket once it has answered; that is the point.
    req.on('error', (error) => (req.writableEnded ? undefined : reject(error)));
    let i = 0;
    const writeNext = () => {
      if (i < pieces.length) {
        req.write(pieces[i++]);
        setTimeout(writeNext, 10);
      } else req.end();
    };
    writeNext();
  });
}
