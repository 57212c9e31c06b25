// Streaming flow over real sockets: incremental delivery, client hang-up, heartbeats,
// backpressure from a slow reader, shutdown.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import type { Backend, BackendRequest } from '../../src/backend.js';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { createServer } from '../../src/server/index.js';
import type { AnyChunk, ApiKind, ApiTypes } from '../../src/types.js';
import { parkedBackend, stillHeld } from '../support/held.js';
import { allFrames, azureUrl, dataOf, frameReader, metrics, post, start } from '../support/server.js';

const chatBody = { messages: [{ role: 'user', content: 'hi' }], stream: true };

const contentOf = (frame: string | undefined) =>
  frame?.startsWith('data: {')
    ? ((JSON.parse(frame.slice(6)) as AnyChunk).choices[0] as { delta?: { content?: string } } | undefined)?.delta
        ?.content
    : undefined;

describe('incremental delivery', () => {
  test('the first content chunk reaches the client before the backend has produced the last one', async (t) => {
    const steps = textScript('chat', 'alpha beta gamma delta');
    // role, 4 content chunks, finish: hold back everything from the last content chunk on.
    const backend = createScriptedBackend([...steps.slice(0, 4), { gate: true }, ...steps.slice(4)]);
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'd', 'chat'), chatBody);
    const reader = frameReader(res);
    assert.match((await reader.next()) ?? '', /prompt_filter_results/);
    await reader.next(); // role
    assert.equal(contentOf(await reader.next()), 'alpha');
    // The client holds 'alpha' while the backend is still parked before 'delta'.
    assert.equal(backend.waiting, 1);
    assert.equal(backend.calls[0]?.chunks, 4);
    backend.open();
    const rest: string[] = [];
    for (let f = await reader.next(); f !== undefined; f = await reader.next()) rest.push(f);
    assert.deepEqual(rest.map(contentOf).slice(0, 3), [' beta', ' gamma', ' delta']);
    assert.equal(rest.at(-1), 'data: [DONE]');
    assert.equal(backend.calls[0]?.outcome, 'done');
  });

  test('with two streams open (frames gathered to the end of their turn), each client gets its first content chunk while the backend is parked', async (t) => {
    const steps = textScript('chat', 'alpha beta gamma delta');
    const backend = createScriptedBackend([...steps.slice(0, 4), { gate: true }, ...steps.slice(4)]);
    const { url } = await start(t, { backend });
    const readers = await Promise.all(
      [0, 1].map(async () => frameReader(await post(azureUrl(url, 'd', 'chat'), chatBody))),
    );
    for (const reader of readers) {
      assert.match((await reader.next()) ?? '', /prompt_filter_results/);
      await reader.next(); // role
      assert.equal(contentOf(await reader.next()), 'alpha');
    }
    // Both clients hold 'alpha' while both generations are parked before 'delta'.
    assert.equal(backend.waiting, 2);
    backend.open();
    for (const reader of readers) {
      const rest: string[] = [];
      for (let f = await reader.next(); f !== undefined; f = await reader.next()) rest.push(f);
      assert.deepEqual(rest.map(contentOf).slice(0, 3), [' beta', ' gamma', ' delta']);
      assert.equal(rest.at(-1), 'data: [DONE]');
    }
    assert.deepEqual(
      backend.calls.map((c) => c.outcome),
      ['done', 'done'],
    );
  });
});

test('while the backend is silent, the server holds none of the chunks it relayed', async (t) => {
  const { backend, made, open } = parkedBackend([
    (build) => build.role() as AnyChunk,
    (build) => build.content(0, 'alpha'),
  ]);
  const { url } = await start(t, { backend });
  t.after(open); // a failed assertion must not leave the generation parked
  const reader = frameReader(await post(azureUrl(url, 'd', 'chat'), chatBody));
  assert.match((await reader.next()) ?? '', /prompt_filter_results/);
  await reader.next(); // role
  assert.equal(contentOf(await reader.next()), 'alpha');
  assert.equal(made.length, 2);
  assert.deepEqual(await stillHeld(made), [false, false]);
  open();
  const rest: string[] = [];
  for (let f = await reader.next(); f !== undefined; f = await reader.next()) rest.push(f);
  assert.equal(rest.at(-1), 'data: [DONE]');
});

