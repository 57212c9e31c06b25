// The server as other clients meet it: browsers (origin, Host, content type), SDKs (an
// endpoint ending in `/`, the Responses API answered, OpenAI's own error bodies), hostile or broken
// clients (huge work, slow bodies, bytes Node's parser rejects). A real server on port 0.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import OpenAI, { AzureOpenAI } from 'openai';
import type { Backend } from '../../src/backend.js';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { azureUrl, post, start } from '../support/server.js';

const KEY = 'client-key-0123456789';
const chatBody = { messages: [{ role: 'user', content: 'hi' }] };

interface ErrorJson {
  error: { code: string | null; message: string; param?: string | null; type?: string };
}

function scripted(text = 'Once upon a time'): Backend & ReturnType<typeof createScriptedBackend> {
  const chat = textScript('chat', text);
  const completions = textScript('completions', text);
  return createScriptedBackend((req) => (req.kind === 'chat' ? chat : completions));
}

describe('SDKs', () => {
  test('AzureOpenAI with an endpoint ending in / (as copied from the portal) works', async (t) => {
    const { url } = await start(t, { backend: scripted(), apiKey: KEY });
    const azure = new AzureOpenAI({ endpoint: `${url}/`, apiKey: KEY, apiVersion: '2024-10-21', maxRetries: 0 });
    const answer = await azure.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(answer.choices[0]?.message.content, 'Once upon a time');
    const stream = await azure.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Once upon a time');
  });

  test('the Responses API is answered, not a bare 404, in each dialect', async (t) => {
    const { url } = await start(t, { backend: scripted() });
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
    const answer = await openai.responses.create({ model: 'tiny', input: 'hi' });
    assert.equal(answer.status, 'completed');
    assert.equal(answer.output_text, 'Once upon a time');
    const azure = await post(`${url}/openai/v1/responses`, { model: 'tiny', input: 'hi' });
    assert.equal(azure.status, 200);
    const body = (await azure.json()) as { object: string; status: string };
    assert.equal(body.object, 'response');
    assert.equal(body.status, 'completed');
  });

  test('OpenAI routes answer in OpenAI words and shape; Azure routes keep Azure wording', async (t) => {
    const { url } = await start(t, { backend: scripted(), apiKey: KEY });
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
    await assert.rejects(
      openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }] }),
      (e: Error & { status?: number; code?: string }) => {
        assert.equal(e.status, 401);
        assert.equal(e.code, 'invalid_api_key');
        assert.doesNotMatch(e.message, /subscription key|regional/);
        return true;
      },
    );
    const bad = await post(
      `${url}/v1/chat/completions`,
      { model: 'tiny', messages: [] },
      { authorization: `Bearer ${KEY}` },
    );
    assert.equal(bad.status, 400);
    const b = (await bad.json()) as ErrorJson;
    assert.deepEqual(Object.keys(b.error), ['message', 'type', 'param', 'code']);
    assert.equal(b.error.param, 'messages');
    const lost = await fetch(`${url}/v1/nothing`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(lost.status, 404);
    assert.deepEqual(await lost.json(), {
      error: { message: 'Invalid URL (GET /v1/nothing)', type: 'invalid_request_error', param: null, code: null },
    });
    const azure = await post(azureUrl(url, 'd', 'chat'), chatBody, { 'api-key': 'wrong' });
    assert.equal(azure.status, 401);
    assert.match(((await azure.json()) as ErrorJson).error.message, /subscription key/);
  });
});

