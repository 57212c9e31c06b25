// Every fault the test server can inject ends in the documented end state, with the partial
// result kept, and cancellation reaches the server.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import {
  AbortError,
  AuthenticationError,
  ConnectionError,
  ContentFilterError,
  ErrorCodes,
  ProtocolError,
  RateLimitError,
  ServerError,
  StreamErrorFrame,
  StreamTruncatedError,
  TimeoutError,
} from '../../src/errors.js';
import { createClient } from '../../src/index.js';
import { azureError, chatChunks, redirect, reply, stream } from '../../src/testing/azure-server.js';
import { chatBody, clientFor, drain, KEY, rejection, serve, textOf } from '../support/client.js';

const rateLimited = azureError(
  '429',
  'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second.',
);

/** Two content chunks, then `tail` instead of the rest. */
function partialThen(...tail: Parameters<typeof stream>[0]) {
  return stream([...chatChunks(['Hello', ' wor'], { finishReason: null, done: false }), ...tail]);
}

describe('retries before the first byte', () => {
  test('429 with retry-after-ms, then success: waits as asked and succeeds', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: [reply(429, rateLimited, { 'retry-after-ms': '60', 'retry-after': '1' }), stream(chatChunks(['ok']))],
      },
    });
    const started = performance.now();
    const s = clientFor(server).chat.stream(chatBody);
    assert.equal(await s.text(), 'ok');
    assert.ok(performance.now() - started >= 55, 'honoured retry-after-ms (60 ms), not the back-off (1 ms)');
    assert.equal((await s.meta).attempts, 2);
    assert.equal(server.requests.length, 2);
  });

  test('500, then success', async (t) => {
    const server = await serve(t, {
      scenarios: { d: [reply(500, azureError('InternalServerError', 'oops')), stream(chatChunks(['fine']))] },
    });
    const s = clientFor(server).chat.stream(chatBody);
    assert.equal(await s.text(), 'fine');
    assert.equal(server.requests.length, 2);
  });

  test('408 and 409 are retried; after maxRetries the last error is thrown with its details', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: [
          reply(408, azureError('408', 'timeout')),
          reply(409, azureError('409', 'conflict')),
          stream(chatChunks(['y'])),
        ],
        busy: reply(429, rateLimited, { 'retry-after-ms': '5' }),
      },
    });
    const client = clientFor(server);
    assert.equal(await client.chat.stream(chatBody).text(), 'y');

    const s = client.chat.stream(chatBody, { deployment: 'busy', maxRetries: 1 });
    const { error } = await drain(s);
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.code, ErrorCodes.RATE_LIMIT);
    assert.equal(error.status, 429);
    assert.equal(error.rateLimit?.retryAfterMs, 5);
    assert.equal(error.requestId, 'apim-4');
    assert.equal(server.requests.filter((r) => r.deployment === 'busy').length, 2, '1 + 1 retry');
    assert.equal((await s.final()).end.state, 'failed');
    await assert.rejects(s.meta, RateLimitError);
  });

  test('400 content_filter is not retried: ContentFilterError, end state filtered (prompt)', async (t) => {
    const body = azureError(
      'content_filter',
      "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
      {
        param: 'prompt',
        status: 400,
        innererror: {
          code: 'ResponsibleAIPolicyViolation',
          content_filter_result: {
            jailbreak: { filtered: true, detected: true },
            hate: { filtered: false, severity: 'safe' },
          },
        },
      },
    );
    const server = await serve(t, { scenarios: { d: reply(400, body) } });
    const s = clientFor(server).chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof ContentFilterError);
    assert.equal(error.where, 'prompt');
    assert.deepEqual(error.categories, ['jailbreak']);
    assert.deepEqual((await s.final()).end, {
      state: 'filtered',
      where: 'prompt',
      categories: ['jailbreak'],
      choices: [],
    });
    assert.equal(server.requests.length, 1);
  });

  test('401 is not retried', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(chatChunks(['never'])) } });
    const s = clientFor(server, { apiKey: 'wrong-key-000000000' }).chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.status, 401);
    assert.equal(server.requests.length, 1);
  });

  test('a refused connection is retried, then a ConnectionError naming the origin', async () => {
    const port = await closedPort();
    const client = createClient({
      endpoint: `http://127.0.0.1:${port}`,
      apiKey: KEY,
      deployment: 'd',
      retry: { baseDelayMs: 1 },
    });
    const s = client.chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /127\.0\.0\.1/);
    assert.match(error.message, /ECONNREFUSED/);
  });

  test('an abort cancels a pending back-off at once', async (t) => {
    const server = await serve(t, { scenarios: { d: reply(429, rateLimited, { 'retry-after-ms': '30000' }) } });
    const ac = new AbortController();
    const s = clientFor(server).chat.stream(chatBody, { signal: ac.signal });
    await server.waitForRequests(1);
    const started = performance.now();
    setTimeout(() => ac.abort('user pressed Ctrl-C'), 20);
    const { error } = await drain(s);
    assert.ok(error instanceof AbortError);
    assert.equal(error.cause, 'user pressed Ctrl-C');
    assert.ok(performance.now() - started < 10_000, 'did not wait out the 30 s retry-after');
    assert.deepEqual((await s.final()).end, { state: 'aborted', reason: 'user pressed Ctrl-C' });
    assert.equal(server.requests.length, 1);
  });

  test('a server delay is capped by maxRetryDelayMs', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: [reply(503, azureError('503', 'later'), { 'retry-after': '3600' }), stream(chatChunks(['capped']))],
      },
    });
    const s = clientFor(server, { maxRetryDelayMs: 30 }).chat.stream(chatBody);
    assert.equal(await s.text(), 'capped');
  });
});

