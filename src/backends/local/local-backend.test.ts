// The local backend against the real tiny model (1.1 MB, models/). Each test proves
// one behaviour by observation: counts come from the model's own tokenizer, texts from
// earlier generations, never from constants.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AbortError, BadRequestError, ModelLoadError, OverloadedError } from '../../errors.js';
import type {
  AnyChunk,
  ChatCompletionChunk,
  ChatCompletionRequest,
  CompletionChunk,
  CompletionRequest,
} from '../../types.js';
import { transcriptPrompt } from './chat-prompt.js';
import { createLocalBackend, type LocalBackend } from './local-backend.js';

const never = () => new AbortController().signal;

async function completions(backend: LocalBackend, body: CompletionRequest, signal = never()) {
  const chunks: CompletionChunk[] = [];
  for await (const c of backend.stream({ kind: 'completions', body }, signal)) chunks.push(c);
  return summarize(chunks);
}

async function chat(backend: LocalBackend, body: ChatCompletionRequest, signal = never()) {
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of backend.stream({ kind: 'chat', body }, signal)) chunks.push(c);
  return summarize(chunks);
}

/** Texts and finish reasons per choice index, plus the usage chunk. */
function summarize<C extends AnyChunk>(chunks: C[]) {
  const texts: string[] = [];
  const finishes: Array<string[]> = [];
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      const index = choice.index as number;
      const delta = choice.delta as { content?: string | null } | undefined;
      const text = delta ? (delta.content ?? '') : ((choice.text as string | undefined) ?? '');
      texts[index] = (texts[index] ?? '') + text;
      if (choice.finish_reason) {
        finishes[index] ??= [];
        finishes[index].push(choice.finish_reason);
      }
    }
  }
  const usage = chunks.find((c) => c.usage)?.usage ?? undefined;
  return { chunks, texts, finishes, usage };
}

