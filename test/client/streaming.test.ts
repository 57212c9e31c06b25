// The client against the Azure-shaped test server: the happy paths, over real sockets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { iterateSse } from '../../src/sse/index.js';
import {
  annotation,
  chatChunks,
  completionChunks,
  encodeItem,
  type StreamItem,
  stream,
} from '../../src/testing/azure-server.js';
import type { ChatCompletionChunk } from '../../src/types.js';
import { chatBody, clientFor, drain, KEY, serve, textOf } from '../support/client.js';

const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };

describe('streaming Chat Completions from an Azure deployment', () => {
  test('yields every chunk (filter chunks included), accumulates, completes, and measures', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(chatChunks(['Hel', 'lo', ' there', '!'], { usage })) } });
    const client = clientFor(server);
    const s = client.chat.stream({ ...chatBody, stream_options: { include_usage: true } });
    const { items, error } = await drain(s);
    assert.equal(error, undefined);
    assert.equal(items.length, 8, 'prompt filter, role, 4 content, finish, usage');
    assert.deepEqual(items[0]?.choices, [], 'the prompt-filter chunk is not hidden');
    assert.ok(items[0]?.prompt_filter_results);

    const { response, end, metrics } = await s.final();
    assert.deepEqual(end, { state: 'completed' });
    assert.equal(textOf(response), 'Hello there!');
    assert.equal(response.object, 'chat.completion');
    assert.equal(response.id, 'chatcmpl-test');
    assert.equal(response.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(response.usage, usage);

    assert.equal(metrics.chunks, 8);
    assert.ok(metrics.timeToHeadersMs !== undefined && metrics.timeToHeadersMs >= 0);
    assert.ok(metrics.timeToFirstTokenMs !== undefined && metrics.timeToFirstTokenMs >= metrics.timeToHeadersMs);
    assert.ok(metrics.durationMs !== undefined && metrics.durationMs >= metrics.timeToFirstTokenMs);
    assert.ok(metrics.gapsMs.max >= metrics.gapsMs.p95 && metrics.gapsMs.p95 >= metrics.gapsMs.p50);
    assert.deepEqual(metrics.usage, usage);

    const meta = await s.meta;
    assert.equal(meta.status, 200);
    assert.equal(meta.requestId, 'apim-0');
    assert.equal(meta.region, 'swedencentral');
    assert.equal(meta.rateLimit.remainingRequests, 99);
    assert.equal(meta.rateLimit.limitTokens, 10000);
    assert.equal(meta.attempts, 1);
    // Every header of the answer, made when first read (the stream keeps node:http's raw list).
    assert.equal(meta.headers.get('x-ms-region'), 'swedencentral');
    assert.equal(meta.headers.get('apim-request-id'), 'apim-0');
    assert.match(meta.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(meta.headers, meta.headers, 'made once');
    assert.equal({ ...meta }.headers.get('x-ms-region'), 'swedencentral', 'a copy carries them');

    const req = server.requests[0]!;
    assert.equal(req.path, '/openai/deployments/d/chat/completions');
    assert.equal(req.apiVersion, '2024-10-21');
    assert.equal(req.headers['api-key'], KEY);
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.body?.stream, true, 'stream: true is set for the caller');
    assert.deepEqual(req.body?.stream_options, { include_usage: true });
  });

  test('the tutorial: Completions with stream, each text printed as it arrives', async (t) => {
    const server = await serve(t, {
      scenarios: { 'gpt-35-turbo-instruct': stream(completionChunks(['Once', ' upon', ' a', ' time'])) },
    });
    const client = clientFor(server, { deployment: 'gpt-35-turbo-instruct', apiVersion: '2024-02-01' });
    const printed: string[] = [];
    const s = client.completions.stream({ prompt: 'Tell me a story', max_tokens: 20 });
    for await (const { index, text } of s.textDeltas()) {
      assert.equal(index, 0);
      printed.push(text);
    }
    assert.deepEqual(printed, ['Once', ' upon', ' a', ' time'], 'no empty finish text, no filter chunk');
    const { end, response } = await s.final();
    assert.equal(end.state, 'completed');
    assert.equal(response.object, 'text_completion');
    assert.equal(server.requests[0]?.apiVersion, '2024-02-01');
    assert.equal(server.requests[0]?.path, '/openai/deployments/gpt-35-turbo-instruct/completions');
  });

  test('delivery is incremental: chunk 1 reaches the caller while the server still holds chunk 2', async (t) => {
    const [filter, role, first, ...rest] = chatChunks(['first', 'second']);
    const server = await serve(t, { scenarios: { d: stream([filter!, role!, first!, { wait: 'go' }, ...rest]) } });
    const s = clientFor(server).chat.stream(chatBody);
    const seen: string[] = [];
    for await (const chunk of s) {
      const text = chunk.choices[0]?.delta?.content;
      if (!text) continue;
      seen.push(text);
      if (text === 'first') {
        // The server is parked at the gate: chunk 2 has not been written yet.
        assert.equal(server.requests[0]?.itemsSent, 3);
        assert.equal(server.requests[0]?.finished, false);
        server.release('go');
      }
    }
    assert.deepEqual(seen, ['first', 'second']);
    assert.equal((await s.final()).end.state, 'completed');
  });

  test('stops at [DONE] even when the connection stays open, and lets the server know', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(chatChunks(['a', 'b']), { keepOpen: true }) } });
    const s = clientFor(server).chat.stream(chatBody);
    assert.equal(await s.text(), 'ab');
    assert.equal((await s.final()).end.state, 'completed');
    await server.requests[0]!.disconnected; // the client closed the kept-open connection
    assert.equal(server.requests[0]!.clientLeft, true);
  });

  test('accepts `data: [DONE]` without its final blank line as a proper end', async (t) => {
    const items = chatChunks(['x', 'y']);
    items[items.length - 1] = { done: 'unterminated' };
    const server = await serve(t, { scenarios: { d: stream(items) } });
    const s = clientFor(server).chat.stream(chatBody);
    assert.equal(await s.text(), 'xy');
    assert.deepEqual((await s.final()).end, { state: 'completed' });
  });

  test('an async-filter annotation after the finish chunk is yielded and merged; [DONE] still ends it', async (t) => {
    const items = chatChunks(['calm', ' words'], { done: false });
    const server = await serve(t, {
      scenarios: {
        d: stream([
          ...items,
          annotation(
            { check_offset: 0, start_offset: 0, end_offset: 10 },
            { results: { violence: { filtered: false, severity: 'low' } } },
          ),
          { done: true },
        ]),
      },
    });
    const s = clientFor(server).chat.stream(chatBody);
    const { items: chunks } = await drain(s);
    const last = chunks.at(-1) as ChatCompletionChunk;
    assert.equal(last.choices[0]?.delta, undefined, 'the annotation (no delta) came through');
    assert.ok(last.choices[0]?.content_filter_offsets);
    const { end, response } = await s.final();
    assert.equal(end.state, 'completed');
    assert.equal(response.choices[0]?.content_filter_results?.violence?.severity, 'low', 'worst severity kept');
  });

  test('a blocking annotation after the finish chunk turns the end state to filtered', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: stream([
          ...chatChunks(['bad', ' text'], { done: false }),
          annotation(
            { check_offset: 0, start_offset: 0, end_offset: 8 },
            { finishReason: 'content_filter', results: { violence: { filtered: true, severity: 'high' } } },
          ),
          { done: true },
        ]),
      },
    });
    const s = clientFor(server).chat.stream(chatBody);
    const { error } = await drain(s);
    assert.equal(error, undefined, 'a filtered completion iterates normally');
    const { end } = await s.final();
    assert.equal(end.state, 'filtered');
    if (end.state === 'filtered') {
      assert.equal(end.where, 'completion');
      assert.deepEqual(end.categories, ['violence']);
    }
  });

  test('finish_reason content_filter: iterates normally, end filtered, text() is what was let through', async (t) => {
    const server = await serve(t, {
      scenarios: { d: stream(chatChunks(['Before'], { finishReason: 'content_filter' })) },
    });
    const s = clientFor(server).chat.stream(chatBody);
    assert.equal(await s.text(), 'Before');
    const { end } = await s.final();
    assert.equal(end.state, 'filtered');
  });

  test('heartbeat comments and unknown fields pass quietly', async (t) => {
    const [filter, role, ...rest] = chatChunks(['ok']);
    const server = await serve(t, {
      scenarios: { d: stream([{ comment: 'keep-alive' }, filter!, { comment: 'ping' }, role!, ...rest]) },
    });
    const s = clientFor(server).chat.stream(chatBody);
    assert.equal(await s.text(), 'ok');
  });
});

