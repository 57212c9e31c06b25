// A relay forwards an upstream chunk's own JSON text, byte for byte, when it passes the chunk
// on unchanged; a chunk it changed (normalized by the shape check, given Azure's filter
// fields) is serialized again, so the change is never lost. Upstream: a raw node:http server
// sending valid JSON that JSON.stringify would write differently (spaces, 1.7e9, \u00e9).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { createClient } from '../../src/client/client.js';
import { sourceJsonOf } from '../../src/protocol/source-json.js';
import { allFrames, azureUrl, post, start } from '../support/server.js';

const PROMPT_FILTER =
  '{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}';
const AS_SENT =
  '{"id":"c1", "object":"chat.completion.chunk", "created":1.7e9, "model":"m", ' +
  '"choices":[{"index":0, "delta":{"content":"caf\\u00e9"}, "finish_reason":null, "content_filter_results":{}}]}';
const NO_INDEX =
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"delta":{"content":"!"},"finish_reason":null,"content_filter_results":{}}]}';
const NO_FILTER_FIELDS =
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}';
const NO_CHOICES =
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}';

/** What the relay must write for a chunk it changed: the parsed chunk, changed as the relay does, serialized. */
function changed(json: string, change: (chunk: { choices?: Array<Record<string, unknown>> }) => void): string {
  const chunk = JSON.parse(json);
  change(chunk);
  return `data: ${JSON.stringify(chunk)}`;
}

async function upstream(t: import('node:test').TestContext): Promise<string> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const json of [PROMPT_FILTER, AS_SENT, NO_INDEX, NO_FILTER_FIELDS, NO_CHOICES])
        res.write(`data: ${json}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const body = { messages: [{ role: 'user' as const, content: 'hi' }], stream: true };

describe('exact relay of upstream chunks', () => {
  test('Azure dialect: unchanged chunks as the upstream wrote them, changed ones serialized with the change', async (t) => {
    const endpoint = await upstream(t);
    const front = await start(t, {
      backend: createRemoteBackend({ endpoint, apiKey: 'k', deployment: 'd', maxRetries: 0 }),
    });
    const res = await post(azureUrl(front.url, 'd', 'chat'), body);
    assert.equal(res.status, 200);
    assert.deepEqual(await allFrames(res), [
      `data: ${PROMPT_FILTER}`,
      `data: ${AS_SENT}`,
      changed(NO_INDEX, (c) => {
        c.choices![0]!.index = 0;
      }),
      changed(NO_FILTER_FIELDS, (c) => {
        c.choices![0]!.content_filter_results = {};
      }),
      changed(NO_CHOICES, (c) => {
        c.choices = [];
      }),
      'data: [DONE]',
    ]);
  });

  test('OpenAI dialect: no Azure fields are added, so that chunk too goes out as sent', async (t) => {
    const endpoint = await upstream(t);
    const front = await start(t, {
      backend: createRemoteBackend({ endpoint, apiKey: 'k', deployment: 'd', maxRetries: 0 }),
    });
    const res = await post(`${front.url}/v1/chat/completions`, { ...body, model: 'd' });
    assert.equal(res.status, 200);
    const frames = await allFrames(res);
    assert.equal(frames[0], `data: ${AS_SENT}`);
    assert.equal(frames[2], `data: ${NO_FILTER_FIELDS}`);
  });

  test("the client's toSSE() relays the same bytes", async (t) => {
    const endpoint = await upstream(t);
    const client = createClient({ endpoint, apiKey: 'k', deployment: 'd', maxRetries: 0 });
    const text = await new Response(client.chat.stream({ messages: body.messages }).toSSE()).text();
    assert.ok(text.includes(`data: ${AS_SENT}\n\n`), text);
  });

  test('a client that only reads keeps no source text; one asked to relay does', async (t) => {
    const endpoint = await upstream(t);
    const client = createClient({ endpoint, apiKey: 'k', deployment: 'd', maxRetries: 0 });
    const kept = async (relay: boolean | undefined) => {
      const texts: Array<string | undefined> = [];
      for await (const chunk of client.chat.stream({ messages: body.messages }, relay === undefined ? {} : { relay })) {
        texts.push(sourceJsonOf(chunk));
      }
      return texts;
    };
    assert.deepEqual(await kept(undefined), [undefined, undefined, undefined, undefined, undefined]);
    const relayed = await kept(true);
    assert.equal(relayed[0], PROMPT_FILTER);
    assert.equal(relayed[1], AS_SENT);
  });
});
