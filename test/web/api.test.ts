/**
 * The page's stream reader (src/web/app/api.ts) under Node's fetch, against the real Sluice
 * server (scripted backends) and, for wire faults the server never produces (no [DONE], a
 * [DONE] without its blank line, a cut connection, a non-SSE 200), a raw node:http server.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { createClient } from '../../src/client/client.js';
import { isRetryableStatus } from '../../src/client/retry.js';
import { ApiError, ContentFilterError, OverloadedError, RateLimitError, ServerError } from '../../src/errors.js';
import { chunkBuilder } from '../../src/protocol/chunks.js';
import { type StreamAnswerOptions, streamAnswer } from '../../src/web/app/api.js';
import {
  chatChunk,
  gatedBackend,
  HOSTILE_STREAM,
  startWebServer,
  switchBackend,
  toolCallScript,
  until,
  type WebServer,
} from '../support/web.js';

const backend = switchBackend(createScriptedBackend(textScript('chat', 'Hello.')));
let web: WebServer;
let keyed: WebServer;

before(async () => {
  web = await startWebServer({ backend });
  keyed = await startWebServer({ backend, apiKey: 'sluice-test-key' });
});
after(async () => {
  await web?.close();
  await keyed?.close();
});

const chat = { messages: [{ role: 'user', content: 'hi' }] };

function run(base: string, extra: Partial<StreamAnswerOptions> = {}) {
  const texts: string[] = [];
  const kind = extra.kind ?? 'chat';
  const promise = streamAnswer({
    kind,
    body: kind === 'chat' ? chat : { prompt: 'Once' },
    signal: new AbortController().signal,
    url: `${base}${kind === 'chat' ? '/v1/chat/completions' : '/v1/completions'}`,
    onText: (t) => texts.push(t),
    ...extra,
  });
  return { texts, promise };
}

/** A raw server that answers every request with `handler`. */
async function rawServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const sse = (chunks: object[]) => chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('');
const sseHeaders = { 'content-type': 'text/event-stream' };

