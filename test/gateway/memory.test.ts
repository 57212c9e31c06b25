// What an open gateway stream keeps in memory. A gateway holds hundreds of streams open for
// minutes, and each request may carry a whole conversation (retrieved documents make prompts of
// tens or hundreds of KB), which a pipe would not keep at all. Once the router has committed to
// a target, nothing needs the request body any more: the upstream has it, and a failover before
// the first token is no longer possible. (A model that continues on failure keeps it: it may
// ask another target to continue.)
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import type { Backend } from '../../src/backend.js';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { createMemoryHealth } from '../../src/gateway/health.js';
import { openKeyAccess } from '../../src/gateway/key-access.js';
import { hashKey } from '../../src/gateway/keys.js';
import { createRouterBackend } from '../../src/gateway/router.js';
import type { ServerOptions } from '../../src/server/index.js';
import { chatChunks, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { responsesEvents } from '../../src/testing/responses-events.js';
import { parkedBackend, stillHeld } from '../support/held.js';
import { azureUrl, frameReader, post, start } from '../support/server.js';

const MODEL = 'gpt-4o';
const KEY = 'sk-sluice-MEMORY-TEST-0123456789abcdefghij';

/**
 * A gateway over one upstream whose stream stops after its first content chunk until `go` is
 * released; the router is wrapped so that the test can follow, weakly, each request body it got.
 */
async function gatewayWithParkedUpstream(
  t: TestContext,
  options: Partial<ServerOptions> = {},
  { routed = true }: { routed?: boolean } = {},
) {
  const items = chatChunks(['Hel', 'lo']);
  // Prompt filter, role, 'Hel' | wait | 'lo', finish, [DONE].
  items.splice(3, 0, { wait: 'go' });
  // The same answer as the Responses API's events, waiting after its first text delta.
  const events = responsesEvents({ texts: ['Hel', 'lo'] });
  const firstDelta = events.findIndex((item) => 'event' in item && item.event.type === 'response.output_text.delta');
  events.splice(firstDelta + 1, 0, { wait: 'go' });
  const scenario = (request: { kind?: string }) => stream(request.kind === 'responses' ? events : items);
  // Through the router the target's deployment (`d`) is asked; without, the one the client named.
  const upstream = await startAzureServer({ scenarios: { d: scenario, [MODEL]: scenario } });
  t.after(() => upstream.close());
  const remote = createRemoteBackend({
    endpoint: upstream.url,
    apiKey: 'upstream-key',
    deployment: 'd',
    maxRetries: 0,
  });
  const router = routed
    ? createRouterBackend({
        model: MODEL,
        targets: [
          { id: `${MODEL}/0:azure:127.0.0.1:${upstream.port}`, backend: remote, priority: 1, weight: 1, timeouts: {} },
        ],
        health: createMemoryHealth(),
        random: () => 0,
      })
    : remote;
  const bodies: WeakRef<object>[] = [];
  // Holds nothing of a request itself: its conversation (what a copy of the body shares with the
  // body the client sent) is followed weakly.
  const spy: Backend = {
    name: router.name,
    stream(request, signal) {
      bodies.push(new WeakRef((request.body as { messages: object }).messages));
      return router.stream(request, signal);
    },
    responses(request, signal) {
      bodies.push(new WeakRef(request.body.input as object));
      return router.responses!(request, signal);
    },
  };
  const { url } = await start(t, { deployments: { [MODEL]: spy }, ...options });
  return { url, upstream, bodies };
}

/** A conversation of about 64 KB, as a retrieval-augmented prompt may be. */
function longConversation() {
  const passage = 'A passage retrieved for the question. '.repeat(100);
  return Array.from({ length: 16 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: passage }));
}

