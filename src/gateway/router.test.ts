import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parkedBackend, stillHeld } from '../../test/support/held.js';
import { isPullIterator, NOT_READY } from '../backend.js';
import { createRemoteBackend } from '../backends/remote/index.js';
import {
  createScriptedBackend,
  type Script,
  type ScriptedBackend,
  type ScriptStep,
  textScript,
} from '../backends/scripted/index.js';
import { BadRequestError, ProtocolError, ServerError, StreamTruncatedError, TimeoutError } from '../errors.js';
import { type ChunkBuilder, chunkBuilder } from '../protocol/chunks.js';
import type { RequestCapabilities } from '../protocol/request.js';
import type { AnyChunk } from '../types.js';
import { createMemoryHealth } from './health.js';
import { createRouterBackend } from './router.js';
import type { RouteTarget } from './targets.js';

const ASK = { kind: 'chat' as const, body: { messages: [{ role: 'user' as const, content: 'hi' }] } };

function target(
  id: string,
  script: Script,
  extra: Omit<Partial<RouteTarget>, 'backend'> = {},
): RouteTarget & { backend: ScriptedBackend } {
  const backend = createScriptedBackend(script, { name: id });
  return { priority: 1, weight: 1, timeouts: {}, ...extra, id, backend };
}

async function read(router: ReturnType<typeof createRouterBackend>, signal = new AbortController().signal) {
  const request = { ...ASK, body: { ...ASK.body } } as typeof ASK & { meta?: { target?: string } };
  const chunks: AnyChunk[] = [];
  let error: unknown;
  try {
    for await (const chunk of router.stream(request, signal)) chunks.push(chunk);
  } catch (e) {
    error = e;
  }
  const text = chunks.map((c) => (c.choices[0] as { delta?: { content?: string } })?.delta?.content ?? '').join('');
  return { chunks, error, text, target: request.meta?.target };
}

test('the lowest priority number wins while it is available', async () => {
  const router = createRouterBackend({
    model: 'm',
    targets: [target('second', textScript('chat', 'two'), { priority: 2 }), target('first', textScript('chat', 'one'))],
    random: () => 0.99,
  });
  for (let i = 0; i < 3; i++) assert.equal((await read(router)).target, 'first');
});

test('weighted random among equals: the injected random picks by weight', async () => {
  const targets = [
    target('light', textScript('chat', 'l'), { weight: 1 }),
    target('heavy', textScript('chat', 'h'), { weight: 3 }),
  ];
  const pick = async (r: number) => (await read(createRouterBackend({ model: 'm', targets, random: () => r }))).target;
  assert.equal(await pick(0.2), 'light'); // 0.2 * 4 = 0.8 < 1
  assert.equal(await pick(0.3), 'heavy'); // 1.2 falls in heavy's 3
  assert.equal(await pick(0.99), 'heavy');
});

test('the least busy target goes first among equals, whatever the random says', async () => {
  const busy = target('busy', [...textScript('chat', 'slow answer', { gated: true })]);
  const idle = target('idle', textScript('chat', 'quick'));
  const router = createRouterBackend({ model: 'm', targets: [busy, idle], random: () => 0 });
  const first = router.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]();
  await first.next(); // holds 'busy' (random 0 picks the first)
  assert.equal((await read(router)).target, 'idle');
  busy.backend.open();
  while (!(await first.next()).done) {}
});

test('rpm: a target at its requests per minute is skipped until the minute is over', async () => {
  let now = 0;
  const health = createMemoryHealth({ now: () => now });
  const router = createRouterBackend({
    model: 'm',
    targets: [
      target('capped', textScript('chat', 'a'), { rpm: 2 }),
      target('spare', textScript('chat', 'b'), { priority: 2 }),
    ],
    health,
  });
  const served = [];
  for (let i = 0; i < 3; i++) served.push((await read(router)).target);
  now += 60_000;
  served.push((await read(router)).target);
  assert.deepEqual(served, ['capped', 'capped', 'spare', 'capped']);
});

test('held-back preamble: a failover after the role chunk leaves no trace in the stream', async () => {
  const b = chunkBuilder('chat', { id: 'chatcmpl-a', model: 'x' });
  const failing = target('a', [{ chunk: b.role(0) as AnyChunk }, { error: new ServerError('down', { status: 503 }) }]);
  const router = createRouterBackend({
    model: 'm',
    targets: [failing, target('b', textScript('chat', 'from b'))],
    random: () => 0,
  });
  const { chunks, text, target: served } = await read(router);
  assert.equal(served, 'b');
  assert.equal(text, 'from b');
  assert.ok(
    chunks.every((c) => c.id === 'chatcmpl-scripted'),
    'only b’s chunks',
  );
});