describe('streamAnswer against the Sluice server', () => {
  test('a complete answer: text in order, [DONE] seen, exact tokens from usage, finish reason', async () => {
    const scripted = createScriptedBackend(textScript('chat', 'One two three four', { delayMs: 20 }));
    backend.use(scripted);
    const { texts, promise } = run(web.url, { body: { ...chat, stream_options: { include_usage: true } } });
    const { end, stats } = await promise;
    assert.deepEqual(end, { kind: 'done', finishReason: 'stop' });
    assert.deepEqual(texts, ['One', ' two', ' three', ' four']);
    assert.equal(stats.tokens, 4);
    assert.equal(stats.tokensExact, true);
    assert.equal(stats.model, 'scripted-model');
    assert.ok(stats.ttftMs !== undefined && stats.durationMs !== undefined && stats.ttftMs <= stats.durationMs);
    assert.ok(stats.tokensPerSecond !== undefined && stats.tokensPerSecond > 0, 'over 60 ms of generation');
    assert.equal((scripted.requests[0]!.body as { stream?: boolean }).stream, true);
  });

  test('without usage, tokens are counted from chunks and marked approximate', async () => {
    backend.use(createScriptedBackend(textScript('chat', 'a b c')));
    const { end, stats } = await run(web.url).promise;
    assert.equal(end.kind, 'done');
    assert.equal(stats.tokens, 3);
    assert.equal(stats.tokensExact, false);
  });

  test('text is delivered while the stream is still open', async () => {
    const gated = gatedBackend(['first', ' second']);
    backend.use(gated);
    const { texts, promise } = run(web.url);
    await until(() => texts.length === 1, 'the first piece');
    assert.equal(gated.sent, 1);
    assert.equal(gated.finished, false, 'delivered before the server sent the rest');
    gated.release();
    await until(() => texts.length === 2, 'the second piece');
    assert.equal(gated.finished, false);
    gated.release();
    assert.equal((await promise).end.kind, 'done');
    assert.equal(texts.join(''), 'first second');
  });

  test('tool calls: each delta reports the calls so far (accumulated), finish tool_calls, no text', async () => {
    const pieces = ['{"city"', ': "Par', 'is"}'];
    backend.use(createScriptedBackend(toolCallScript('get_weather', pieces)));
    const seen: string[] = [];
    const { texts, promise } = run(web.url, {
      onToolCalls: (calls) => seen.push(calls.map((c) => `${c.name}(${c.arguments})`).join(';')),
    });
    assert.deepEqual((await promise).end, { kind: 'done', finishReason: 'tool_calls' });
    assert.deepEqual(texts, []);
    assert.deepEqual(seen, [
      'get_weather()',
      'get_weather({"city")',
      'get_weather({"city": "Par)',
      'get_weather({"city": "Paris"})',
    ]);
  });

  test('the completions kind reads choices[].text from /v1/completions', async () => {
    const scripted = createScriptedBackend(textScript('completions', ' upon a time'));
    backend.use(scripted);
    const { texts, promise } = run(web.url, { kind: 'completions' });
    assert.deepEqual((await promise).end, { kind: 'done', finishReason: 'stop' });
    assert.equal(texts.join(''), ' upon a time');
    assert.equal(scripted.requests[0]?.kind, 'completions');
  });

  test('finish_reason length is reported as such', async () => {
    backend.use(createScriptedBackend(textScript('chat', 'cut here', { finishReason: 'length' })));
    assert.deepEqual((await run(web.url).promise).end, { kind: 'done', finishReason: 'length' });
  });

  test('aborting stops the generation on the server and ends as stopped, text kept', async () => {
    const scripted = createScriptedBackend([...textScript('chat', 'partial words').slice(0, -2), { hang: true }]);
    backend.use(scripted);
    const controller = new AbortController();
    const { texts, promise } = run(web.url, { signal: controller.signal });
    await until(() => texts.join('') === 'partial words', 'the partial text');
    controller.abort();
    assert.deepEqual((await promise).end, { kind: 'stopped' });
    await until(() => scripted.calls[0]?.outcome === 'aborted', 'the backend abort');
    assert.equal(texts.join(''), 'partial words');
  });

  test('an error frame mid-stream ends as failed (retryable) with the upstream message', async () => {
    backend.use(
      createScriptedBackend([
        ...textScript('chat', 'some text').slice(0, -2),
        { error: new ServerError('boom', { status: 500, body: { error: { code: 'Boom', message: 'It broke.' } } }) },
      ]),
    );
    const { texts, promise } = run(web.url);
    const { end } = await promise;
    assert.equal(end.kind, 'failed');
    assert.ok(end.kind === 'failed');
    assert.equal(end.message, 'It broke.');
    assert.equal(end.code, 'Boom');
    assert.equal(end.retryable, true);
    assert.match(end.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(texts.join(''), 'some text', 'the partial text is kept');
  });

  test('429 ends as rate-limited with the delay from retry-after-ms', async () => {
    backend.use(createScriptedBackend([{ error: new OverloadedError(1500) }]));
    const before = Date.now();
    const { end } = await run(web.url).promise;
    assert.equal(end.kind, 'rate-limited');
    assert.ok(end.kind === 'rate-limited');
    assert.equal(end.retryAfterMs, 1500);
    assert.match(end.message, /retry after 2 seconds/);
    assert.ok(end.at >= before && end.at <= Date.now(), 'stamped with the wall clock');
  });

  test('a prompt blocked by the content filter (400 content_filter) ends as filtered, with categories', async () => {
    backend.use(
      createScriptedBackend([
        {
          error: new ContentFilterError('filtered', {
            status: 400,
            where: 'prompt',
            categories: ['hate', 'jailbreak'],
            body: {
              error: {
                code: 'content_filter',
                message: 'The response was filtered.',
                // The schema's spelling; Azure also sends `innererror` / `content_filter_result`.
                inner_error: {
                  code: 'ResponsibleAIPolicyViolation',
                  content_filter_results: {
                    hate: { filtered: true, severity: 'high' },
                    sexual: { filtered: false, severity: 'safe' },
                    jailbreak: { filtered: true, detected: true },
                  },
                },
              },
            },
          }),
        },
      ]),
    );
    const { end } = await run(web.url).promise;
    assert.equal(end.kind, 'filtered');
    assert.ok(end.kind === 'filtered');
    assert.equal(end.where, 'prompt');
    assert.deepEqual(end.categories, ['hate', 'jailbreak']);
  });

  test('HTTP 502 before the first token is a retryable failure with its status', async () => {
    backend.use(createScriptedBackend([{ error: new ServerError('x', { status: 502 }) }]));
    const { end } = await run(web.url).promise;
    assert.ok(end.kind === 'failed');
    assert.equal(end.status, 502);
    assert.equal(end.retryable, true);
  });

  test('a server with an API key: 401 without it (not retryable, points to Settings), works with it', async () => {
    backend.use(createScriptedBackend(textScript('chat', 'ok')));
    const { end } = await run(keyed.url).promise;
    assert.ok(end.kind === 'failed');
    assert.equal(end.status, 401);
    assert.equal(end.retryable, false);
    assert.match(end.message, /Settings/);
    assert.doesNotMatch(end.message, /sluice-test-key/);
    const ok = await run(keyed.url, { apiKey: 'sluice-test-key' }).promise;
    assert.equal(ok.end.kind, 'done');
  });

  test('nothing listening: a retryable failure, not an exception', async () => {
    const { url, server } = await rawServer(() => {});
    await new Promise((r) => server.close(r));
    const { end } = await run(url).promise;
    assert.ok(end.kind === 'failed');
    assert.equal(end.retryable, true);
    assert.match(end.message, /Could not reach/);
  });
});

describe('streamAnswer on wire faults', () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });
  async function raw(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    const { url, server } = await rawServer(handler);
    servers.push(server);
    return url;
  }

  test('a final `data: [DONE]` without its blank line still completes (Azure)', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      res.end(`${sse([chatChunk('Hi'), chatChunk(null, 'stop')])}data: [DONE]`);
    });
    const { texts, promise } = run(url);
    assert.deepEqual((await promise).end, { kind: 'done', finishReason: 'stop' });
    assert.equal(texts.join(''), 'Hi');
  });

  test('a usage chunk without `choices` (as OpenAI-compatible servers send it) completes, tokens exact', async () => {
    const usage = { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 };
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      const usageChunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', usage };
      res.end(`${sse([chatChunk('Hi'), chatChunk(null, 'stop'), usageChunk])}data: [DONE]\n\n`);
    });
    const { texts, promise } = run(url);
    const { end, stats } = await promise;
    assert.deepEqual(end, { kind: 'done', finishReason: 'stop' });
    assert.equal(texts.join(''), 'Hi');
    assert.equal(stats.tokens, 1);
    assert.equal(stats.tokensExact, true);
    assert.equal(stats.promptTokens, 3);
  });

  test('a stream that ends without [DONE] is truncated, text kept', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      res.end(sse([chatChunk('Half an'), chatChunk(' answer')]));
    });
    const { texts, promise } = run(url);
    const { end } = await promise;
    assert.equal(end.kind, 'truncated');
    assert.equal(texts.join(''), 'Half an answer');
  });

  test('an unterminated chunk at the end is discarded, not shown', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      res.end(`${sse([chatChunk('Shown')])}data: ${JSON.stringify(chatChunk(' not shown'))}`);
    });
    const { texts, promise } = run(url);
    assert.equal((await promise).end.kind, 'truncated');
    assert.equal(texts.join(''), 'Shown');
  });

  test('a connection cut mid-stream is truncated, text kept', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      res.write(sse([chatChunk('Before the cut')]));
      setTimeout(() => res.socket?.destroy(), 30);
    });
    const { texts, promise } = run(url);
    const { end } = await promise;
    assert.equal(end.kind, 'truncated');
    assert.equal(texts.join(''), 'Before the cut');
  });

  test('events split across network writes at odd places still decode (multi-byte text too)', async () => {
    const url = await raw(async (_req, res) => {
      res.writeHead(200, sseHeaders);
      const bytes = Buffer.from(
        `${sse([chatChunk('Grüße, '), chatChunk('世界 🌊'), chatChunk(null, 'stop')])}data: [DONE]\n\n`,
      );
      for (let i = 0; i < bytes.length; i += 7) {
        res.write(bytes.subarray(i, i + 7));
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
    const { texts, promise } = run(url);
    assert.equal((await promise).end.kind, 'done');
    assert.equal(texts.join(''), 'Grüße, 世界 🌊');
  });

  test('finish_reason content_filter ends as filtered (completion), text kept', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      const finish = chatChunk(null, 'content_filter');
      (finish.choices[0] as Record<string, unknown>).content_filter_results = {
        violence: { filtered: true, severity: 'high' },
      };
      res.end(`${sse([chatChunk('Some'), finish])}data: [DONE]\n\n`);
    });
    const { texts, promise } = run(url);
    const { end } = await promise;
    assert.ok(end.kind === 'filtered');
    assert.equal(end.where, 'completion');
    assert.deepEqual(end.categories, ['violence']);
    assert.equal(texts.join(''), 'Some');
  });

  test('an asynchronous-filter annotation blocking shown text asks to retract it', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      const annotation = chunkBuilder('chat', { model: '' }).annotation(
        0,
        { hate: { filtered: true, severity: 'high' } },
        { check_offset: 0, start_offset: 0, end_offset: 9 },
        'content_filter',
      );
      res.end(`${sse([chatChunk('Bad words'), chatChunk(null, 'stop'), annotation])}data: [DONE]\n\n`);
    });
    let retracted = 0;
    const { promise } = run(url, { onRetract: () => retracted++ });
    const { end } = await promise;
    assert.equal(end.kind, 'filtered');
    assert.equal(retracted, 1);
  });

  test('keys named __proto__, constructor or prototype in chunks never reach a prototype', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      res.end(`${HOSTILE_STREAM}data: [DONE]\n\n`);
    });
    const { texts, promise } = run(url);
    const { end } = await promise;
    const probe = {} as Record<string, unknown>;
    assert.deepEqual(
      [probe.polluted, probe.filtered, probe.severity, probe.content],
      [undefined, undefined, undefined, undefined],
    );
    assert.equal(Object.getPrototypeOf(probe), Object.prototype);
    assert.equal(texts.join(''), 'Hi there');
    assert.ok(end.kind === 'filtered', JSON.stringify(end));
    assert.deepEqual(end.categories, ['violence']);
  });

  test('a 200 that is not an event stream is a failure, not an empty answer', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>proxy login</html>');
    });
    const { end } = await run(url).promise;
    assert.ok(end.kind === 'failed');
    assert.match(end.message, /without an event stream \(text\/html\)/);
  });

  test('data that is not JSON is a failure, text so far kept', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      res.end(`${sse([chatChunk('ok so far')])}data: {not json\n\n`);
    });
    const { texts, promise } = run(url);
    const { end } = await promise;
    assert.ok(end.kind === 'failed');
    assert.match(end.message, /not JSON/);
    assert.equal(texts.join(''), 'ok so far');
  });

  test('an `event: error` frame is a failure', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      res.end(`${sse([chatChunk('x')])}event: error\ndata: {"message":"overloaded upstream"}\n\n`);
    });
    const { end } = await run(url).promise;
    assert.ok(end.kind === 'failed');
    assert.equal(end.message, 'overloaded upstream');
  });

  test('after [DONE] the reader stops, even if the server keeps the connection open', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, sseHeaders);
      res.write(`${sse([chatChunk('done'), chatChunk(null, 'stop')])}data: [DONE]\n\n`);
      // Never ends: a proxy holding the socket.
    });
    const { end } = await run(url).promise;
    assert.equal(end.kind, 'done');
  });

  test('an upstream refusing stream_options (old Azure API version) points to the setting', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            type: 'invalid_request_error',
            param: 'stream_options',
            code: 'unknown_parameter',
            message: 'Unrecognized request argument supplied: stream_options',
          },
        }),
      );
    });
    const { end } = await run(url).promise;
    assert.ok(end.kind === 'failed');
    assert.equal(end.code, 'unknown_parameter');
    assert.equal(end.retryable, false);
    assert.match(end.message, /Turn off "exact token counts" in Settings/);
  });

  test('a 429 without retry headers takes the delay from Azure\'s "retry after N seconds"', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: '429', message: 'Please retry after 12 seconds.' } }));
    });
    const { end } = await run(url).promise;
    assert.ok(end.kind === 'rate-limited');
    assert.equal(end.retryAfterMs, 12_000);
  });

  test('a 429 body in plain text still yields the delay from retry-after', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(429, { 'retry-after': '7', 'content-type': 'text/plain' });
      res.end('slow down');
    });
    const { end } = await run(url).promise;
    assert.ok(end.kind === 'rate-limited');
    assert.equal(end.retryAfterMs, 7000);
    assert.equal(end.message, 'slow down');
  });
});