describe('client hang-up', () => {
  test('streaming: the backend is aborted at once, counted in /metrics, and stops producing', async (t) => {
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    const backend = createScriptedBackend(textScript('chat', words, { delayMs: 5 }));
    const { url } = await start(t, { backend });
    const ac = new AbortController();
    const res = await post(azureUrl(url, 'd', 'chat'), chatBody, {}, ac.signal);
    const reader = frameReader(res);
    let contents = 0;
    while (contents < 3) if (contentOf(await reader.next())) contents++;
    ac.abort();
    await waitFor(() => backend.aborts === 1);
    const call = backend.calls[0]!;
    assert.equal(call.outcome, 'aborted');
    const producedAtAbort = call.chunks;
    assert.ok(producedAtAbort < 50, `backend produced ${producedAtAbort} chunks`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(call.chunks, producedAtAbort, 'no chunk produced after the abort');
    const m = await metrics(url);
    assert.equal(m.get('sluice_client_disconnects_total'), 1);
    assert.equal(m.get('sluice_active_streams'), 0);
    assert.equal(backend.active, 0);
  });

  test('non-streaming: a hang-up aborts the generation too', async (t) => {
    const backend = createScriptedBackend([...textScript('chat', 'a b').slice(0, 2), { hang: true }]);
    const { url } = await start(t, { backend });
    const ac = new AbortController();
    const pending = post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream: false }, {}, ac.signal);
    await waitFor(() => backend.calls[0]?.chunks === 2);
    ac.abort();
    await assert.rejects(pending);
    await waitFor(() => backend.aborts === 1);
    const m = await metrics(url);
    assert.equal(m.get('sluice_client_disconnects_total'), 1);
    assert.equal(m.get('sluice_http_requests_total{route="azure_chat",status="499"}'), 1);
  });
});

describe('heartbeats', () => {
  test('while the first token is slow: `: keep-alive` comments, then the stream as usual', async (t) => {
    const backend = createScriptedBackend([{ delay: 150 }, ...textScript('chat', 'late words')]);
    const { url } = await start(t, { backend, heartbeatMs: 20 });
    const res = await post(azureUrl(url, 'd', 'chat'), chatBody);
    assert.equal(res.status, 200);
    const frames = await allFrames(res);
    const firstContent = frames.findIndex((f) => contentOf(f) !== undefined);
    const beats = frames.slice(0, firstContent).filter((f) => f === ': keep-alive');
    assert.ok(beats.length >= 2, `heartbeats before the first chunk: ${beats.length}`);
    // Heartbeats first; the prompt-filter chunk still precedes the backend's first chunk.
    assert.equal(frames[0], ': keep-alive');
    assert.match(frames.find((f) => f.startsWith('data:')) ?? '', /prompt_filter_results/);
    assert.equal(frames.at(-1), 'data: [DONE]');
    assert.ok((await metrics(url)).get('sluice_heartbeats_total')! >= 2);
  });

  test('also during a long pause mid-stream; none when chunks flow faster than the interval', async (t) => {
    const steps = textScript('chat', 'a b');
    const backend = createScriptedBackend((_req, call) =>
      call === 0 ? [...steps.slice(0, 2), { delay: 150 }, ...steps.slice(2)] : steps,
    );
    const { url } = await start(t, { backend, heartbeatMs: 20 });
    const paused = await allFrames(await post(azureUrl(url, 'd', 'chat'), chatBody));
    const firstBeat = paused.indexOf(': keep-alive');
    assert.ok(firstBeat > paused.findIndex((f) => contentOf(f) === 'a'), 'heartbeat after the first chunk');
    const quick = await allFrames(await post(azureUrl(url, 'd', 'chat'), chatBody));
    assert.equal(dataOf(quick).comments, 0);
  });

  test('an error after a heartbeat committed the 200: an error frame, no [DONE]', async (t) => {
    const { OverloadedError } = await import('../../src/errors.js');
    const backend = createScriptedBackend([{ delay: 80 }, { error: () => new OverloadedError(1000) }]);
    const { url } = await start(t, { backend, heartbeatMs: 20 });
    const res = await post(azureUrl(url, 'd', 'chat'), chatBody);
    assert.equal(res.status, 200);
    const { chunks, done, comments } = dataOf(await allFrames(res));
    assert.ok(comments >= 1);
    assert.equal(done, false);
    assert.equal((chunks.at(-1) as unknown as { error: { code: string } }).error.code, '429');
  });
});