describe("browsers: a keyless server is not every web page's to drive", () => {
  test('a page on a foreign origin is refused (403) and gets no CORS grant; loopback and same-origin pages are served', async (t) => {
    const { url } = await start(t, { backend: scripted() });
    const evil = await post(azureUrl(url, 'd', 'chat'), chatBody, { origin: 'https://evil.example' });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.match(((await evil.json()) as ErrorJson).error.message, /--cors-origin/);
    const preflight = await fetch(azureUrl(url, 'd', 'chat'), {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    await preflight.arrayBuffer();

    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://[::1]:8080', url]) {
      const ok = await post(azureUrl(url, 'd', 'chat'), chatBody, { origin });
      assert.equal(ok.status, 200, origin);
      assert.equal(ok.headers.get('access-control-allow-origin'), origin);
      await ok.text();
    }
  });

  test('bodies must be application/json: text/plain and typeless bodies (no preflight in browsers) get 415', async (t) => {
    const { url } = await start(t, { backend: scripted() });
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', undefined]) {
      const res = await fetch(azureUrl(url, 'd', 'chat'), {
        method: 'POST',
        headers: type ? { 'content-type': type } : {},
        body: type ? JSON.stringify(chatBody) : new Blob([JSON.stringify(chatBody)]),
      });
      assert.equal(res.status, 415, String(type));
      assert.match(((await res.json()) as ErrorJson).error.message, /application\/json/);
    }
    const ok = await post(azureUrl(url, 'd', 'chat'), chatBody, { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(ok.status, 200);
    await ok.text();
  });

  test('on a loopback bind, a Host that is not loopback (DNS rebinding) is refused', async (t) => {
    const { url } = await start(t, { backend: scripted() });
    const { port } = new URL(url);
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/v1/models', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status(`rebind.evil.example:${port}`), 421);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      assert.equal(await status(host), 200, host);
      // The allowed Host last seen is remembered; any other is still checked.
      assert.equal(await status(`rebind.evil.example:${port}`), 421, `after ${host}`);
      assert.equal(await status(host), 200, `${host} again`);
    }
  });

  test('--cors-origin * allows every page', async (t) => {
    const { url } = await start(t, { backend: scripted(), cors: { origins: '*' } });
    const res = await post(azureUrl(url, 'd', 'chat'), chatBody, { origin: 'https://anywhere.example' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    await res.text();
  });
});

describe('the work one request may ask for', () => {
  test('20,000 prompts × n=128 is a clear 400 before any generation', async (t) => {
    const backend = scripted();
    const { url } = await start(t, { backend });
    const prompts = Array.from({ length: 20_000 }, () => 'x');
    const res = await post(azureUrl(url, 'd', 'completions'), { prompt: prompts, n: 128, max_tokens: 16 });
    assert.equal(res.status, 400);
    const body = (await res.json()) as ErrorJson;
    assert.equal(body.error.param, 'prompt');
    assert.match(body.error.message, /2560000 choices/);
    assert.equal(backend.requests.length, 0);
    const tokens = await post(azureUrl(url, 'd', 'completions'), { prompt: ['a', 'b'], n: 64, max_tokens: 100_000 });
    assert.equal(tokens.status, 400);
    assert.equal(((await tokens.json()) as ErrorJson).error.param, 'max_tokens');
  });

  test('an upstream (no capabilities) receives tools and response_format unchanged', async (t) => {
    const backend = scripted();
    const { url } = await start(t, { backend });
    const extra = {
      tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
      tool_choice: 'auto',
      response_format: { type: 'json_object' },
    };
    const res = await post(azureUrl(url, 'd', 'chat'), { ...chatBody, ...extra });
    assert.equal(res.status, 200);
    await res.text();
    const sent = backend.requests[0]?.body as Record<string, unknown>;
    assert.deepEqual(sent.tools, extra.tools);
    assert.deepEqual(sent.response_format, extra.response_format);
  });
});

/**
 * Writes `text` on a raw socket and resolves with everything the server sent once it closed
 * the connection (a test that hangs here proves the server kept the socket).
 */
function rawExchange(url: string, text: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.setEncoding('utf8').on('data', (d: string) => {
      received += d;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(received));
  });
}

const jsonOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as ErrorJson;
const CHAT_HEAD = 'POST /openai/deployments/d/chat/completions?api-version=2024-10-21 HTTP/1.1\r\nHost: 127.0.0.1\r\n';

describe('slow, unfinished and broken requests', () => {
  test('a wrong key is answered before the body is read, and the socket is closed', async (t) => {
    const { url } = await start(t, { backend: scripted(), apiKey: KEY });
    // Headers promise a large body; little of it is sent.
    const answer = await rawExchange(
      url,
      `${CHAT_HEAD}content-type: application/json\r\ncontent-length: 100000\r\napi-key: wrong\r\n\r\n{"messages":`,
    );
    assert.match(answer, /^HTTP\/1\.1 401/);
    assert.match(answer, /connection: close/i);
    assert.match(jsonOf(answer).error.message, /subscription key/);
  });

  test('a body that never finishes gets a JSON 408 after the request time-out, and the socket is closed', async (t) => {
    const { url } = await start(t, { backend: scripted(), requestTimeoutMs: 300 });
    const answer = await rawExchange(
      url,
      `${CHAT_HEAD}content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"messages":`,
    );
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(jsonOf(answer).error.message, /not received in time/);
  });

  test("bytes Node's parser rejects get a JSON 400 body, not an empty one", async (t) => {
    const { url } = await start(t, { backend: scripted() });
    const answer = await rawExchange(url, 'NONSENSE / HTTP/9.9\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.match(jsonOf(answer).error.message, /HTTP/);
  });
});