test('400 does not fail over (unless configured); a configured status does', async () => {
  const bad = () => target('a', [{ error: new BadRequestError('bad', { status: 400 }) }]);
  const plain = createRouterBackend({
    model: 'm',
    targets: [bad(), target('b', textScript('chat', 'b'))],
    random: () => 0,
  });
  const refused = await read(plain);
  assert.ok(refused.error instanceof BadRequestError);
  assert.equal(refused.target, 'a');
  const configured = createRouterBackend({
    model: 'm',
    targets: [bad(), target('b', textScript('chat', 'b'))],
    random: () => 0,
    failoverOn: [400, 500],
  });
  assert.equal((await read(configured)).target, 'b');
});

test('after content, a broken stream ends with the typed error and the partial; no other target is asked', async () => {
  const b = target('b', textScript('chat', 'never'));
  const cut = new StreamTruncatedError('no-done', 'cut');
  const router = createRouterBackend({
    model: 'm',
    targets: [target('a', [...textScript('chat', 'Half an').slice(0, 3), { error: cut }]), b],
    random: () => 0,
  });
  const { error, text, target: served } = await read(router);
  assert.equal(error, cut);
  assert.equal(text, 'Half an');
  assert.equal(served, 'a');
  assert.equal(b.backend.requests.length, 0);
});

test("a stream broken after its content counts towards the target's breaker; the client leaving does not", async () => {
  const health = createMemoryHealth({ breaker: { failures: 2, probeAfterMs: 60_000 } });
  const cut = new StreamTruncatedError('no-done', 'cut');
  const half = () => [...textScript('chat', 'Half an').slice(0, 3), { error: cut }];
  const a = target('a', [...half(), ...half()]);
  const router = createRouterBackend({ model: 'm', targets: [a], health });
  assert.equal((await read(router)).error, cut);
  assert.equal(health.available('a'), true, 'one failure of two');
  // A client that leaves mid-stream is no verdict on the target.
  const left = new AbortController();
  for await (const _ of router.stream({ ...ASK, body: { ...ASK.body } }, left.signal)) break;
  assert.equal(health.available('a'), true);
  assert.equal((await read(router)).error, cut);
  assert.equal(health.available('a'), false, 'the second failure opens the breaker');
});

test('every breaker open: 503 naming when the first probe is due', async () => {
  let now = 0;
  const health = createMemoryHealth({ now: () => now, breaker: { failures: 1, probeAfterMs: 4_000 } });
  const down = () => [{ error: new ServerError('down', { status: 500 }) }];
  const router = createRouterBackend({ model: 'm', targets: [target('a', down()), target('b', down())], health });
  await read(router); // both fail once: both open
  now += 1_000;
  const { error } = await read(router);
  assert.ok(error instanceof ServerError);
  assert.equal(error.status, 503);
  assert.equal(error.rateLimit?.retryAfterMs, 3_000);
});

test('events: one record per attempt with its outcome and reason, and one end per request', async () => {
  const attempts: unknown[] = [];
  const ends: unknown[] = [];
  const router = createRouterBackend({
    model: 'm',
    targets: [
      target('a', [{ error: new ServerError('down', { status: 502 }) }]),
      target('b', textScript('chat', 'ok')),
    ],
    random: () => 0,
    events: {
      attempt: (r) => attempts.push([r.targetId, r.attempt, r.outcome, r.reason, r.status]),
      end: (s) => ends.push(s),
    },
  });
  await read(router);
  assert.deepEqual(attempts, [
    ['a', 1, 'failed-over', 'server-error', 502],
    ['b', 2, 'served', undefined, undefined],
  ]);
  assert.deepEqual(ends, [{ model: 'm', targetId: 'b', attempts: 2, outcome: 'served' }]);
});

test('the consumer leaving mid-stream aborts the upstream attempt at once', async () => {
  const a = target('a', textScript('chat', 'a long answer here', { gated: true }));
  const router = createRouterBackend({ model: 'm', targets: [a] });
  const it = router.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]();
  await it.next();
  await it.next();
  await it.return?.();
  await nextTurn();
  // Its signal aborted and its iterator closed: whichever it noticed first names the outcome.
  assert.ok(['aborted', 'cancelled'].includes(a.backend.calls[0]?.outcome ?? ''), a.backend.calls[0]?.outcome);
  assert.equal(a.backend.active, 0);
});