describe('time-outs keep the partial result', () => {
  test('slow headers: TimeoutError(headers), retried like a network error', async (t) => {
    const server = await serve(t, {
      scenarios: { d: reply(200, {}, undefined, { headersDelayMs: Number.POSITIVE_INFINITY }) },
    });
    const s = clientFor(server, { maxRetries: 1, timeouts: { headersMs: 50 } }).chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.phase, 'headers');
    assert.equal(error.timeoutMs, 50);
    assert.equal(server.requests.length, 2);
    await server.requests[0]!.disconnected; // the abandoned attempt was closed, not left hanging
  });

  test('a stall mid-stream: TimeoutError(idle) with the text so far; the server sees the close', async (t) => {
    const server = await serve(t, { scenarios: { d: partialThen({ stall: true }) } });
    const s = clientFor(server, { timeouts: { idleMs: 80 } }).chat.stream(chatBody);
    const { items, error } = await drain(s);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.phase, 'idle');
    assert.equal(textOf(error.partial), 'Hello wor');
    assert.equal(items.length, 4);
    const { end, response } = await s.final();
    assert.equal(end.state, 'failed');
    assert.equal(textOf(response), 'Hello wor');
    await server.requests[0]!.disconnected;
  });

  test('heartbeats keep an idle stream alive, but not past the first-token limit', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: stream([
          ...chatChunks([], { finishReason: null, done: false }),
          ...Array.from({ length: 60 }, () => [{ delay: 15 }, { comment: 'thinking' }]).flat(),
          { stall: true },
        ]),
      },
    });
    const s = clientFor(server, { timeouts: { idleMs: 300, firstTokenMs: 500 } }).chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.phase, 'first-token', 'heartbeats every 15 ms held off idle (300 ms)');
  });

  test('total deadline, retries included', async (t) => {
    const server = await serve(t, { scenarios: { d: partialThen({ delay: 10_000 }) } });
    const s = clientFor(server, { timeouts: { totalMs: 120 } }).chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.phase, 'total');
    assert.equal(textOf(error.partial), 'Hello wor');
  });
});

