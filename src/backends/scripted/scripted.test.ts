import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackendRequest } from '../../backend.js';
import { AbortError, ServerError } from '../../errors.js';
import type { AnyChunk, ChatCompletionChunk, CompletionChunk } from '../../types.js';
import { createScriptedBackend } from './scripted.js';
import { textScript, wordPieces } from './text-script.js';

const chatRequest = (includeUsage = false): BackendRequest<'chat'> => ({
  kind: 'chat',
  body: {
    messages: [{ role: 'user', content: 'hi' }],
    ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
  },
});
const completionRequest: BackendRequest<'completions'> = { kind: 'completions', body: { prompt: 'Once' } };

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('wordPieces', () => {
  test('pieces keep their leading whitespace and join back to the text', () => {
    for (const text of ['Hello big world', '  lead', 'trail  ', 'a\nb\tc', '', ' ', 'héllo 世界 🎉']) {
      const pieces = wordPieces(text);
      assert.equal(pieces.join(''), text);
      for (const p of pieces.slice(1)) assert.match(p, /^\s/);
    }
    assert.deepEqual(wordPieces('Hello big world'), ['Hello', ' big', ' world']);
  });
});

describe('textScript pieces', () => {
  test('an array of pieces is used as it is', async () => {
    const backend = createScriptedBackend(textScript('completions', ['Grü', 'ße ', 'x']));
    const chunks = (await collect(
      backend.stream(completionRequest, new AbortController().signal),
    )) as CompletionChunk[];
    assert.deepEqual(
      chunks.map((c) => c.choices[0]?.text),
      ['Grü', 'ße ', 'x', ''],
    );
  });
});

