// The Responses API through the client, against the Azure-shaped test server's
// /openai/v1/responses route: incremental arrival, every end state, abort, time-outs,
// malformed and hostile events (partial kept), routes, non-streaming create.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AbortError,
  ProtocolError,
  RateLimitError,
  StreamErrorFrame,
  StreamTruncatedError,
  TimeoutError,
} from '../../src/errors.js';
import { outputText } from '../../src/protocol/responses/accumulate.js';
import { azureError, reply, type StreamItem, stream } from '../../src/testing/azure-server.js';
import { responseObject, responsesEvents } from '../../src/testing/responses-events.js';
import { clientFor, drain, KEY, rejection, serve } from '../support/client.js';

const body = { input: 'Tell me a story', max_output_tokens: 100 };

/** The scripted events with `extra` inserted before the event at `at`. */
function withAt(items: StreamItem[], at: number, ...extra: StreamItem[]): StreamItem[] {
  return [...items.slice(0, at), ...extra, ...items.slice(at)];
}

/** Index of the first event of `type` in scripted items. */
function indexOf(items: StreamItem[], type: string): number {
  return items.findIndex((i) => 'event' in i && i.event.type === type);
}

describe('client.responses.stream', () => {
  test('events arrive as the server sends them, not at the end', async (t) => {
    const items = responsesEvents({ texts: ['Once', ' upon', ' a time'] });
    const gated = withAt(items, indexOf(items, 'response.output_text.delta') + 1, { wait: 'rest' });
    const server = await serve(t, { scenarios: { d: stream(gated) } });
    const s = clientFor(server).responses.stream(body);
    const it = s.textDeltas()[Symbol.asyncIterator]();
    const first = await it.next();
    // The first delta is here while the server still holds back everything after it.
    assert.deepEqual(first.value, { outputIndex: 0, contentIndex: 0, text: 'Once' });
    assert.equal(server.requests[0]?.finished, false);
    server.release('rest');
    const rest: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.text);
    assert.deepEqual(rest, [' upon', ' a time']);
    const { response, end, metrics } = await s.final();
    assert.deepEqual(end, { state: 'completed' });
    assert.deepEqual(
      JSON.parse(JSON.stringify(response)),
      JSON.parse(JSON.stringify(responseObject({ texts: ['Once', ' upon', ' a time'] }))),
    );
    assert.equal(metrics.chunks, items.length);
    assert.equal(metrics.usage?.completion_tokens, 3);
    assert.ok(metrics.timeToFirstTokenMs !== undefined);
  });

  test('typed events keep their sequence numbers; unknown events and [DONE] pass without ending anything', async (t) => {
    const items = responsesEvents({ texts: ['a', 'b'] });
    const odd: StreamItem = {
      event: { type: 'response.reasoning_summary_text.delta', delta: 'hmm', sequence_number: 99 },
    };
    const mixed = withAt(items, indexOf(items, 'response.output_text.done'), odd, { done: true });
    const server = await serve(t, { scenarios: { d: stream(mixed) } });
    const { items: events, error } = await drain(clientFor(server).responses.stream(body));
    assert.equal(error, undefined);
    assert.ok(events.some((e) => e.type === 'response.reasoning_summary_text.delta'));
    assert.equal(events.at(-1)?.type, 'response.completed');
    const seqs = events.filter((e) => e.sequence_number !== 99).map((e) => e.sequence_number);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i),
    );
  });

  test('the terminal event ends the stream even when the server keeps the connection open', async (t) => {
    const server = await serve(t, { scenarios: { d: stream(responsesEvents({ texts: ['x'] }), { keepOpen: true }) } });
    const s = clientFor(server).responses.stream(body);
    assert.equal(await s.text(), 'x');
    await server.requests[0]?.disconnected;
  });

  test('read once: a second iterator is a TypeError; toReadableStream gives the same events', async (t) => {
    const items = responsesEvents({ texts: ['a', 'b'] });
    const server = await serve(t, { scenarios: { d: stream(items) } });
    const s = clientFor(server).responses.stream(body);
    const reader = s.toReadableStream().getReader();
    assert.throws(() => s[Symbol.asyncIterator](), { name: 'TypeError', message: /already being read/ });
    const types: string[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) types.push(r.value.type);
    assert.deepEqual(
      types,
      items.map((i) => ('event' in i ? i.event.type : '')),
    );
    assert.equal(outputText((await s.final()).response), 'ab');
  });

  test('response.incomplete: truncated with the limit it hit, not an error; content_filter: filtered', async (t) => {
    const server = await serve(t, {
      scenarios: {
        max: stream(responsesEvents({ texts: ['Once', ' upon'], end: { incomplete: 'max_output_tokens' } })),
        filter: stream(responsesEvents({ texts: ['Once'], end: { incomplete: 'content_filter' } })),
      },
    });
    const client = clientFor(server);
    const max = client.responses.stream(body, { deployment: 'max' });
    assert.equal(await max.text(), 'Once upon');
    const result = await max.final();
    assert.deepEqual(result.end, { state: 'truncated', reason: 'max-tokens', unfinished: [0] });
    assert.equal(result.error, undefined);
    assert.equal(result.response.incomplete_details?.reason, 'max_output_tokens');
    const filtered = await client.responses.stream(body, { deployment: 'filter' }).final();
    assert.deepEqual(filtered.end, { state: 'filtered', where: 'completion', categories: [], choices: [] });
  });

  test('response.failed and error: the event arrives, then iteration throws with the partial kept', async (t) => {
    const server = await serve(t, {
      scenarios: {
        failed: stream(
          responsesEvents({ texts: ['half'], end: { failed: { code: 'server_error', message: 'boom' } } }),
        ),
        error: stream(
          responsesEvents({ texts: ['so far'], end: { error: { code: 'rate_limit_exceeded', message: 'slow' } } }),
        ),
      },
    });
    const client = clientFor(server);
    for (const [d, text, pattern] of [
      ['failed', 'half', /server_error: boom/],
      ['error', 'so far', /rate_limit_exceeded: slow/],
    ] as const) {
      const s = client.responses.stream(body, { deployment: d });
      const { items, error } = await drain(s);
      assert.equal(items.at(-1)?.type, d === 'failed' ? 'response.failed' : 'error');
      assert.ok(error instanceof StreamErrorFrame, d);
      assert.match(error.message, pattern);
      assert.equal(outputText(error.partial), text);
      const { end } = await s.final();
      assert.equal(end.state, 'failed');
    }
  });

  test('no terminal event: StreamTruncatedError (no-done) with the partial; a cut socket too', async (t) => {
    const items = responsesEvents({ texts: ['Once', ' upon', ' a time'] });
    const server = await serve(t, {
      scenarios: {
        none: stream(responsesEvents({ texts: ['Once', ' upon'], end: 'none' })),
        cut: stream([...items.slice(0, indexOf(items, 'response.output_text.done')), { delay: 50 }, { cut: true }]),
      },
    });
    const client = clientFor(server);
    for (const [d, text] of [
      ['none', 'Once upon'],
      ['cut', 'Once upon a time'],
    ] as const) {
      const s = client.responses.stream(body, { deployment: d });
      const err = await rejection(s.text());
      assert.ok(err instanceof StreamTruncatedError, d);
      assert.equal(err.reason, 'no-done');
      assert.equal(outputText(err.partial), text);
      const { end, response } = await s.final();
      assert.equal(end.state, 'truncated');
      assert.equal(outputText(response), text);
    }
  });

  test('abort mid-stream: AbortError, the server sees the disconnect, the partial is kept', async (t) => {
    const items = responsesEvents({ texts: ['Once', ' upon'] });
    const gated = withAt(items, indexOf(items, 'response.output_text.delta') + 1, { wait: 'never' });
    const server = await serve(t, { scenarios: { d: stream(gated) } });
    const s = clientFor(server).responses.stream(body);
    const seen: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const { text } of s.textDeltas()) {
          seen.push(text);
          s.abort('user pressed stop');
        }
      })(),
    );
    assert.ok(err instanceof AbortError);
    assert.deepEqual(seen, ['Once']);
    await server.requests[0]?.disconnected;
    const { end, response } = await s.final();
    assert.deepEqual(end, { state: 'aborted', reason: 'user pressed stop' });
    assert.equal(outputText(response), 'Once');
  });

  test('first-token and idle time-outs as for chat', async (t) => {
    const items = responsesEvents({ texts: ['a', 'b'] });
    const server = await serve(t, {
      scenarios: {
        // Lifecycle events are no tokens: the first-token limit still runs out.
        first: stream([...items.slice(0, indexOf(items, 'response.output_text.delta')), { stall: true }]),
        idle: stream([...items.slice(0, indexOf(items, 'response.output_text.delta') + 1), { stall: true }]),
      },
    });
    const client = clientFor(server);
    const first = await client.responses
      .stream(body, { deployment: 'first', timeouts: { firstTokenMs: 150, idleMs: 0 } })
      .final();
    assert.ok(first.error instanceof TimeoutError && first.error.phase === 'first-token');
    const idle = await client.responses.stream(body, { deployment: 'idle', timeouts: { idleMs: 150 } }).final();
    assert.ok(idle.error instanceof TimeoutError && idle.error.phase === 'idle');
    assert.equal(outputText(idle.error.partial), 'a');
  });

  test('a malformed event ends the stream with ProtocolError, the partial kept', async (t) => {
    const items = responsesEvents({ texts: ['kept', ' lost'] });
    const second = indexOf(items, 'response.output_text.delta') + 1;
    const server = await serve(t, {
      scenarios: {
        json: stream(withAt(items, second, { raw: 'event: response.output_text.delta\ndata: {"type":"resp\n\n' })),
        index: stream(
          withAt(items, second, {
            event: {
              type: 'response.output_text.delta',
              item_id: 'm',
              output_index: 4_000_000_000,
              content_index: 0,
              delta: 'x',
              sequence_number: 5,
            },
          }),
        ),
      },
    });
    const client = clientFor(server);
    for (const [d, type] of [
      ['json', 'invalid-json'],
      ['index', 'unexpected-shape'],
    ] as const) {
      const s = client.responses.stream(body, { deployment: d });
      const { items: got, error } = await drain(s);
      assert.ok(error instanceof ProtocolError, d);
      assert.equal(error.type, type);
      assert.equal(outputText(error.partial), 'kept');
      assert.equal(got.filter((e) => e.type === 'response.output_text.delta').length, 1);
      assert.equal((await s.final()).end.state, 'failed');
    }
  });

  test('hostile keys in events pollute nothing', async (t) => {
    const raw = (json: string): StreamItem => ({ raw: `data: ${json}\n\n` });
    const server = await serve(t, {
      scenarios: {
        d: stream([
          raw(
            '{"type":"response.created","sequence_number":0,"response":{"id":"r","__proto__":{"polluted":1},"output":[]}}',
          ),
          raw(
            '{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"message","id":"m","constructor":{"prototype":{"polluted":2}},"__proto__":{"polluted":3}}}',
          ),
          raw(
            '{"type":"response.output_text.delta","sequence_number":2,"output_index":0,"content_index":0,"item_id":"m","delta":"fine"}',
          ),
          raw(
            '{"type":"response.completed","sequence_number":3,"response":{"id":"r","status":"completed","__proto__":{"polluted":4},"output":[]}}',
          ),
        ]),
      },
    });
    const s = clientFor(server).responses.stream(body);
    assert.equal(await s.text(), 'fine');
    const { response } = await s.final();
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    assert.equal(Object.hasOwn(response, '__proto__'), false);
    assert.equal(Object.hasOwn(response.output[0]!, 'constructor'), false);
  });

  test('routes: Azure deployments and v1 targets use /openai/v1/responses with model = deployment; OpenAI uses {baseURL}/responses', async (t) => {
    const server = await serve(t, { scenarios: { dep: stream(responsesEvents({ texts: ['ok'] })) } });
    await clientFor(server, { deployment: 'dep' }).responses.stream({ input: 'x', model: 'ignored' }).final();
    await clientFor(server, { deployment: 'dep', route: 'v1' }).responses.stream({ input: 'x' }).final();
    await clientFor(server, { endpoint: undefined, baseURL: `${server.url}/v1`, deployment: undefined })
      .responses.stream({ model: 'dep', input: 'x' })
      .final();
    assert.deepEqual(
      server.requests.map((r) => [r.path, r.apiVersion, r.body?.model, r.body?.stream]),
      [
        ['/openai/v1/responses', null, 'dep', true],
        ['/openai/v1/responses', null, 'dep', true],
        ['/v1/responses', null, 'dep', true],
      ],
    );
    assert.equal(server.requests[0]?.headers['api-key'], KEY);
    assert.equal(server.requests[2]?.headers.authorization, `Bearer ${KEY}`);
  });

  test('retries before the first byte and scrubs the key from errors, as for chat', async (t) => {
    const server = await serve(t, {
      scenarios: {
        flaky: [
          reply(429, azureError('429', 'busy'), { 'retry-after-ms': '1' }),
          stream(responsesEvents({ texts: ['ok'] })),
        ],
        echo: stream([
          { event: { type: 'error', code: 'bad', message: `key ${KEY} rejected`, param: null, sequence_number: 0 } },
        ]),
      },
    });
    const client = clientFor(server);
    const s = client.responses.stream(body, { deployment: 'flaky' });
    assert.equal(await s.text(), 'ok');
    assert.equal((await s.meta).attempts, 2);
    const { error } = await client.responses.stream(body, { deployment: 'echo' }).final();
    assert.ok(error instanceof StreamErrorFrame);
    assert.doesNotMatch(`${error.message} ${JSON.stringify(error.body)}`, new RegExp(KEY));
  });
});

describe('client.responses.create', () => {
  test('returns the Response object with meta; a body without output is a ProtocolError; 429 is typed', async (t) => {
    const whole = responseObject({ texts: ['Hel', 'lo'] });
    const server = await serve(t, {
      scenarios: {
        d: reply(200, whole),
        odd: reply(200, { choices: [] }),
        busy: reply(429, azureError('429', 'busy')),
      },
    });
    const client = clientFor(server, { maxRetries: 0 });
    const response = await client.responses.create(body);
    assert.deepEqual(JSON.parse(JSON.stringify(response)), whole);
    assert.equal(outputText(response), 'Hello');
    assert.equal(response.meta.status, 200);
    assert.equal(server.requests[0]?.body?.stream, false);
    assert.equal(server.requests[0]?.path, '/openai/v1/responses');
    const odd = await rejection(client.responses.create(body, { deployment: 'odd' }));
    assert.ok(odd instanceof ProtocolError && /no output/.test(odd.message));
    assert.ok((await rejection(client.responses.create(body, { deployment: 'busy' }))) instanceof RateLimitError);
  });
});