describe('routes and auth', () => {
  test('Azure v1: /openai/v1/..., model = deployment, no api-version', async (t) => {
    const server = await serve(t, { scenarios: { 'my dep': stream(chatChunks(['v1'])) } });
    const s = clientFor(server, { route: 'v1', deployment: 'my dep' }).chat.stream(chatBody);
    assert.equal(await s.text(), 'v1');
    const req = server.requests[0]!;
    assert.equal(req.path, '/openai/v1/chat/completions');
    assert.equal(req.apiVersion, null);
    assert.equal(req.body?.model, 'my dep');
    assert.equal(req.headers['api-key'], KEY);
  });

  test('OpenAI-compatible base URL: bearer auth, the body model wins', async (t) => {
    const server = await serve(t, { scenarios: { 'gpt-4o-mini': stream(completionChunks(['oa'])) } });
    const client = clientFor(server, { endpoint: undefined, baseURL: `${server.url}/v1`, deployment: 'default-model' });
    assert.equal(await client.completions.stream({ prompt: 'p', model: 'gpt-4o-mini' }).text(), 'oa');
    const req = server.requests[0]!;
    assert.equal(req.path, '/v1/completions');
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    assert.equal(req.headers['api-key'], undefined);
  });

  test('deployment names are percent-encoded into one path segment', async (t) => {
    const name = 'a/../../x y';
    const server = await serve(t, { scenarios: { [name]: stream(chatChunks(['enc'])) } });
    const s = clientFor(server, { deployment: name }).chat.stream(chatBody);
    assert.equal(await s.text(), 'enc');
    assert.equal(server.requests[0]?.url.split('?')[0], '/openai/deployments/a%2F..%2F..%2Fx%20y/chat/completions');
  });

  test('a per-call deployment overrides the client one', async (t) => {
    const server = await serve(t, { scenarios: { other: stream(chatChunks(['o'])) } });
    assert.equal(await clientFor(server).chat.stream(chatBody, { deployment: 'other' }).text(), 'o');
  });

  test('a token provider is asked before every attempt (retries included)', async (t) => {
    const { reply, azureError } = await import('../../src/testing/azure-server.js');
    const server = await serve(t, {
      apiKey: undefined,
      scenarios: { d: [reply(503, azureError('503', 'busy')), stream(chatChunks(['t']))] },
    });
    let n = 0;
    const client = clientFor(server, { apiKey: undefined, tokenProvider: async () => `entra-${++n}` });
    assert.equal(await client.chat.stream(chatBody).text(), 't');
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ['Bearer entra-1', 'Bearer entra-2'],
    );
    assert.equal(server.requests[0]?.headers['api-key'], undefined);
  });

  test('a token provider that throws (at once or later) is a ConfigError naming it, and nothing is sent', async (t) => {
    const { ConfigError } = await import('../../src/errors.js');
    const server = await serve(t, { apiKey: undefined, scenarios: { d: [stream(chatChunks(['t']))] } });
    const providers = [
      () => {
        throw new Error('no login');
      },
      async () => {
        throw new Error('no login');
      },
    ];
    for (const tokenProvider of providers) {
      const client = clientFor(server, { apiKey: undefined, tokenProvider });
      await assert.rejects(client.chat.stream(chatBody).text(), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, /`tokenProvider` failed: no login/);
        return true;
      });
    }
    assert.equal(server.requests.length, 0);
  });
});