describe('broken streams', () => {
  test('a cut connection: StreamTruncatedError(no-done) with the partial, cause kept', async (t) => {
    // The pause lets the chunks reach the client first: fetch discards body bytes still queued
    // when the socket dies, so a cut right after a write could take them with it.
    const server = await serve(t, { scenarios: { d: partialThen({ delay: 50 }, { cut: true }) } });
    const s = clientFor(server).chat.stream(chatBody);
    const { items, error } = await drain(s);
    assert.equal(items.length, 4);
    assert.ok(error instanceof StreamTruncatedError, String(error));
    assert.equal(error.reason, 'no-done');
    assert.equal(error.code, ErrorCodes.STREAM_TRUNCATED);
    assert.equal(textOf(error.partial), 'Hello wor');
    assert.ok(error.cause, 'the network error is the cause');
    const { end } = await s.final();
    assert.deepEqual(end, { state: 'truncated', reason: 'no-done', unfinished: [0] });
  });

  test('a stream that simply ends without [DONE] is truncated, not a success', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(chatChunks(['all', ' there'], { done: false })) } });
    const s = clientFor(server).chat.stream(chatBody);
    const err = await rejection(s.text());
    assert.ok(err instanceof StreamTruncatedError);
    assert.equal(textOf(err.partial), 'all there');
    assert.deepEqual((await s.final()).end, { state: 'truncated', reason: 'no-done', unfinished: [] });
  });

  test('a mid-stream error frame: StreamErrorFrame with the body and the partial', async (t) => {
    const server = await serve(t, {
      scenarios: { d: partialThen({ error: { error: { code: 'server_error', message: 'The server had an error' } } }) },
    });
    const s = clientFor(server).chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof StreamErrorFrame);
    assert.equal(error.body?.error.code, 'server_error');
    assert.match(error.message, /The server had an error/);
    assert.equal(textOf(error.partial), 'Hello wor');
    assert.equal((await s.final()).end.state, 'failed');
  });

  test('a JSON 200 to a stream request: ProtocolError(not-event-stream), the completion kept as partial', async (t) => {
    const completion = {
      id: 'chatcmpl-json',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o',
      choices: [{ index: 0, message: { role: 'assistant', content: 'whole' }, finish_reason: 'stop', logprobs: null }],
    };
    const server = await serve(t, {
      scenarios: {
        d: reply(200, completion),
        e: reply(200, azureError('429', 'Too many requests')),
        h: stream([{ raw: '<html>hi</html>' }], { contentType: 'text/html' }),
      },
    });
    const client = clientFor(server);
    const s = client.chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.type, 'not-event-stream');
    assert.match(error.message, /application\/json/);
    assert.deepEqual(error.partial, completion);
    assert.equal(server.requests.length, 1, 'not retried');

    const e = await drain(client.chat.stream(chatBody, { deployment: 'e' }));
    assert.ok(e.error instanceof ProtocolError);
    assert.match(e.error.message, /Too many requests/);
    assert.ok(e.error.cause instanceof RateLimitError || (e.error.cause as Error).name === 'ApiError');

    const h = await drain(client.chat.stream(chatBody, { deployment: 'h' }));
    assert.ok(h.error instanceof ProtocolError);
    assert.match(h.error.message, /text\/html.*<html>hi<\/html>/);
  });
});

describe('redirects', () => {
  test('same origin: followed with the key', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: redirect('/openai/deployments/moved/chat/completions?api-version=2024-10-21'),
        moved: stream(chatChunks(['here'])),
      },
    });
    const s = clientFor(server).chat.stream(chatBody);
    assert.equal(await s.text(), 'here');
    assert.equal(server.requests[1]?.headers['api-key'], KEY);
    assert.equal(server.requests[1]?.method, 'POST');
    assert.deepEqual(server.requests[1]?.body, server.requests[0]?.body);
    assert.match((await s.meta).url ?? '', /\/moved\//);
  });

  test('cross origin: followed without any credential', async (t) => {
    const other = await serve(t, { apiKey: undefined, scenarios: { d: stream(chatChunks(['elsewhere'])) } });
    const server = await serve(t, {
      scenarios: { d: redirect(`${other.url}/openai/deployments/d/chat/completions?api-version=2024-10-21`, 308) },
    });
    const client = clientFor(server, {
      headers: { 'x-custom': 'kept', 'ocp-apim-subscription-key': 'sub-secret-1234' },
    });
    assert.equal(await client.chat.stream(chatBody).text(), 'elsewhere');
    const leaked = other.requests[0]!.headers;
    assert.equal(leaked['api-key'], undefined);
    assert.equal(leaked.authorization, undefined);
    assert.equal(leaked['ocp-apim-subscription-key'], undefined);
    assert.equal(leaked['x-custom'], 'kept');
    assert.ok(!JSON.stringify(other.requests[0]).includes(KEY), 'the key is nowhere in what the target saw');
  });

  test('cross origin with a bearer token: dropped too, so the target answers 401', async (t) => {
    const other = await serve(t, { scenarios: { d: stream(chatChunks(['nope'])) } });
    const server = await serve(t, {
      apiKey: undefined,
      scenarios: { d: redirect(`${other.url}/openai/deployments/d/chat/completions`) },
    });
    const s = clientFor(server, { apiKey: undefined, token: KEY }).chat.stream(chatBody);
    const { error } = await drain(s);
    assert.ok(error instanceof AuthenticationError);
    assert.equal(other.requests[0]?.headers.authorization, undefined);
  });

  test('a redirect loop ends in a ConnectionError, not retried', async (t) => {
    const server = await serve(t, { scenarios: { d: redirect('/openai/deployments/d/chat/completions') } });
    const { error } = await drain(clientFor(server).chat.stream(chatBody));
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, /Too many redirects/);
    assert.equal(server.requests.length, 6);
  });
});