describe('the page reads a response as the library does (one rule, src/protocol)', () => {
  // Each case is served to the page's reader and to the library's client; both must agree on
  // the text, the end state and, for HTTP errors, what the error means.
  const finished = [chatChunk('Hi'), chatChunk(null, 'stop')];
  const filteredBy = (results: object) => {
    const finish = chatChunk(null, 'content_filter');
    (finish.choices[0] as Record<string, unknown>).content_filter_results = results;
    return finish;
  };
  const cases: Array<{ name: string; status?: number; headers?: Record<string, string>; body: string }> = [
    { name: '[DONE] with stray spaces', body: `${sse(finished)}data:  [DONE] \n\n` },
    { name: '[DONE] with stray spaces and no blank line', body: `${sse(finished)}data:  [DONE] ` },
    {
      name: 'a completion stopped by a custom blocklist (array form)',
      body: `${sse([chatChunk('Hi'), filteredBy({ custom_blocklists: [{ filtered: true, id: 'house-list' }] })])}data: [DONE]\n\n`,
    },
    {
      name: 'a blocklist match reported in details only',
      body: `${sse([chatChunk('Hi'), filteredBy({ custom_blocklists: { filtered: false, details: [{ filtered: true, id: 'x' }] } })])}data: [DONE]\n\n`,
    },
    { name: '[DONE] while the choice never finished', body: `${sse([chatChunk('Half')])}data: [DONE]\n\n` },
    { name: '[DONE] and nothing else', body: 'data: [DONE]\n\n' },
    {
      name: 'filtered, then the connection ends without [DONE]',
      body: sse([chatChunk('Hi'), filteredBy({ hate: { filtered: true, severity: 'high' } })]),
    },
    {
      name: 'a usage chunk without choices',
      body: `${sse([...finished, { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }])}data: [DONE]\n\n`,
    },
    {
      name: 'a chunk whose choice is null',
      body: `${sse([chatChunk('Hi'), { id: 'c', choices: [null] }])}data: [DONE]\n\n`,
    },
    { name: 'an empty object as a chunk', body: `${sse([chatChunk('Hi'), {}])}data: [DONE]\n\n` },
    {
      name: 'a choice index of a billion',
      body: `${sse([chatChunk('Hi'), { id: 'c', choices: [{ index: 1e9, delta: { content: 'x' }, finish_reason: null }] }])}data: [DONE]\n\n`,
    },
    {
      name: '429 with an empty retry-after-ms and retry-after in seconds',
      status: 429,
      headers: { 'retry-after-ms': ' ', 'retry-after': '5' },
      body: JSON.stringify({ error: { code: '429', message: 'Slow down.' } }),
    },
    {
      name: '400 refused by the prompt filter, told by innererror only',
      status: 400,
      body: JSON.stringify({
        error: {
          code: 'BadRequest',
          message: 'The prompt was filtered.',
          innererror: {
            code: 'ResponsibleAIPolicyViolation',
            content_filter_result: { violence: { filtered: true, severity: 'high' } },
          },
        },
      }),
    },
    { name: '409 conflict', status: 409, body: JSON.stringify({ error: { code: 'Conflict', message: 'Busy.' } }) },
  ];

  const servers: Server[] = [];
  after(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  for (const c of cases) {
    test(c.name, async () => {
      const { url, server } = await rawServer((_req, res) => {
        const status = c.status ?? 200;
        res.writeHead(status, {
          'content-type': status === 200 ? 'text/event-stream' : 'application/json',
          ...c.headers,
        });
        res.end(c.body);
      });
      servers.push(server);
      const client = createClient({ baseURL: `${url}/v1`, apiKey: 'test-key', maxRetries: 0 });
      const library = await client.chat.stream({ messages: [{ role: 'user', content: 'hi' }] }).final();
      const { texts, promise } = run(url);
      const { end } = await promise;

      const libraryText = library.response.choices[0]?.message.content ?? '';
      assert.equal(texts.join(''), libraryText, 'the same text');
      const error = library.end.state === 'failed' ? library.end.error : undefined;
      const expected =
        library.end.state === 'completed'
          ? 'done'
          : library.end.state === 'failed'
            ? error instanceof RateLimitError
              ? 'rate-limited'
              : 'failed'
            : library.end.state;
      assert.equal(end.kind, expected, `the library says ${JSON.stringify(library.end)}`);
      if (library.end.state === 'filtered') {
        assert.ok(end.kind === 'filtered');
        assert.equal(end.where, library.end.where);
        assert.deepEqual(end.categories, library.end.categories);
        assert.match(end.message, new RegExp(library.end.categories.map((x) => x.replaceAll('_', ' ')).join(', ')));
      }
      if (end.kind === 'rate-limited')
        assert.equal(end.retryAfterMs, error instanceof ApiError ? error.rateLimit?.retryAfterMs : NaN);
      if (end.kind === 'failed' && error instanceof ApiError) {
        assert.equal(end.status, error.status);
        assert.equal(end.retryable, isRetryableStatus(error.status), 'Retry is offered where the client retries');
      }
    });
  }
});