describe('reading repeated chunks (ChunkTemplate)', () => {
  /** Counts JSON.parse calls on whole chunks (texts with "choices") while `run` runs. */
  async function countChunkParses(run: () => Promise<void>): Promise<number> {
    const parse = JSON.parse;
    let parses = 0;
    JSON.parse = (text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      if (typeof text === 'string' && text.includes('"choices"')) parses++;
      return parse(text, reviver);
    };
    try {
      await run();
    } finally {
      JSON.parse = parse;
    }
    return parses;
  }

  const words = Array.from({ length: 40 }, (_, i) => ` w${i} "quoted" café 🙂\n`);
  const items = chatChunks(words);
  const wire = items.flatMap((item) => ('chunk' in item ? [JSON.parse(JSON.stringify(item.chunk)) as unknown] : []));

  test('a client parses only the chunks that differ from the one before but for their text, and yields what a parse yields', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(items) } });
    const client = clientFor(server);
    let got: unknown[] = [];
    const parses = await countChunkParses(async () => {
      const { items: chunks, error } = await drain(client.chat.stream(chatBody));
      assert.equal(error, undefined);
      got = chunks;
    });
    assert.deepEqual(got, wire);
    // Prompt filter, role, first content (plus one proof each for role and content), finish:
    // a handful, not one per chunk.
    assert.ok(parses < 10, `${parses} chunk parses for ${wire.length} chunks`);
  });

  test('a relay (toSSE) parses every chunk and forwards the upstream text as it came', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(items) } });
    const client = clientFor(server);
    const events: string[] = [];
    const parses = await countChunkParses(async () => {
      for await (const e of iterateSse(client.chat.stream(chatBody).toSSE())) events.push(e.data);
    });
    assert.deepEqual(
      events.slice(0, -1).map((e) => JSON.parse(e) as unknown),
      wire,
    );
    assert.ok(parses >= wire.length, `${parses} chunk parses for ${wire.length} chunks`);
  });
});