describe('textScript', () => {
  test('chat: role chunk, content chunks, finish chunk; usage only when requested', async () => {
    const backend = createScriptedBackend(textScript('chat', 'Hello big world'));
    const plain = (await collect(backend.stream(chatRequest(), new AbortController().signal))) as ChatCompletionChunk[];
    assert.deepEqual(plain[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
    assert.equal(plain.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello big world');
    assert.equal(plain.at(-1)?.choices[0]?.finish_reason, 'stop');
    assert.ok(plain.every((c) => c.usage === undefined));

    const withUsage = (await collect(
      backend.stream(chatRequest(true), new AbortController().signal),
    )) as ChatCompletionChunk[];
    assert.equal(withUsage.length, plain.length + 1);
    assert.deepEqual(withUsage.at(-1)?.choices, []);
    assert.deepEqual(withUsage.at(-1)?.usage, { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 });
  });

  test('completions with n=2 interleave both choices and finish each once', async () => {
    const backend = createScriptedBackend(textScript('completions', 'a b', { n: 2, finishReason: 'length' }));
    const chunks = (await collect(
      backend.stream(completionRequest, new AbortController().signal),
    )) as CompletionChunk[];
    const texts = ['', ''];
    const finishes = [0, 0];
    for (const c of chunks) {
      for (const choice of c.choices) {
        const index = choice.index;
        texts[index] += choice.text ?? '';
        if (choice.finish_reason) {
          assert.equal(choice.finish_reason, 'length');
          finishes[index]!++;
        }
      }
    }
    assert.deepEqual(texts, ['a b', 'a b']);
    assert.deepEqual(finishes, [1, 1]);
    assert.equal(chunks[0]?.object, 'text_completion');
    assert.match(chunks[0]?.id ?? '', /^cmpl-/);
  });

  test('each stream gets fresh chunk objects (mutating one does not change the script)', async () => {
    const backend = createScriptedBackend(textScript('completions', 'x'));
    const first = (await collect(backend.stream(completionRequest, new AbortController().signal))) as CompletionChunk[];
    first[0]!.choices[0]!.text = 'mutated';
    const second = (await collect(
      backend.stream(completionRequest, new AbortController().signal),
    )) as CompletionChunk[];
    assert.equal(second[0]?.choices[0]?.text, 'x');
  });
});

describe('createScriptedBackend', () => {
  test('records requests and outcomes', async () => {
    const backend = createScriptedBackend(textScript('chat', 'ok'));
    await collect(backend.stream(chatRequest(), new AbortController().signal));
    assert.equal(backend.requests.length, 1);
    assert.equal(backend.calls[0]?.outcome, 'done');
    assert.equal(backend.calls[0]?.chunks, 3);
    assert.equal(backend.active, 0);
    assert.equal(backend.aborts, 0);
  });

  test('an error step throws mid-stream after the earlier chunks', async () => {
    const boom = new ServerError('boom', { status: 500 });
    const backend = createScriptedBackend([...textScript('chat', 'one two').slice(0, 2), { error: boom }]);
    const seen: AnyChunk[] = [];
    await assert.rejects(async () => {
      for await (const c of backend.stream(chatRequest(), new AbortController().signal)) seen.push(c);
    }, boom);
    assert.equal(seen.length, 2);
    assert.equal(backend.calls[0]?.outcome, 'error');
  });

  test('an error factory is called per request', async () => {
    let made = 0;
    const backend = createScriptedBackend([{ error: () => new Error(`e${++made}`) }]);
    await assert.rejects(collect(backend.stream(chatRequest(), new AbortController().signal)), /e1/);
    await assert.rejects(collect(backend.stream(chatRequest(), new AbortController().signal)), /e2/);
  });

  test('hang: waits until aborted, then throws AbortError and records the reason', async () => {
    const backend = createScriptedBackend([...textScript('chat', 'partial').slice(0, 2), { hang: true }]);
    const ac = new AbortController();
    const seen: AnyChunk[] = [];
    const done = (async () => {
      for await (const c of backend.stream(chatRequest(), ac.signal)) {
        seen.push(c);
        if (seen.length === 2) setTimeout(() => ac.abort('client left'), 10);
      }
    })();
    await assert.rejects(done, (e: unknown) => e instanceof AbortError && e.code === 'SLUICE_ABORTED');
    assert.equal(seen.length, 2);
    assert.equal(backend.aborts, 1);
    assert.equal(backend.lastAbortReason, 'client left');
    assert.equal(backend.calls[0]?.outcome, 'aborted');
    assert.equal(backend.active, 0);
  });

  test('an abort cuts a long delay short', async () => {
    const backend = createScriptedBackend([{ delay: 60_000 }, ...textScript('chat', 'never')]);
    const ac = new AbortController();
    const it = backend.stream(chatRequest(), ac.signal)[Symbol.asyncIterator]();
    const next = it.next();
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(next, AbortError);
    assert.equal(backend.aborts, 1);
    assert.equal(backend.calls[0]?.chunks, 0);
  });

  test('an already-aborted signal yields nothing', async () => {
    const backend = createScriptedBackend(textScript('chat', 'x'));
    await assert.rejects(collect(backend.stream(chatRequest(), AbortSignal.abort('early'))), AbortError);
    assert.equal(backend.lastAbortReason, 'early');
  });

  test('breaking out of the loop is recorded as cancelled, not aborted', async () => {
    const backend = createScriptedBackend(textScript('chat', 'a b c d'));
    for await (const _ of backend.stream(chatRequest(), new AbortController().signal)) break;
    assert.equal(backend.calls[0]?.outcome, 'cancelled');
    assert.equal(backend.aborts, 0);
    assert.equal(backend.active, 0);
  });

  test('a script function chooses steps per request', async () => {
    const backend = createScriptedBackend((req, call) => textScript(req.kind, `call ${call}`));
    const a = (await collect(backend.stream(completionRequest, new AbortController().signal))) as CompletionChunk[];
    const b = (await collect(backend.stream(chatRequest(), new AbortController().signal))) as ChatCompletionChunk[];
    assert.equal(a.map((c) => c.choices[0]?.text ?? '').join(''), 'call 0');
    assert.equal(b.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'call 1');
  });

  test('delays space the chunks out (incremental arrival)', async () => {
    const backend = createScriptedBackend(textScript('completions', 'a b c', { delayMs: 15 }));
    const times: number[] = [];
    for await (const _ of backend.stream(completionRequest, new AbortController().signal))
      times.push(performance.now());
    // Three content chunks, each preceded by a delay: the first arrives well before the last.
    assert.ok(times.at(-1)! - times[0]! >= 25, `spread ${times.at(-1)! - times[0]!}`);
  });

  test('gates: the first piece at once, each further chunk only after release()', async () => {
    const backend = createScriptedBackend(textScript('chat', ['Hel', 'lo', '!'], { gated: true }));
    const it = backend.stream(chatRequest(), new AbortController().signal)[Symbol.asyncIterator]();
    const text = async () => ((await it.next()).value as ChatCompletionChunk).choices[0]?.delta?.content;
    assert.equal(await text(), '', 'role chunk');
    assert.equal(await text(), 'Hel');
    const next = it.next();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(backend.waiting, 1, 'parked at the gate');
    assert.equal(backend.calls[0]?.chunks, 2, 'nothing more was handed over');
    backend.release();
    assert.equal(((await next).value as ChatCompletionChunk).choices[0]?.delta?.content, 'lo');
    // A pass given before the gate is reached is kept for it.
    backend.release(2);
    assert.equal(await text(), '!');
    assert.equal(((await it.next()).value as ChatCompletionChunk).choices[0]?.finish_reason, 'stop');
    assert.equal((await it.next()).done, true);
    assert.equal(backend.calls[0]?.outcome, 'done');
  });

  test('gates: release(n) lets the longest-waiting gates pass first, across requests; open() lets all pass', async () => {
    const backend = createScriptedBackend([{ gate: true }, ...textScript('completions', 'x')]);
    const order: number[] = [];
    const runs = [0, 1, 2].map(async (i) => {
      await collect(backend.stream(completionRequest, new AbortController().signal));
      order.push(i);
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(backend.waiting, 3);
    backend.release();
    await runs[0];
    assert.deepEqual(order, [0]);
    backend.open();
    await Promise.all(runs);
    assert.deepEqual(order, [0, 1, 2]);
    await collect(backend.stream(completionRequest, new AbortController().signal));
    assert.equal(backend.waiting, 0, 'an open gate never parks');
  });

  test('gates: an abort ends the wait, and the aborted request gives up its place in line', async () => {
    const backend = createScriptedBackend([{ gate: true }, ...textScript('completions', 'x')]);
    const ac = new AbortController();
    const first = collect(backend.stream(completionRequest, ac.signal));
    await new Promise((r) => setTimeout(r, 10));
    const second = collect(backend.stream(completionRequest, new AbortController().signal));
    await new Promise((r) => setTimeout(r, 10));
    ac.abort('left');
    await assert.rejects(first, (e: unknown) => e instanceof AbortError && e.cause === 'left');
    assert.equal(backend.waiting, 1);
    backend.release();
    assert.equal(((await second)[0] as CompletionChunk).choices[0]?.text, 'x');
  });

  test('models() and close()', async () => {
    const backend = createScriptedBackend([], { name: 'fake' });
    assert.deepEqual(
      (await backend.models?.())?.map((m) => m.id),
      ['fake'],
    );
    assert.equal(backend.closed, false);
    await backend.close?.();
    assert.equal(backend.closed, true);
  });
});