describe('abort reaches the server', () => {
  test('an AbortSignal mid-stream: AbortError with the partial; the socket closes', async (t) => {
    const server = await serve(t, { scenarios: { d: partialThen({ stall: true }) } });
    const ac = new AbortController();
    const s = clientFor(server).chat.stream(chatBody, { signal: ac.signal });
    const seen: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const chunk of s) {
          const text = chunk.choices[0]?.delta?.content;
          if (text) seen.push(text);
          if (text === ' wor') ac.abort();
        }
      })(),
    );
    assert.ok(err instanceof AbortError);
    assert.equal(textOf(err.partial), 'Hello wor');
    await server.requests[0]!.disconnected;
    assert.equal((await s.final()).end.state, 'aborted');
  });

  test('stream.abort() while nobody reads: the request is cancelled at once', async (t) => {
    const server = await serve(t, { scenarios: { d: partialThen({ stall: true }) } });
    const s = clientFor(server).chat.stream(chatBody);
    await s.meta;
    s.abort('enough');
    await server.requests[0]!.disconnected;
    const { end, error } = await s.final();
    assert.deepEqual(end, { state: 'aborted', reason: 'enough' });
    assert.ok(error instanceof AbortError);
  });

  test('leaving a for-await loop early closes the connection', async (t) => {
    const server = await serve(t, { scenarios: { d: partialThen({ stall: true }) } });
    const s = clientFor(server).chat.stream(chatBody);
    for await (const chunk of s) {
      if (chunk.choices[0]?.delta?.content === 'Hello') break;
    }
    await server.requests[0]!.disconnected;
    const { end, response } = await s.final();
    assert.equal(end.state, 'aborted');
    assert.equal(textOf(response), 'Hello');
  });

  test('an already-aborted signal sends nothing', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(chatChunks(['x'])) } });
    const s = clientFor(server).chat.stream(chatBody, { signal: AbortSignal.abort('early') });
    const { error } = await drain(s);
    assert.ok(error instanceof AbortError);
    assert.equal(server.requests.length, 0);
  });
});

describe('secrets never leak into errors', () => {
  test('no failure mentions the key, in message, stack, cause chain or JSON', async (t) => {
    const other = await serve(t, { scenarios: { d: stream(chatChunks(['x'])) } });
    const server = await serve(t, {
      scenarios: {
        d: reply(400, azureError('invalid_request', 'bad'), {}),
        rl: reply(429, rateLimited, { 'retry-after-ms': '1' }),
        stall: partialThen({ stall: true }),
        cut: partialThen({ cut: true }),
        frame: partialThen({ error: { error: { message: 'boom' } } }),
        json: reply(200, { nope: true }),
        away: redirect(`${other.url}/openai/deployments/d/chat/completions`),
      },
    });
    const port = await closedPort();
    const errors: unknown[] = [];
    for (const deployment of ['d', 'rl', 'stall', 'cut', 'frame', 'json', 'away', 'unknown']) {
      const client = clientFor(server, { maxRetries: 1, timeouts: { idleMs: 50 } });
      errors.push((await drain(client.chat.stream(chatBody, { deployment }))).error);
    }
    const wrongKey = clientFor(server, { apiKey: `${KEY}-wrong` });
    errors.push((await drain(wrongKey.chat.stream(chatBody))).error);
    const refused = createClient({ endpoint: `http://127.0.0.1:${port}`, apiKey: KEY, deployment: 'd', maxRetries: 0 });
    errors.push((await drain(refused.chat.stream(chatBody))).error);
    const bearer = createClient({ baseURL: `http://127.0.0.1:${port}/v1`, token: KEY, maxRetries: 0 });
    errors.push((await drain(bearer.completions.stream({ prompt: 'x' }))).error);

    assert.equal(errors.length, 11);
    for (const err of errors) {
      assert.ok(err instanceof Error, `a failure was reported: ${String(err)}`);
      for (const text of describeDeep(err))
        assert.ok(!text.includes(KEY.slice(8)), `key leaked: ${text.slice(0, 200)}`);
    }
  });
});

/** Every string a logger might print for an error: messages, stacks, causes, JSON. */
function describeDeep(err: unknown, depth = 0): string[] {
  if (depth > 5 || err === null || err === undefined) return [];
  const out: string[] = [String(err)];
  if (err instanceof Error) {
    out.push(err.message, err.stack ?? '');
    try {
      out.push(JSON.stringify(err, Object.getOwnPropertyNames(err)));
    } catch {
      // circular: the parts are covered separately
    }
    out.push(...describeDeep(err.cause, depth + 1));
  }
  return out;
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const address = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

// Silences "unused" for classes imported for instanceof narrowing in some branches.
void ServerError;