describe('backpressure', () => {
  test('a reader that stops reading stops the backend: pulls stay bounded and stop growing', async (t) => {
    const piece = 'x'.repeat(64 * 1024);
    const state = { pulled: 0, aborted: false };
    const backend: Backend = {
      name: 'firehose',
      stream<K extends ApiKind>(_r: BackendRequest<K>, signal: AbortSignal): AsyncIterable<ApiTypes[K]['chunk']> {
        return (async function* () {
          for (let i = 0; i < 100_000 && !signal.aborted; i++) {
            state.pulled++;
            yield {
              id: 'cmpl-1',
              object: 'text_completion',
              created: 0,
              model: 'm',
              choices: [{ index: 0, text: piece, finish_reason: null, logprobs: null }],
            } as ApiTypes[K]['chunk'];
          }
          state.aborted = signal.aborted;
        })();
      },
    };
    const { url } = await start(t, { backend });
    const body = JSON.stringify({ prompt: 'p', stream: true });
    const req = request(azureUrl(url, 'd', 'completions'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.end(body);
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => req.on('response', resolve));
    let received = 0;
    res.on('data', (d: Buffer) => {
      received += d.length;
    });
    await waitFor(() => received > 1024 * 1024);
    res.pause();
    // Let every buffer between backend and reader fill up, then watch the pulls.
    await waitFor(() => false, 400).catch(() => {});
    const settled = state.pulled;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(state.pulled, settled, 'the backend kept being pulled while nobody read');
    // Bounded by socket buffers, not by the 6.5 GB the backend could produce.
    const inFlightMiB = ((settled * piece.length - received) / 1024 / 1024).toFixed(1);
    assert.ok(settled * piece.length - received < 64 * 1024 * 1024, `${inFlightMiB} MiB ahead of the reader`);
    // Reading again lets generation continue.
    res.resume();
    await waitFor(() => state.pulled > settled + 10);
    req.destroy();
    await waitFor(() => state.aborted);
  });
});

describe('shutdown', () => {
  test('close() ends running streams with an error frame and aborts their backends', async () => {
    const backend = createScriptedBackend([...textScript('chat', 'a b').slice(0, 2), { hang: true }]);
    const server = createServer({ backend });
    const { url } = await server.listen();
    const res = await post(azureUrl(url, 'd', 'chat'), chatBody);
    const reader = frameReader(res);
    await reader.next();
    await reader.next();
    const closing = server.close(1000);
    const rest: string[] = [];
    for (let f = await reader.next(); f !== undefined; f = await reader.next()) rest.push(f);
    await closing;
    assert.equal(backend.aborts, 1);
    assert.equal(rest.includes('data: [DONE]'), false);
    const last = JSON.parse(rest.at(-1)!.slice(6)) as { error: { code: string; message: string } };
    assert.equal(last.error.code, 'ServiceUnavailable');
    assert.match(last.error.message, /shutting down/);
  });
});

/** Polls `check` every 5 ms; rejects after `ms`. */
async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