test('a consumer leaving is booked as aborted: before any content, after it, and on a continuing model', async () => {
  const attempts: unknown[] = [];
  const ends: unknown[] = [];
  const events = {
    attempt: (r: { targetId: string; outcome: string }) => attempts.push([r.targetId, r.outcome]),
    end: (e: { outcome: string }) => ends.push(e.outcome),
  };
  // Before content (the role chunk held back while the content is awaited), the client's
  // hang-up reaches the router as the server sends it: the request's signal aborts.
  const early = createRouterBackend({
    model: 'm',
    targets: [target('a', [textScript('chat', 'x')[0] as ScriptStep, { hang: true }])],
    events,
  });
  const hangUp = new AbortController();
  const first = early.stream({ ...ASK }, hangUp.signal)[Symbol.asyncIterator]();
  const pending = first.next();
  await nextTurn();
  hangUp.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  // After content: the relay reads the committed attempt itself.
  const late = createRouterBackend({
    model: 'm',
    targets: [target('b', textScript('chat', 'a long answer here', { gated: true }))],
    events,
  });
  const second = late.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]();
  await second.next();
  await second.return?.();
  // After content on a model that continues on failure: the routing generator reads every chunk.
  const continuing = createRouterBackend({
    model: 'm',
    targets: [target('c', textScript('chat', 'a long answer here', { gated: true }))],
    continueOnFailure: true,
    events,
  });
  const third = continuing.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]();
  await third.next();
  await third.return?.();
  assert.deepEqual(attempts, [
    ['a', 'aborted'],
    ['b', 'aborted'],
    ['c', 'aborted'],
  ]);
  assert.deepEqual(ends, ['aborted', 'aborted', 'aborted']);
});

test('capabilities: what every target honours, with the smallest context size; none when a target states none', () => {
  const limited = (id: string, capabilities: RequestCapabilities): RouteTarget => {
    const limitedTarget = target(id, textScript('chat', id));
    return { ...limitedTarget, backend: Object.assign(limitedTarget.backend, { capabilities }) };
  };
  const small = limited('small', { tools: false, maxTokens: 512 });
  const large = limited('large', { images: false, maxTokens: 4096 });
  assert.deepEqual(createRouterBackend({ model: 'm', targets: [large, small] }).capabilities, {
    tools: false,
    images: false,
    maxTokens: 512,
  });
  // A target that does not know its context size yet: no size is promised for the model.
  const unsized = limited('unsized', { tools: false });
  assert.deepEqual(createRouterBackend({ model: 'm', targets: [small, unsized] }).capabilities, { tools: false });
  // An upstream states no capabilities (it honours everything): the router passes everything on too.
  const upstream = target('upstream', textScript('chat', 'u'));
  assert.equal(createRouterBackend({ model: 'm', targets: [small, upstream] }).capabilities, undefined);
});

test('an upstream that sends only preamble is not held without bound: past a few chunks the client gets them', async () => {
  let reached: () => void = () => {};
  const atGate = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const role = (i: number): AnyChunk => ({
    id: `c${i}`,
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }],
  });
  const endless = {
    name: 'endless',
    async *stream(_request: unknown, signal: AbortSignal) {
      for (let i = 0; i < 5000; i++) yield role(i);
      reached();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    },
  };
  const router = createRouterBackend({
    model: 'm',
    targets: [{ priority: 1, weight: 1, timeouts: {}, id: 'endless', backend: endless } as unknown as RouteTarget],
  });
  const controller = new AbortController();
  const iterator = router.stream({ ...ASK, body: { ...ASK.body } }, controller.signal)[Symbol.asyncIterator]();
  let first: IteratorResult<AnyChunk> | undefined;
  const next = iterator.next().then((step) => {
    first = step;
  });
  // Held without bound, all 5000 chunks are read and the client still has nothing.
  await Promise.race([next, atGate]);
  assert.ok(
    first !== undefined && !first.done,
    'the client has its first chunk while the upstream sends only preamble',
  );
  controller.abort();
  await iterator.return?.().catch(() => {});
});

// --- reading an upstream's stream without a promise per chunk (PullIterator) ---

/** A remote target whose upstream answers with the SSE body `feed` writes (a web body, no network). */
function sseTarget(id: string, extra: Omit<Partial<RouteTarget>, 'backend'> = {}) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
  });
  const backend = createRemoteBackend({
    endpoint: 'http://127.0.0.1:9',
    apiKey: 'k',
    deployment: 'd',
    maxRetries: 0,
    fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
  });
  const send = (json: string) => controller.enqueue(new TextEncoder().encode(`data: ${json}\n\n`));
  const content = (text: string) =>
    send(`{"id":"c","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}}}]}`);
  return {
    target: { priority: 1, weight: 1, timeouts: {}, ...extra, id, backend },
    send,
    content,
    controller: () => controller,
    /** A finished answer's end: the finish chunk, `more` chunks (usage), `[DONE]`, the body's end. */
    end: (...more: string[]) => {
      send('{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}');
      for (const json of more) send(json);
      controller.enqueue(new TextEncoder().encode('data: [DONE]\n\n'));
      controller.close();
    },
  };
}

