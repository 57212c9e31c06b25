// ResponseStream over any Backend (streamFromBackend), and the remote backend (the client
// behind the Backend seam) passing the shared conformance suite against the test server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { createScriptedBackend, textScript } from '../../src/backends/scripted/index.js';
import { AbortError, ErrorCodes, ServerError, StreamTruncatedError, TimeoutError } from '../../src/errors.js';
import { streamFromBackend } from '../../src/index.js';
import { iterateSse } from '../../src/sse/index.js';
import {
  type AzureServer,
  chatChunks,
  completionChunks,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { runBackendConformance } from '../../src/testing/conformance.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../src/types.js';
import { drain, KEY, textOf } from '../support/client.js';

const chat = { kind: 'chat' as const, body: { messages: [{ role: 'user' as const, content: 'hi' }] } };
const story = 'Once upon a time there was a cat';

describe('streamFromBackend', () => {
  test('the same stream object over a backend: chunks, text, completed end, metrics', async () => {
    const backend = createScriptedBackend(textScript('chat', story, { delayMs: 1 }));
    const s = streamFromBackend(backend, { ...chat, body: { ...chat.body, stream_options: { include_usage: true } } });
    const deltas: string[] = [];
    for await (const d of s.textDeltas()) deltas.push(d.text);
    assert.equal(deltas.join(''), story);
    const { end, response, metrics } = await s.final();
    assert.deepEqual(end, { state: 'completed' });
    assert.equal(textOf(response), story);
    assert.equal(metrics.chunks, deltas.length + 3, 'role + content + finish + usage');
    assert.equal(metrics.usage?.completion_tokens, deltas.length);
    assert.ok(metrics.tokensPerSecond !== undefined && metrics.tokensPerSecond > 0);
    assert.equal((await s.meta).status, 200);
  });

  test('incremental: the first chunk is handed over before the backend produced the next', async () => {
    let produced = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const backend = {
      name: 'gated',
      async *stream() {
        for (const step of textScript('completions', 'one two')) {
          if (!('chunk' in step) || step.ifUsageRequested) continue;
          if (produced === 1) await gate;
          produced++;
          yield step.chunk;
        }
      },
    };
    const s = streamFromBackend(backend as never, { kind: 'completions', body: { prompt: 'x' } });
    const texts: string[] = [];
    for await (const { text } of s.textDeltas()) {
      texts.push(text);
      if (texts.length === 1) {
        assert.equal(produced, 1, 'the backend is still waiting to produce chunk 2');
        release();
      }
    }
    assert.deepEqual(texts, ['one', ' two']);
  });

  test('idle time-out on a hanging backend: TimeoutError with the partial; the backend is told to stop', async () => {
    const steps = textScript('chat', 'Hello big world');
    const backend = createScriptedBackend([...steps.slice(0, 3), { hang: true }]);
    const s = streamFromBackend(backend, chat, { timeouts: { idleMs: 60 } });
    const { error } = await drain(s);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.phase, 'idle');
    assert.equal(textOf(error.partial), 'Hello big');
    assert.equal((await s.final()).end.state, 'failed');
    await waitFor(() => backend.calls[0]?.outcome === 'aborted');
    assert.ok(backend.lastAbortReason instanceof TimeoutError, 'the backend saw the time-out as the abort reason');
  });

  test('abort, a backend error and a backend that just stops are reported as such', async () => {
    const slow = createScriptedBackend(textScript('chat', 'a b c d e f g', { delayMs: 20 }));
    const ac = new AbortController();
    const s = streamFromBackend(slow, chat, { signal: ac.signal });
    setTimeout(() => ac.abort('stop'), 50);
    const aborted = await drain(s);
    assert.ok(aborted.error instanceof AbortError);
    assert.deepEqual((await s.final()).end, { state: 'aborted', reason: 'stop' });
    await waitFor(() => slow.calls[0]?.outcome === 'aborted');

    const boom = new ServerError('model crashed', { status: 500 });
    const failing = createScriptedBackend([...textScript('chat', 'x y').slice(0, 2), { error: boom }]);
    const f = streamFromBackend(failing, chat);
    const failed = await drain(f);
    assert.equal(failed.error, boom);
    assert.equal(textOf((failed.error as ServerError).partial), 'x');

    const unfinished = createScriptedBackend(textScript('chat', 'x y').slice(0, 3)); // no finish chunk
    const u = streamFromBackend(unfinished, chat);
    const cut = await drain(u);
    assert.ok(cut.error instanceof StreamTruncatedError);
    assert.equal(cut.error.reason, 'unfinished-choice');
    assert.equal(cut.error.code, ErrorCodes.STREAM_TRUNCATED);
  });

  test('toSSE over a backend: what a server would relay', async () => {
    const backend = createScriptedBackend(textScript('completions', 'a b'));
    const s = streamFromBackend(backend, { kind: 'completions', body: { prompt: 'p' } });
    const data: string[] = [];
    for await (const e of iterateSse(s.toSSE())) data.push(e.data);
    assert.equal(data.at(-1), '[DONE]');
    assert.deepEqual(
      data.slice(0, -1).map((d) => JSON.parse(d).choices[0].text),
      ['a', ' b', ''],
    );
  });
});

describe('createRemoteBackend', () => {
  test('forwards upstream chunks unchanged and the addressed deployment', async (t) => {
    const server = await startAzureServer({ apiKey: KEY, scenarios: { up: stream(chatChunks(['rem', 'ote'])) } });
    t.after(() => server.close());
    const backend = createRemoteBackend({ endpoint: server.url, apiKey: KEY, deployment: 'configured' });
    assert.equal(backend.name, `azure:${server.url}`);
    assert.deepEqual(
      (await backend.models?.())?.map((m) => m.id),
      ['configured'],
    );
    const chunks = (await drain(backend.stream({ ...chat, deployment: 'up' }, new AbortController().signal))).items;
    assert.equal(chunks.length, 5);
    assert.deepEqual(chunks[0]?.choices, [], 'the prompt-filter chunk too');
    assert.equal(server.requests[0]?.deployment, 'up');
    const missing = await drain(
      createRemoteBackend({ endpoint: server.url }).stream(chat, new AbortController().signal),
    );
    assert.equal((missing.error as { code?: string }).code, ErrorCodes.CONFIG);
  });
});

// The shared suite, against the Azure-shaped server replaying text like a model would.
let upstream: AzureServer;
before(async () => {
  upstream = await startAzureServer({
    apiKey: KEY,
    fallback: (request) => {
      const body = request.body as (ChatCompletionRequest & CompletionRequest) | undefined;
      const words = Array.from({ length: Math.min(body?.max_tokens ?? 16, 60) }, (_, i) => ` w${i}`);
      const usage = body?.stream_options?.include_usage
        ? { prompt_tokens: 5, completion_tokens: words.length, total_tokens: 5 + words.length }
        : undefined;
      const items = request.kind === 'completions' ? completionChunks(words, { usage }) : chatChunks(words, { usage });
      // Paced like a model, so an abort lands mid-stream.
      return stream(items.flatMap((item) => [{ delay: 2 }, item]));
    },
  });
});
after(() => upstream.close());
runBackendConformance('remote (Azure-shaped test server)', () =>
  createRemoteBackend({ endpoint: upstream.url, apiKey: KEY, deployment: 'any' }),
);

async function waitFor(check: () => boolean, ms = 2000): Promise<void> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