describe('relays', () => {
  test('toSSE re-encodes chunk for chunk and ends with [DONE]', async (t) => {
    const items = chatChunks(['re', 'lay'], { usage });
    const server = await serve(t, { scenarios: { d: stream(items) } });
    const s = clientFor(server).chat.stream(chatBody);
    const events = [];
    for await (const e of iterateSse(s.toSSE())) events.push(e.data);
    const sent = items.map((i) =>
      String(encodeItem(i))
        .replace(/^data: /, '')
        .trim(),
    );
    assert.deepEqual(events, sent, 'same JSON, same order, then [DONE]');
    assert.equal((await s.final()).end.state, 'completed');
  });

  test('toSSE ends a failed stream with an error frame and no [DONE]', async (t) => {
    const items: StreamItem[] = [
      ...chatChunks(['half'], { finishReason: null, done: false }),
      { error: { error: { code: 'server_error', message: 'The model crashed' } } },
    ];
    const server = await serve(t, { scenarios: { d: stream(items) } });
    const s = clientFor(server).chat.stream(chatBody);
    const events = [];
    for await (const e of iterateSse(s.toSSE())) events.push(e.data);
    assert.notEqual(events.at(-1), '[DONE]');
    assert.deepEqual(JSON.parse(events.at(-1)!), { error: { code: 'server_error', message: 'The model crashed' } });
    assert.equal((await s.final()).end.state, 'failed');
  });

  test('toReadableStream yields the same chunks; cancelling it aborts the request', async (t) => {
    const server = await serve(t, {
      scenarios: {
        d: stream(chatChunks(['a', 'b'])),
        slow: stream([...chatChunks(['a'], { done: false, finishReason: null }), { stall: true }]),
      },
    });
    const client = clientFor(server);
    const chunks = [];
    const reader = client.chat.stream(chatBody).toReadableStream().getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    assert.equal(chunks.length, 5);

    const s = client.chat.stream(chatBody, { deployment: 'slow' });
    const r2 = s.toReadableStream().getReader();
    await r2.read();
    await r2.cancel();
    await server.requests[1]!.disconnected;
    assert.equal((await s.final()).end.state, 'aborted');
  });

  test('a stream is read once; final() and text() still work beside the reader', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(chatChunks(['once'])) } });
    const s = clientFor(server).chat.stream(chatBody);
    const reading = drain(s);
    assert.throws(() => s[Symbol.asyncIterator](), TypeError);
    assert.throws(() => s.toSSE(), /already being read/);
    assert.equal(await s.text(), 'once');
    assert.equal((await reading).items.length, 4);
  });
});