describe('local backend (real model)', () => {
  let backend: LocalBackend;
  before(async () => {
    backend = createLocalBackend({ sequences: 2, queueSize: 2 });
    await backend.load();
  });
  after(() => backend.close());

  test('load() describes the model; models() lists it', async () => {
    const info = await backend.load();
    assert.equal(info.name, 'tinyllamas-stories-260k');
    assert.equal(info.chatTemplate, false);
    assert.equal(info.contextSize, 512, 'min(train context 512, 2048)');
    const models = await backend.models?.();
    assert.equal(models?.[0]?.id, info.name);
    assert.equal(backend.name, 'local:tinyllamas-stories-260k-f32');
  });

  test('streaming arrives incrementally: the first chunk comes while generation is still running', async () => {
    const before = backend.stats().tokensGenerated;
    const it = backend.stream(
      { kind: 'completions', body: { prompt: 'Once upon a time', max_tokens: 60, seed: 1 } },
      never(),
    );
    let firstSeenAt: { tokens: number; active: number } | undefined;
    let count = 0;
    for await (const _ of it) {
      count++;
      if (!firstSeenAt)
        firstSeenAt = { tokens: backend.stats().tokensGenerated - before, active: backend.stats().active };
    }
    assert.ok(firstSeenAt);
    assert.equal(firstSeenAt.active, 1, 'the request still held its sequence');
    assert.ok(firstSeenAt.tokens < 10, `only ${firstSeenAt.tokens} of 60 tokens were generated at the first chunk`);
    assert.ok(count > 10);
  });

  test('max_tokens: finish_reason length, completion_tokens exact, prompt_tokens from the tokenizer', async () => {
    const prompt = 'Once upon a time, there was a dog';
    const r = await completions(backend, { prompt, max_tokens: 25, seed: 3, stream_options: { include_usage: true } });
    assert.deepEqual(r.finishes, [['length']]);
    assert.equal(r.usage?.completion_tokens, 25);
    // The model reads BOS + the prompt's tokens.
    assert.equal(r.usage?.prompt_tokens, (await backend.countTokens(prompt)) + 1);
    assert.equal(r.usage?.total_tokens, (r.usage?.prompt_tokens ?? 0) + 25);
    // The usage chunk is the last one, with no choices; the others carry usage: null.
    assert.deepEqual(r.chunks.at(-1)?.choices, []);
    assert.ok(r.chunks.slice(0, -1).every((c) => c.usage === null));
  });

  test('completions default to 16 tokens; no usage chunk unless asked', async () => {
    const r = await completions(backend, { prompt: 'Once upon a time', seed: 4 });
    assert.deepEqual(r.finishes, [['length']]);
    assert.equal(r.usage, undefined);
    assert.ok(r.chunks.every((c) => !('usage' in c)));
    // 16 tokens of text, re-tokenized, is about 16 tokens (tokenization is not always reversible).
    const retokenized = await backend.countTokens(r.texts[0] ?? '');
    assert.ok(retokenized >= 12 && retokenized <= 20, `${retokenized}`);
  });

  test('chunks are OpenAI-shaped: one id, object, created, model, logprobs null', async () => {
    const r = await completions(backend, { prompt: 'The dog', max_tokens: 5, seed: 5 });
    const ids = new Set(r.chunks.map((c) => c.id));
    assert.equal(ids.size, 1);
    assert.match([...ids][0] ?? '', /^cmpl-[A-Za-z0-9]{24}$/);
    for (const c of r.chunks) {
      assert.equal(c.object, 'text_completion');
      assert.equal(c.model, 'tinyllamas-stories-260k');
      assert.ok(Math.abs(c.created - Date.now() / 1000) < 60);
      for (const choice of c.choices) assert.equal(choice.logprobs, null);
    }
    // Only the last chunk finishes; text chunks have finish_reason null.
    assert.ok(r.chunks.slice(0, -1).every((c) => c.choices[0]?.finish_reason === null));
    assert.equal(r.chunks.at(-1)?.choices[0]?.text, '');
  });

  test('same seed and temperature give the same text; another seed gives another', async () => {
    const body = { prompt: 'Once upon a time', max_tokens: 30, temperature: 1 };
    const a = await completions(backend, { ...body, seed: 11 });
    const b = await completions(backend, { ...body, seed: 11 });
    const c = await completions(backend, { ...body, seed: 12 });
    assert.equal(a.texts[0], b.texts[0]);
    assert.notEqual(a.texts[0], c.texts[0]);
  });

  test('temperature 0 is greedy: identical without a seed', async () => {
    const body = { prompt: 'Lily and Ben', max_tokens: 20, temperature: 0 };
    const a = await completions(backend, body);
    const b = await completions(backend, body);
    assert.equal(a.texts[0], b.texts[0]);
  });

  test('stop: the text ends right before the stop sequence, which never appears', async () => {
    const body = { prompt: 'Once upon a time', max_tokens: 40, seed: 21 };
    const free = (await completions(backend, body)).texts[0] ?? '';
    // Pick a stop that occurs in the free text (the 4th word with its leading space).
    const words = free.match(/\s*\S+/g) ?? [];
    assert.ok(words.length >= 5, free);
    const stop = words[3] ?? '';
    const expected = free.slice(0, free.indexOf(stop));
    const stopped = await completions(backend, {
      ...body,
      stop: [stop, 'zzzz'],
      stream_options: { include_usage: true },
    });
    assert.equal(stopped.texts[0], expected);
    assert.ok(!stopped.texts[0]?.includes(stop));
    assert.deepEqual(stopped.finishes, [['stop']]);
    assert.ok((stopped.usage?.completion_tokens ?? 99) < 40);
  });

  test('n=2 with a prompt array: index = prompt * n + choice, one finish each', async () => {
    const body = { prompt: ['Once upon a time', 'The cat'], n: 2, max_tokens: 24, seed: 7 };
    const r = await completions(backend, body);
    assert.equal(r.texts.length, 4);
    assert.deepEqual(r.finishes, [['length'], ['length'], ['length'], ['length']]);
    for (const t of r.texts) assert.ok(t && t.length > 0);
    // Choice i uses seed + index: the two choices of a prompt differ, the request repeats exactly.
    assert.notEqual(r.texts[0], r.texts[1]);
    assert.deepEqual((await completions(backend, body)).texts, r.texts);
    // ... and choice 3 (prompt 1, seed 7 + 3) is what a single request with seed 10 gives.
    const single = await completions(backend, { prompt: 'The cat', max_tokens: 24, seed: 10 });
    assert.equal(r.texts[3], single.texts[0]);
  });

  test('usage across choices: prompt tokens per prompt, completion tokens summed', async () => {
    const prompts = ['Once upon a time', 'A big red ball'];
    const r = await completions(backend, {
      prompt: prompts,
      n: 2,
      max_tokens: 4,
      seed: 1,
      stream_options: { include_usage: true },
    });
    const expectedPrompt = (await backend.countTokens(prompts[0]!)) + 1 + (await backend.countTokens(prompts[1]!)) + 1;
    assert.equal(r.usage?.prompt_tokens, expectedPrompt);
    assert.equal(r.usage?.completion_tokens, 16);
  });

  test('an empty prompt starts from BOS alone and still generates', async () => {
    const r = await completions(backend, {
      prompt: '',
      max_tokens: 10,
      seed: 5,
      stream_options: { include_usage: true },
    });
    assert.equal(r.usage?.prompt_tokens, 1);
    assert.equal(r.usage?.completion_tokens, 10);
    assert.ok((r.texts[0] ?? '').trim().length > 0);
  });

  test('echo sends the prompt first', async () => {
    const r = await completions(backend, { prompt: 'Once upon a time', max_tokens: 5, seed: 2, echo: true });
    assert.ok(r.texts[0]?.startsWith('Once upon a time'));
    assert.ok((r.texts[0]?.length ?? 0) > 'Once upon a time'.length);
  });

  test('text is decoded on character boundaries and keeps word spaces', async () => {
    const r = await completions(backend, { prompt: 'Once upon a time', max_tokens: 80, seed: 8 });
    for (const c of r.chunks) {
      const text = c.choices[0]?.text ?? '';
      assert.ok(!text.includes('\uFFFD'));
      assert.ok(
        !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text),
        'no lone surrogate',
      );
    }
    // The first piece continues the prompt's text: a word starts with its space.
    const first = r.chunks[0]?.choices[0]?.text ?? '';
    assert.ok(/^[\s,.!?'"]/.test(first), JSON.stringify(first));
  });

  test('chat: role chunk first, content, one finish; a plain transcript for a base model', async () => {
    const messages = [
      { role: 'system' as const, content: 'You tell stories.' },
      { role: 'user' as const, content: 'Tell me about a cat.' },
    ];
    const r = await chat(backend, { messages, max_tokens: 40, seed: 3, stream_options: { include_usage: true } });
    const first = r.chunks[0];
    assert.equal(first?.object, 'chat.completion.chunk');
    assert.match(first?.id ?? '', /^chatcmpl-/);
    assert.deepEqual(first?.choices[0]?.delta, { role: 'assistant', content: '' });
    assert.equal(r.finishes[0]?.length, 1);
    const finishChunk = r.chunks.find((c) => c.choices[0]?.finish_reason);
    assert.deepEqual(finishChunk?.choices[0]?.delta, {});
    // The prompt is the transcript, counted by the model's tokenizer (+ BOS).
    const transcript = transcriptPrompt([
      { role: 'system', text: 'You tell stories.' },
      { role: 'user', text: 'Tell me about a cat.' },
    ]);
    assert.equal(r.usage?.prompt_tokens, (await backend.countTokens(transcript)) + 1);
    // The reply never runs into a new turn and doesn't start with whitespace.
    assert.ok(!/\n(User|System|Assistant):/.test(r.texts[0] ?? ''));
    assert.equal(r.texts[0], r.texts[0]?.trimStart());
  });

  test('chat n=2: each choice gets its role chunk first and one finish', async () => {
    const r = await chat(backend, { messages: [{ role: 'user', content: 'Hi' }], n: 2, max_tokens: 8, seed: 4 });
    for (const index of [0, 1]) {
      const own = r.chunks.filter((c) => c.choices[0]?.index === index);
      assert.deepEqual(own[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
      assert.equal(own.filter((c) => c.choices[0]?.finish_reason).length, 1);
      assert.ok(own.at(-1)?.choices[0]?.finish_reason);
    }
  });

  test('max_tokens beyond the context is refused with the limit; within it, generation stops when the context is full (length)', async () => {
    const prompt = 'Once upon a time';
    await assert.rejects(
      completions(backend, { prompt, max_tokens: 5000 }),
      (e: unknown) =>
        e instanceof BadRequestError && e.body?.error.param === 'max_tokens' && /at most 512/.test(e.message),
    );
    const r = await completions(backend, {
      prompt,
      max_tokens: 510,
      temperature: 0, // greedy on this model loops rather than ends: it runs into the context limit
      stream_options: { include_usage: true },
    });
    const promptTokens = (await backend.countTokens(prompt)) + 1;
    assert.deepEqual(r.finishes, [['length']]);
    assert.equal(r.usage?.completion_tokens, 512 - promptTokens);
    assert.equal(r.usage?.total_tokens, 512);
  });

  test('chat without max_tokens leaves room for the next turn; a full context is reported as such', async () => {
    // The CLI's chat loop: each answer joins the history. Answers used to fill the whole
    // context, so the second request always failed with context_length_exceeded.
    const info = await backend.load();
    const messages: ChatCompletionRequest['messages'] = [{ role: 'system', content: 'You tell short stories.' }];
    const asks = ['Tell me about a cat.', 'What did the cat eat?', 'And then?', 'Who was her friend?', 'The end?'];
    const ends: string[] = [];
    let overflow: unknown;
    for (const [turn, ask] of asks.entries()) {
      messages.push({ role: 'user', content: ask });
      let r: Awaited<ReturnType<typeof chat>>;
      try {
        r = await chat(backend, { messages, seed: 7 + turn, stream_options: { include_usage: true } });
      } catch (error) {
        overflow = error;
        break;
      }
      const usage = r.usage;
      assert.ok(usage);
      const full = usage.total_tokens === info.contextSize;
      ends.push(`${r.finishes[0]?.[0]}${full ? ' (context full)' : ''}`);
      assert.ok(usage.completion_tokens <= info.contextSize / 4, `answer of ${usage.completion_tokens} tokens`);
      // An answer cut short of the default budget was cut by the context: usage shows it.
      if (r.finishes[0]?.[0] === 'length' && usage.completion_tokens < info.contextSize / 4) assert.ok(full);
      messages.push({ role: 'assistant', content: r.texts[0] ?? '' });
    }
    assert.ok(ends.length >= 3, `only ${ends.length} turns before the context overflowed: ${ends.join(', ')}`);
    assert.ok(ends.includes('length (context full)'), `no turn filled the context: ${ends.join(', ')}`);
    // Once the history is too long: Azure's 400, with both numbers, naming `messages`.
    assert.ok(overflow instanceof BadRequestError, String(overflow));
    const error = overflow.body?.error;
    assert.equal(error?.code, 'context_length_exceeded');
    assert.equal(error?.param, 'messages');
    assert.match(error?.message ?? '', new RegExp(`maximum context length is ${info.contextSize} tokens`));
    assert.match(error?.message ?? '', /resulted in \d+ tokens/);
    // Dropping the oldest turns (keeping the system message and the latest) recovers.
    const recovered = await chat(backend, { messages: [messages[0]!, messages.at(-1)!], seed: 1 });
    assert.equal(recovered.finishes[0]?.length, 1);
  });

  test('a prompt longer than the context is a 400 context_length_exceeded', async () => {
    const prompt = 'Once upon a time there was a cat. '.repeat(80);
    await assert.rejects(
      completions(backend, { prompt, max_tokens: 5 }),
      (e: unknown) => e instanceof BadRequestError && e.body?.error.code === 'context_length_exceeded',
    );
    assert.equal(backend.stats().active, 0);
    // In a prompt array, a too-long second prompt fails the request before any chunk.
    let chunks = 0;
    await assert.rejects(async () => {
      for await (const _ of backend.stream({ kind: 'completions', body: { prompt: ['Hi', prompt] } }, never()))
        chunks++;
    }, BadRequestError);
    assert.equal(chunks, 0);
  });

  test('bad input is a BadRequestError from the first next(), and holds no sequence', async () => {
    const before = backend.stats();
    await assert.rejects(completions(backend, { prompt: 'x', temperature: 9 }), BadRequestError);
    assert.equal(backend.stats().failed, before.failed + 1);
    assert.equal(backend.stats().active, 0);
  });

  test('abort mid-stream: AbortError, at most one more token, the sequence is back at once', async () => {
    const ac = new AbortController();
    const seen: CompletionChunk[] = [];
    let tokensAtAbort = 0;
    const before = backend.stats();
    await assert.rejects(
      (async () => {
        for await (const c of backend.stream(
          { kind: 'completions', body: { prompt: 'Once upon a time', max_tokens: 300, seed: 9 } },
          ac.signal,
        )) {
          seen.push(c);
          if (seen.length === 3) {
            tokensAtAbort = backend.stats().tokensGenerated;
            ac.abort(new Error('client hung up'));
          }
        }
      })(),
      (e: unknown) => e instanceof AbortError && e.code === 'SLUICE_ABORTED',
    );
    const after = backend.stats();
    assert.equal(seen.length, 3, 'nothing after the abort');
    assert.ok(
      after.tokensGenerated - tokensAtAbort <= 1,
      `${after.tokensGenerated - tokensAtAbort} tokens after abort`,
    );
    assert.equal(after.active, 0);
    assert.equal(after.aborted, before.aborted + 1);
    // Both sequences are usable straight away.
    const [x, y] = await Promise.all([
      completions(backend, { prompt: 'A', max_tokens: 3, seed: 1 }),
      completions(backend, { prompt: 'B', max_tokens: 3, seed: 1 }),
    ]);
    assert.deepEqual([x.finishes, y.finishes], [[['length']], [['length']]]);
  });

  test('a reader that breaks early cancels generation and frees the sequence', async () => {
    const before = backend.stats();
    for await (const _ of backend.stream(
      { kind: 'completions', body: { prompt: 'Once upon a time', max_tokens: 300, seed: 9 } },
      never(),
    )) {
      break;
    }
    const after = backend.stats();
    assert.equal(after.active, 0);
    assert.equal(after.cancelled, before.cancelled + 1);
    assert.ok(after.tokensGenerated - before.tokensGenerated <= 4, 'generation stopped with the reader');
  });

  test('a slow reader holds generation back (bounded read-ahead)', async () => {
    const it = backend
      .stream({ kind: 'completions', body: { prompt: 'Once upon a time', max_tokens: 200, seed: 10 } }, never())
      [Symbol.asyncIterator]();
    const start = backend.stats().tokensGenerated;
    await it.next();
    await new Promise((r) => setTimeout(r, 100)); // 100 ms is ~100 tokens of generation time
    const generated = backend.stats().tokensGenerated - start;
    assert.ok(generated <= 6, `${generated} tokens generated for 1 chunk read`);
    await it.return?.(undefined);
    assert.equal(backend.stats().active, 0);
  });
});

describe('local backend: pool, queue and overload', () => {
  let backend: LocalBackend;
  before(async () => {
    backend = createLocalBackend({ sequences: 1, queueSize: 1, readAhead: 0 });
    await backend.load();
  });
  after(() => backend.close());

  const long = { prompt: 'Once upon a time', max_tokens: 300, seed: 1 };

  test('one generating, one queued, the next refused with OverloadedError; the queue drains in order', async () => {
    const a = backend.stream({ kind: 'completions', body: long }, never())[Symbol.asyncIterator]();
    await a.next(); // A holds the only sequence and waits for its reader
    assert.equal(backend.stats().active, 1);

    const b = completions(backend, { prompt: 'The dog', max_tokens: 3, seed: 2 });
    await new Promise((r) => setImmediate(r));
    assert.equal(backend.stats().queued, 1);

    const rejectedBefore = backend.stats().rejected;
    await assert.rejects(
      completions(backend, { prompt: 'x', max_tokens: 1 }),
      (e: unknown) => e instanceof OverloadedError && e.code === 'SLUICE_OVERLOADED' && e.retryAfterMs >= 50,
    );
    assert.equal(backend.stats().rejected, rejectedBefore + 1);

    await a.return?.(undefined); // A leaves: B gets the sequence
    const done = await b;
    assert.deepEqual(done.finishes, [['length']]);
    assert.deepEqual([backend.stats().active, backend.stats().queued], [0, 0]);
  });

  test('a queued request whose signal aborts leaves the queue and frees its place', async () => {
    const a = backend.stream({ kind: 'completions', body: long }, never())[Symbol.asyncIterator]();
    await a.next();
    const ac = new AbortController();
    const queued = completions(backend, { prompt: 'x', max_tokens: 2 }, ac.signal);
    await new Promise((r) => setImmediate(r));
    assert.equal(backend.stats().queued, 1);
    ac.abort();
    await assert.rejects(queued, AbortError);
    assert.equal(backend.stats().queued, 0);
    // Its place in line is free again.
    const next = completions(backend, { prompt: 'y', max_tokens: 2, seed: 1 });
    await new Promise((r) => setImmediate(r));
    assert.equal(backend.stats().queued, 1);
    await a.return?.(undefined);
    assert.deepEqual((await next).finishes, [['length']]);
  });

  test('the sequence returns to the pool after every kind of ending', async () => {
    const endings: Array<() => Promise<unknown>> = [
      () => completions(backend, { prompt: 'a', max_tokens: 2 }), // done
      () => completions(backend, { prompt: 'a', max_tokens: 2, n: 0 }).catch(() => {}), // bad input
      () => completions(backend, { prompt: 'a '.repeat(600), max_tokens: 2 }).catch(() => {}), // too long
      () => completions(backend, { prompt: 'a', max_tokens: 50 }, AbortSignal.timeout(2)).catch(() => {}), // aborted
      async () => {
        for await (const _ of backend.stream({ kind: 'completions', body: long }, never())) break; // cancelled
      },
    ];
    for (const end of endings) {
      await end();
      assert.equal(backend.stats().active, 0);
    }
    // With one sequence, a full-length request still goes through afterwards.
    assert.deepEqual((await completions(backend, { prompt: 'b', max_tokens: 3 })).finishes, [['length']]);
  });

  test('stats add up: every request ends exactly one way', () => {
    const s = backend.stats();
    assert.equal(s.requests, s.completed + s.rejected + s.aborted + s.cancelled + s.failed + s.active + s.queued);
  });
});

describe('local backend: model path and loading', () => {
  test('a missing model is a ModelLoadError naming the path and the settings', async () => {
    const backend = createLocalBackend({ modelPath: '/nonexistent/model.gguf' });
    await assert.rejects(completions(backend, { prompt: 'x' }), (e: unknown) => {
      assert.ok(e instanceof ModelLoadError);
      assert.equal(e.code, 'SLUICE_MODEL_LOAD');
      assert.equal(e.modelPath, '/nonexistent/model.gguf');
      assert.match(e.message, /\/nonexistent\/model\.gguf/);
      assert.match(e.message, /no such file/);
      assert.match(e.message, /SLUICE_MODEL/);
      assert.match(e.message, /--model/);
      return true;
    });
    assert.equal(backend.stats().active, 0);
    assert.equal(backend.stats().loaded, false);
    await backend.close();
  });

  test('SLUICE_MODEL is used when no modelPath is given; the message says it came from there', async () => {
    const backend = createLocalBackend({ env: { SLUICE_MODEL: '/also/missing.gguf' } });
    assert.equal(backend.stats().modelPath, '/also/missing.gguf');
    await assert.rejects(backend.load(), /\/also\/missing\.gguf \(SLUICE_MODEL\)/);
  });

  test('a file that is not a GGUF model is a ModelLoadError too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-model-'));
    const path = join(dir, 'bad.gguf');
    await writeFile(path, 'this is not a model');
    try {
      const backend = createLocalBackend({ modelPath: path });
      await assert.rejects(backend.load(), (e: unknown) => e instanceof ModelLoadError && e.message.includes(path));
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  test('a directory is refused', async () => {
    await assert.rejects(createLocalBackend({ modelPath: tmpdir() }).load(), /not a file/);
  });

  test('the default model is found from the package root, whatever the cwd', async () => {
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      const backend = createLocalBackend({ env: {} });
      assert.match(backend.stats().modelPath, /\/models\/tinyllamas-stories-260k-f32\.gguf$/);
      await backend.load();
      await backend.close();
    } finally {
      process.chdir(cwd);
    }
  });

  test('close() aborts running requests and refuses new ones', async () => {
    const backend = createLocalBackend({ sequences: 1 });
    const it = backend
      .stream({ kind: 'completions', body: { prompt: 'Once', max_tokens: 300 } }, never())
      [Symbol.asyncIterator]();
    await it.next();
    const closing = backend.close();
    await assert.rejects(it.next(), AbortError);
    await closing;
    await assert.rejects(completions(backend, { prompt: 'x' }), AbortError);
  });

  test('an abort while the model is still loading ends the request at once', async () => {
    const backend = createLocalBackend({ sequences: 1 });
    const ac = new AbortController();
    const pending = completions(backend, { prompt: 'x', max_tokens: 2 }, ac.signal);
    await new Promise((r) => setImmediate(r));
    assert.equal(backend.stats().loaded, false, 'still loading');
    ac.abort();
    await assert.rejects(pending, AbortError);
    assert.deepEqual([backend.stats().active, backend.stats().aborted], [0, 1]);
    // The load itself went on and the next request uses it.
    assert.deepEqual((await completions(backend, { prompt: 'x', max_tokens: 2 })).finishes, [['length']]);
    await backend.close();
  });

  test('a long-lived caller signal collects no listeners, however many requests use it', async () => {
    const backend = createLocalBackend({ sequences: 1 });
    const ac = new AbortController();
    let listeners = 0;
    const { signal } = ac;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...a: Parameters<typeof add>) => {
      listeners++;
      add(...a);
    }) as typeof add;
    signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      listeners--;
      remove(...a);
    }) as typeof remove;
    for (let i = 0; i < 5; i++) await completions(backend, { prompt: 'x', max_tokens: 2 }, signal);
    for await (const _ of backend.stream({ kind: 'completions', body: { prompt: 'y', max_tokens: 50 } }, signal)) break;
    assert.equal(listeners, 0);
    await backend.close();
  });

  test('bad options are ConfigErrors', () => {
    assert.throws(() => createLocalBackend({ sequences: 0 }), /sequences must be a positive integer/);
    assert.throws(() => createLocalBackend({ threads: 1.5 }), /threads/);
  });
});