/**
 * Reads as the server's relay loop does: `take()`, else `wait()` then `take()`, else `next()`,
 * from the first chunk on; counts the `next()` calls.
 */
async function pull(iterator: AsyncIterator<AnyChunk>) {
  assert.ok(isPullIterator(iterator), 'the router iterator is a PullIterator');
  const texts: string[] = [];
  let nexts = 0;
  let error: unknown;
  try {
    for (;;) {
      let item = iterator.take();
      if (item === NOT_READY) {
        await new Promise<void>((wake) => iterator.wait(wake));
        item = iterator.take();
      }
      if (item === NOT_READY) {
        nexts++;
        const step = await iterator.next();
        if (step.done) break;
        item = step.value;
      }
      texts.push((item.choices[0] as { delta?: { content?: string } })?.delta?.content ?? '');
    }
  } catch (e) {
    error = e;
  }
  return { text: texts.join(''), nexts, error };
}

/** A router over `targets` that keeps each attempt's [target, outcome, reason] and each request's end outcome. */
function bookingRouter(targets: RouteTarget[]) {
  const attempts: unknown[][] = [];
  const ends: string[] = [];
  const router = createRouterBackend({
    model: 'm',
    targets,
    events: { attempt: (r) => attempts.push([r.targetId, r.outcome, r.reason]), end: (e) => ends.push(e.outcome) },
  });
  return { router, attempts, ends };
}

test('an upstream stream is read with take() and wait(): no next() per chunk, and the end booked as with next()', async () => {
  const up = sseTarget('a', { tpm: 1_000 });
  const ends: unknown[] = [];
  const router = createRouterBackend({ model: 'm', targets: [up.target], events: { end: (s) => ends.push(s) } });
  const reading = pull(router.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]());
  up.send('{"id":"c","choices":[{"index":0,"delta":{"role":"assistant"}}]}');
  await nextTurn(); // the role chunk read alone, as an upstream sends it before the first token
  for (const part of ['Once', ' upon', ' a', ' time']) {
    up.content(part);
    await nextTurn();
  }
  up.end('{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}');
  const { text, nexts, error } = await reading;
  assert.equal(error, undefined);
  assert.equal(text, 'Once upon a time');
  // The end alone: the role chunk is held back by routing as it comes, the first content chunk
  // is routed in the callback that brought it and taken with the held one, as is every chunk
  // after it.
  assert.equal(nexts, 1);
  assert.deepEqual(ends, [
    {
      model: 'm',
      targetId: 'a',
      attempts: 1,
      outcome: 'served',
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    },
  ]);
});

test("pulled, a failover after a held-back role chunk wakes no one: the next target's first content is the first thing the client takes", async () => {
  const a = sseTarget('a');
  const b = sseTarget('b', { priority: 2 });
  const { router, attempts } = bookingRouter([a.target, b.target]);
  const request = { ...ASK } as typeof ASK & { meta?: { target?: string } };
  const reading = pull(router.stream(request, new AbortController().signal)[Symbol.asyncIterator]());
  const role = '{"id":"c","choices":[{"index":0,"delta":{"role":"assistant"}}]}';
  a.send(role);
  await nextTurn();
  a.send('{"id":"c","choices":[{"index":"zero","delta":{"content":"lost"}}]}');
  await nextTurn();
  b.send(role);
  await nextTurn();
  b.content('From b');
  await nextTurn();
  b.end();
  const { text, nexts, error } = await reading;
  assert.equal(error, undefined);
  assert.equal(text, 'From b');
  // The end alone: neither a's held role chunk, nor its failure, nor b's role chunk woke the client.
  assert.equal(nexts, 1);
  assert.deepEqual(attempts, [
    ['a', 'failed-over', 'malformed'],
    ['b', 'served', undefined],
  ]);
  assert.equal(request.meta?.target, 'b');
});

test('pulled, a hang-up while routing holds the role chunk back ends the stream as aborted, booked once', async () => {
  const up = sseTarget('a');
  const { router, attempts, ends } = bookingRouter([up.target]);
  const hangUp = new AbortController();
  const reading = pull(router.stream({ ...ASK }, hangUp.signal)[Symbol.asyncIterator]());
  up.send('{"id":"c","choices":[{"index":0,"delta":{"role":"assistant"}}]}');
  await nextTurn();
  hangUp.abort();
  const { text, error } = await reading;
  assert.equal(text, '');
  assert.equal((error as Error | undefined)?.name, 'AbortError');
  assert.deepEqual(attempts, [['a', 'aborted', undefined]]);
  assert.deepEqual(ends, ['aborted']);
});