/** Streams a long conversation; once its first content arrived, asks whether its body is still held. */
async function bodyHeldMidStream(
  gateway: Awaited<ReturnType<typeof gatewayWithParkedUpstream>>,
  headers: Record<string, string> = {},
): Promise<{ held: boolean; text: string }> {
  const res = await post(azureUrl(gateway.url, MODEL, 'chat'), { messages: longConversation(), stream: true }, headers);
  assert.equal(res.status, 200);
  const frames = frameReader(res);
  let text = '';
  let held: boolean | undefined;
  for (let frame = await frames.next(); frame !== undefined; frame = await frames.next()) {
    const data = frame.slice('data: '.length);
    if (data === '[DONE]') break;
    const content = (JSON.parse(data) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta
      ?.content;
    if (content) text += content;
    if (content === 'Hel') {
      // The stream is open and the upstream silent: what holds the body now holds it for good.
      assert.equal(gateway.bodies.length, 1);
      [held] = await stillHeld(gateway.bodies);
      gateway.upstream.release('go');
    }
  }
  assert.notEqual(held, undefined, 'the first content chunk never came');
  return { held: held!, text };
}

test('an open gateway stream lets go of its request body once the router committed to a target', async (t) => {
  const gateway = await gatewayWithParkedUpstream(t);
  const { held, text } = await bodyHeldMidStream(gateway);
  assert.equal(held, false, 'the open stream still holds the request body');
  assert.equal(text, 'Hello');
});

test('a server fronting one upstream without a router lets go of the request body just the same', async (t) => {
  const gateway = await gatewayWithParkedUpstream(t, {}, { routed: false });
  const { held, text } = await bodyHeldMidStream(gateway);
  assert.equal(held, false, 'the open stream still holds the request body');
  assert.equal(text, 'Hello');
});

test("with per-key access, the key's account of an open stream does not hold its request body either", async (t) => {
  const access = await openKeyAccess({ keys: [{ name: 'team-a', keyHash: hashKey(KEY), admin: false, limits: {} }] });
  t.after(() => access.close());
  const gateway = await gatewayWithParkedUpstream(t, { access: access.access });
  const { held, text } = await bodyHeldMidStream(gateway, { 'api-key': KEY });
  assert.equal(held, false, 'the open stream still holds the request body');
  assert.equal(text, 'Hello');
});

test('a Responses stream lets go of its input once the router committed to a target', async (t) => {
  const gateway = await gatewayWithParkedUpstream(t);
  const res = await post(`${gateway.url}/openai/v1/responses`, {
    model: MODEL,
    input: longConversation(),
    stream: true,
  });
  assert.equal(res.status, 200);
  const frames = frameReader(res);
  let text = '';
  let held: boolean | undefined;
  for (let frame = await frames.next(); frame !== undefined; frame = await frames.next()) {
    const data = frame.split('\n').find((line) => line.startsWith('data: '));
    if (data === undefined) continue;
    const event = JSON.parse(data.slice('data: '.length)) as { type: string; delta?: string };
    if (event.type !== 'response.output_text.delta') continue;
    text += event.delta;
    if (event.delta === 'Hel') {
      // The stream is open and the upstream silent: what holds the input now holds it for good.
      assert.equal(gateway.bodies.length, 1);
      [held] = await stillHeld(gateway.bodies);
      gateway.upstream.release('go');
    }
  }
  assert.equal(held, false, 'the open stream still holds the request input');
  assert.equal(text, 'Hello');
});

test('a Responses answer built from a chat stream, not stored, lets go of its conversation while it streams', async (t) => {
  // A target without the Responses API (the embedded model's way): the server translates.
  const parked = parkedBackend([(build) => build.role(0)!, (build) => build.content(0, 'Hel')]);
  const conversations: WeakRef<object>[] = [];
  const chat: Backend = {
    name: 'chat',
    stream(request, signal) {
      conversations.push(new WeakRef((request.body as { messages: object }).messages));
      return parked.backend.stream(request, signal);
    },
  };
  const { url } = await start(t, { deployments: { [MODEL]: chat } });
  const res = await post(`${url}/openai/v1/responses`, {
    model: MODEL,
    input: longConversation(),
    stream: true,
    store: false,
  });
  assert.equal(res.status, 200);
  const frames = frameReader(res);
  let held: boolean | undefined;
  for (let frame = await frames.next(); frame !== undefined; frame = await frames.next()) {
    if (held === undefined && frame.includes('"delta":"Hel"')) {
      [held] = await stillHeld(conversations);
      parked.open();
    }
  }
  assert.equal(held, false, 'the open stream still holds the conversation');
});
