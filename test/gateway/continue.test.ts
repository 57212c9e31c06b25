// continue_on_failure: a stream that breaks after content continues on another target with
// the partial as prefill (chat: an assistant message; completions: appended to the prompt),
// re-spelled under the first answer's id, so the client reads one seamless stream. Never
// inside a tool call. The splice on the embedded model is checked token for token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalBackend, type LocalBackend } from '../../src/backends/local/index.js';
import { createClient } from '../../src/client/client.js';
import { chunkBuilder, safeFilterResults } from '../../src/protocol/chunks.js';
import { chatChunks, completionChunks, stream } from '../../src/testing/azure-server.js';
import type { AnyChunk, CompletionRequest } from '../../src/types.js';
import { ask, CLIENTS, MODEL, startGateway } from '../support/gateway.js';
import { allFrames, azureUrl, dataOf, post } from '../support/server.js';

/** The first half of an answer, then the socket is destroyed. */
function cutAfter(items: ReturnType<typeof chatChunks>, kept: number) {
  return stream([...items.slice(0, kept), { delay: 50 }, { cut: true }]);
}

describe('continue_on_failure', () => {
  for (const client of CLIENTS) {
    test(`chat: the answer continues on the next target as one stream, the partial as an assistant prefix (${client})`, async (t) => {
      const first = chatChunks(['Once', ' upon'], { finishReason: null, done: false });
      const rest = stream(chatChunks([' a', ' time'], { id: 'chatcmpl-B', created: 1_800_000_000 }));
      const gw = await startGateway(t, [cutAfter(first, first.length), rest], { continueOnFailure: true });
      const outcome = await ask(client, gw.url, { messages: [{ role: 'user', content: 'Tell me' }], max_tokens: 10 });
      assert.equal(outcome.error, undefined);
      assert.equal(outcome.text, 'Once upon a time');
      assert.equal(outcome.target, gw.targets[0]?.id, 'the header names the target that began the answer');
      const continued = gw.upstreams[1]?.requests[0]?.body as { messages: unknown[]; max_tokens: number };
      assert.deepEqual(continued.messages.at(-1), { role: 'assistant', content: 'Once upon' });
      assert.equal(continued.max_tokens, 8, 'the budget less the two tokens already sent');
      assert.deepEqual(
        gw.attempts.map((r) => [r.outcome, r.reason]),
        [
          ['failed-over', 'cut'],
          ['served', undefined],
        ],
      );
    });
  }

  test('chat frames: one prompt-filter chunk, one role chunk, every chunk under the first id, then [DONE]', async (t) => {
    const first = chatChunks(['Once', ' upon'], { finishReason: null, done: false });
    const rest = stream(chatChunks([' a', ' time'], { id: 'chatcmpl-B', created: 1_800_000_000 }));
    const gw = await startGateway(t, [cutAfter(first, first.length), rest], { continueOnFailure: true });
    const res = await post(azureUrl(gw.url, MODEL, 'chat'), {
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const { chunks, done } = dataOf(await allFrames(res));
    assert.equal(done, true);
    const answer = chunks.filter((c: AnyChunk) => c.choices.length > 0);
    assert.equal(chunks.length - answer.length, 1, 'one prompt-filter chunk');
    assert.ok(answer.every((c) => c.id === 'chatcmpl-test' && c.created === 1_700_000_000));
    assert.equal(answer.filter((c) => (c.choices[0] as { delta?: { role?: string } }).delta?.role).length, 1);
  });

  test('never inside a tool call: the stream fails explicitly and no other target is asked', async (t) => {
    const chunks = chunkBuilder('chat', {
      id: 'chatcmpl-tool',
      model: 'gpt-4o',
      contentFilterResults: safeFilterResults(),
    });
    const call = (args: string, head = false) => ({
      chunk: chunks.chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              head
                ? { index: 0, id: 'call_1', type: 'function' as const, function: { name: 'weather', arguments: args } }
                : { index: 0, function: { arguments: args } },
            ],
          },
          finish_reason: null,
        },
      ]),
    });
    const upstream = stream([
      { chunk: chunks.role(0) },
      call('{"city":', true),
      call('"Par'),
      { delay: 50 },
      { cut: true },
    ]);
    const gw = await startGateway(t, [upstream, stream(chatChunks(['never']))], { continueOnFailure: true });
    for (const client of CLIENTS) {
      const outcome = await ask(client, gw.url);
      assert.ok(outcome.error, `${client}: the stream failed`);
    }
    assert.equal(gw.upstreams[1]?.requests.length, 0);
    assert.equal(gw.attempts.at(-1)?.reason, 'cut');
  });
});

describe('continue_on_failure on the embedded model', () => {
  let local: LocalBackend;
  before(async () => {
    local = createLocalBackend({ sequences: 1 });
    await local.load();
  });
  after(() => local.close?.());

  test('completions: partial + the model’s own continuation of prompt + partial, token for token', async (t) => {
    const pieces = ['Once', ' upon', ' a', ' time', ',', ' there', ' was', ' a', ' little'];
    const partial = pieces.join('');
    const gw = await startGateway(t, [cutAfter(completionChunks(pieces, { finishReason: null, done: false }), 10)], {
      continueOnFailure: true,
      backends: [local],
    });
    const ask: CompletionRequest = { prompt: 'A story: ', max_tokens: 40, temperature: 0, seed: 3 };
    // What the model writes when asked to go on from the partial, on its own.
    let alone = '';
    const direct = { ...ask, prompt: ask.prompt + partial, max_tokens: 40 - pieces.length, stream: true };
    for await (const chunk of local.stream({ kind: 'completions', body: direct }, new AbortController().signal)) {
      alone += chunk.choices[0]?.text ?? '';
    }
    assert.ok(alone.length > 0);

    const client = createClient({ endpoint: gw.url, apiKey: 'k', deployment: MODEL, maxRetries: 0 });
    const s = client.completions.stream(ask);
    const result = await s.final();
    assert.equal(result.error, undefined);
    assert.equal(result.response.choices[0]?.text, partial + alone);
    assert.equal(result.response.id, 'cmpl-test', 'the first answer’s id throughout');
    assert.equal((await s.meta).headers.get('x-sluice-target'), gw.targets[0]?.id);
    assert.equal(gw.attempts.at(-1)?.targetId, gw.targets[1]?.id);
  });
});