test('a malformed chunk met by take() ends the pulled stream with the typed error and the partial, booked as failed', async () => {
  const up = sseTarget('a');
  const { router, attempts } = bookingRouter([up.target]);
  const reading = pull(router.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]());
  up.content('Half');
  await nextTurn();
  up.content(' an');
  await nextTurn();
  up.send('{"id":"c","choices":[{"index":"zero","delta":{"content":"!"}}]}');
  const { text, error } = await reading;
  assert.equal(text, 'Half an');
  assert.ok(error instanceof ProtocolError, String(error));
  assert.equal(
    (error.partial as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
    'Half an',
  );
  assert.deepEqual(attempts, [['a', 'failed', 'malformed']]);
});

test('pulled with wait(), an upstream that stalls after content hits the idle limit', async () => {
  const up = sseTarget('a', { timeouts: { idleMs: 60 } });
  const router = createRouterBackend({ model: 'm', targets: [up.target] });
  const reading = pull(router.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]());
  up.content('Still');
  await nextTurn();
  up.content(' here');
  const { text, error } = await reading;
  assert.equal(text, 'Still here');
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.phase, 'idle');
});

test('the held preamble and the first content chunk come out in order, read with next() alone or pulled', async () => {
  for (const reader of ['next', 'pull'] as const) {
    const up = sseTarget('a');
    const router = createRouterBackend({ model: 'm', targets: [up.target] });
    const iterator = router.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]();
    up.send('{"id":"","choices":[],"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}');
    up.send('{"id":"c","choices":[{"index":0,"delta":{"role":"assistant"}}]}');
    up.content('One');
    up.content(' two');
    up.end();
    if (reader === 'pull') {
      const { text, error } = await pull(iterator);
      assert.equal(error, undefined);
      assert.equal(text, 'One two');
      continue;
    }
    const kinds: string[] = [];
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
      const chunk = step.value;
      const delta = (chunk.choices[0] as { delta?: { role?: string; content?: string } } | undefined)?.delta;
      kinds.push(chunk.prompt_filter_results ? 'filter' : (delta?.role ?? delta?.content ?? 'end'));
    }
    assert.deepEqual(kinds, ['filter', 'assistant', 'One', ' two', 'end']);
  }
});

test('while the client reads an attempt itself, the router holds none of the chunks it handed over', async (t) => {
  // With and without preamble: both ways a generator hands the client its first chunks.
  for (const preamble of [true, false]) {
    const first: ((build: ChunkBuilder<'chat'>) => AnyChunk)[] = [(build) => build.content(0, 'One')];
    if (preamble) first.unshift(promptFilterChunk, (build) => build.role() as AnyChunk);
    const { backend, made, open } = parkedBackend(first);
    const count = first.length;
    const router = createRouterBackend({
      model: 'm',
      targets: [{ id: 'up', priority: 1, weight: 1, timeouts: {}, backend }],
    });
    const iterator = router.stream({ ...ASK }, new AbortController().signal)[Symbol.asyncIterator]();
    t.after(open); // a failed assertion must not leave the upstream parked
    assert.deepEqual(await kindsOf(iterator, count), preamble ? ['filter', 'assistant', 'One'] : ['One']);
    // The client waits for the next chunk, as a server does while the upstream is silent.
    const next = iterator.next();
    assert.equal(made.length, count);
    assert.deepEqual(
      await stillHeld(made),
      made.map(() => false),
    );
    open();
    assert.equal((await next).done, false);
    assert.equal((await iterator.next()).done, true);
  }
});

/** Azure's prompt-filter chunk (no choices), from the stream's own builder. */
function promptFilterChunk(build: ChunkBuilder<'chat'>): AnyChunk {
  return {
    ...build.content(0, ''),
    choices: [],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
  };
}

/** What the first `count` chunks are (no chunk kept: the caller's frame must not hold one). */
async function kindsOf(iterator: AsyncIterator<AnyChunk>, count: number): Promise<string[]> {
  const kinds: string[] = [];
  for (let i = 0; i < count; i++) {
    const step = await iterator.next();
    const chunk = step.value as AnyChunk;
    const delta = (chunk.choices[0] as { delta?: { role?: string; content?: string } } | undefined)?.delta;
    kinds.push(chunk.prompt_filter_results ? 'filter' : (delta?.role ?? delta?.content ?? 'end'));
  }
  return kinds;
}
