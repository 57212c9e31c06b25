// Fuzzing the request path over real HTTP: random JSON, random bytes, random paths and
// methods, random raw socket input. Every answer is a 200 or a well-formed Azure-shaped
// 4xx; never a 5xx, never a crash.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { start } from '../support/server.js';

const ROUTES = [
  '/openai/deployments/d/chat/completions?api-version=2024-10-21',
  '/openai/deployments/d/completions?api-version=2024-06-01',
  '/openai/v1/chat/completions',
  '/v1/completions',
  '/v1/chat/completions',
];

/** Bodies near the valid shape, so the fuzz reaches deep into validation, plus pure noise. */
const nearValid = fc.record(
  {
    messages: fc.oneof(
      fc.array(
        fc.record(
          {
            role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool'), fc.jsonValue()),
            content: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
      fc.jsonValue(),
    ),
    prompt: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.jsonValue()),
    stream: fc.oneof(fc.boolean(), fc.jsonValue()),
    stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }), fc.jsonValue()),
    max_tokens: fc.oneof(fc.integer({ min: -2, max: 10 }), fc.double(), fc.jsonValue()),
    n: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.jsonValue()),
    stop: fc.oneof(fc.array(fc.string(), { maxLength: 6 }), fc.string(), fc.jsonValue()),
    temperature: fc.oneof(fc.double({ min: -1, max: 3, noNaN: true }), fc.jsonValue()),
    best_of: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.jsonValue()),
    model: fc.oneof(fc.constant('d'), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  nearValid.map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string(),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

async function assertWellFormed(res: Response, what: string): Promise<void> {
  assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${what}: status ${res.status}`);
  const text = await res.text();
  if (res.status === 200) return;
  const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof parsed.error?.message, 'string', `${what}: ${text}`);
  // Azure's bodies always carry a code; OpenAI's may say null (its 404 does).
  assert.ok(typeof parsed.error?.code === 'string' || parsed.error?.code === null, `${what}: ${text}`);
  assert.doesNotMatch(text, /\n\s+at /, 'a stack trace');
}

describe('fuzz', () => {
  test('random bodies on every generation route', async (t) => {
    const chat = textScript('chat', 'ok');
    const completions = textScript('completions', 'ok');
    const backend = createScriptedBackend((req) => (req.kind === 'chat' ? chat : completions));
    const { url } = await start(t, { backend, maxBodyBytes: 4096 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), body, async (route, text) => {
        const res = await fetch(`${url}${route}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: text,
        });
        await assertWellFormed(res, `${route} ${text.slice(0, 200)}`);
      }),
      { numRuns: 400 },
    );
  });

  test('random paths, query strings and methods', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend(textScript('chat', 'ok')), apiKey: 'k' });
    const segment = fc.oneof(
      fc.constantFrom('openai', 'deployments', 'v1', 'chat', 'completions', 'models', '..', '%2F', '%E0%A4', ''),
      fc.webSegment(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { maxLength: 6 }),
        fc.webQueryParameters(),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
        async (segments, query, method) => {
          const path = `/${segments.join('/')}${query ? `?${query}` : ''}`;
          const res = await fetch(`${url}${path}`, {
            method,
            ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? { body: '{}' } : {}),
          });
          if (method === 'HEAD' || res.status === 204) {
            assert.ok(res.status < 500, `${method} ${path}: ${res.status}`);
            await res.arrayBuffer();
            return;
          }
          await assertWellFormed(res, `${method} ${path}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('random bytes on a raw socket never take the server down', async (t) => {
    const { url } = await start(t, { backend: createScriptedBackend(textScript('chat', 'ok')) });
    const { port } = new URL(url);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.string().map((s) => Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${s}\r\n\r\n`)),
        ),
        async (bytes) => {
          await new Promise<void>((resolve) => {
            const socket = connect(Number(port), '127.0.0.1', () => {
              socket.end(bytes);
            });
            socket.on('error', () => resolve());
            socket.on('close', () => resolve());
            socket.resume();
            socket.setTimeout(2000, () => socket.destroy());
          });
        },
      ),
      { numRuns: 100 },
    );
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
  });
});
