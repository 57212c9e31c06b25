import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createParser } from 'eventsource-parser';
import {
  type AzureStreamFixture,
  chatBasic,
  chatFixtures,
  chatParallelToolCalls,
  chatTwoChoices,
  completionsFixtures,
} from '../../test/fixtures/azure-streams.js';
import { AbortError, ConnectionError, type StreamErrorFrame } from '../errors.js';
import type { ApiKind, ChatCompletion, ChatCompletionChunk, CompletionChunk } from '../types.js';
import { createAccumulator } from './accumulate.js';
import type { EndState } from './end-state.js';
import { parseStreamEvent } from './events.js';
import { textDeltas } from './text.js';

/** Feeds a fixture's chunks and returns the response and the end state of its frames. */
function run<K extends ApiKind>(f: AzureStreamFixture<K>): { response: unknown; end: EndState } {
  const acc = createAccumulator(f.kind);
  let error: StreamErrorFrame | undefined;
  for (const frame of f.frames) {
    if ('chunk' in frame) acc.push(frame.chunk);
    else if ('error' in frame) {
      const ev = parseStreamEvent<K>({ type: frame.event ?? 'message', data: JSON.stringify(frame.error), id: '' });
      assert.equal(ev.type, 'error');
      if (ev.type === 'error') error = ev.error;
    }
  }
  const end = error !== undefined ? acc.finish({ error }) : acc.finish({ sawDone: f.sawDone });
  return { response: acc.response(), end };
}

function comparableEnd(end: EndState): unknown {
  return end.state === 'failed' ? { state: 'failed', code: end.error.code } : end;
}

describe('accumulating realistic Azure streams', () => {
  for (const f of [...chatFixtures, ...completionsFixtures] as AzureStreamFixture<ApiKind>[]) {
    test(`${f.name}: ${f.description}`, () => {
      const { response, end } = run(f);
      assert.deepStrictEqual(response, f.expected);
      assert.deepStrictEqual(comparableEnd(end), f.expectedEnd);
    });

    test(`${f.name}: its SSE text decodes (with eventsource-parser) to the same response`, () => {
      const acc = createAccumulator(f.kind);
      let sawDone = false;
      const parser = createParser({
        onEvent(event) {
          const ev = parseStreamEvent({ type: event.event ?? 'message', data: event.data, id: event.id ?? '' });
          if (ev.type === 'chunk') acc.push(ev.chunk);
          else if (ev.type === 'done') sawDone = true;
        },
      });
      parser.feed(f.sse);
      assert.equal(sawDone, f.sawDone);
      assert.deepStrictEqual(acc.response(), f.expected);
      assert.equal(acc.chunkCount, f.chunks.length);
    });

    test(`${f.name}: textDeltas of its chunks spell the expected text per choice`, () => {
      const texts: string[] = [];
      for (const chunk of f.chunks) {
        for (const { index, text } of textDeltas(chunk)) texts[index] = (texts[index] ?? '') + text;
      }
      assert.deepStrictEqual(
        f.expectedText.map((_, i) => texts[i] ?? ''),
        f.expectedText,
      );
    });
  }
});

describe('failed streams keep the partial result', () => {
  test('finish({error}) fills error.partial with the snapshot', () => {
    const acc = createAccumulator('chat');
    for (const chunk of chatBasic.chunks.slice(0, 4)) acc.push(chunk);
    const error = new ConnectionError('socket hang up');
    const end = acc.finish({ error });
    assert.equal(end.state, 'failed');
    const partial = error.partial as ChatCompletion | undefined;
    assert.equal(partial?.choices[0]?.message.content, 'A sluice gate holds water back');
  });

  test('an error that already has a partial keeps it', () => {
    const acc = createAccumulator('chat');
    acc.push(chatBasic.chunks[1]!);
    const error = new ConnectionError('reset', { partial: chatTwoChoices.expected });
    acc.finish({ error });
    assert.equal(error.partial, chatTwoChoices.expected);
  });

  test('aborted carries the reason', () => {
    const acc = createAccumulator('chat');
    const reason = new AbortError();
    assert.deepStrictEqual(acc.finish({ aborted: reason }), { state: 'aborted', reason });
    assert.deepStrictEqual(acc.finish({ aborted: undefined }), { state: 'aborted' });
  });
});

describe('snapshots', () => {
  test('response() mid-stream shows what arrived so far, and later pushes do not change it', () => {
    const acc = createAccumulator('chat');
    for (const chunk of chatBasic.chunks.slice(0, 3)) acc.push(chunk);
    const early = acc.response();
    const earlyJson = JSON.stringify(early);
    assert.equal(early.choices[0]?.message.content, 'A sluice gate');
    assert.equal(early.choices[0]?.finish_reason, null);
    for (const chunk of chatBasic.chunks.slice(3)) acc.push(chunk);
    assert.equal(JSON.stringify(early), earlyJson);
    assert.deepStrictEqual(acc.response(), chatBasic.expected);
    assert.deepStrictEqual(acc.response(), chatBasic.expected, 'a second snapshot is identical');
  });

  test('mutating a snapshot does not change the next one', () => {
    const acc = createAccumulator('chat');
    for (const chunk of chatBasic.chunks) acc.push(chunk);
    const first = acc.response();
    first.choices[0]!.content_filter_results!.hate!.filtered = true;
    first.usage!.total_tokens = 0;
    first.prompt_filter_results![0]!.prompt_index = 9;
    assert.deepStrictEqual(acc.response(), chatBasic.expected);
  });

  test('an empty accumulator gives an empty response of the right kind', () => {
    assert.deepStrictEqual(createAccumulator('chat').response(), {
      id: '',
      object: 'chat.completion',
      created: 0,
      model: '',
      choices: [],
    });
    assert.deepStrictEqual(createAccumulator('completions').response(), {
      id: '',
      object: 'text_completion',
      created: 0,
      model: '',
      choices: [],
    });
  });
});

describe('header fields', () => {
  test('an annotation chunk (id "") arriving first never wins over a real chunk', () => {
    const acc = createAccumulator('chat');
    acc.push({
      id: '',
      object: '',
      created: 0,
      model: '',
      choices: [{ index: 0, finish_reason: null, content_filter_results: {} }],
    });
    acc.push({ id: 'chatcmpl-real', object: 'chat.completion.chunk', created: 5, model: 'gpt-4o', choices: [] });
    acc.push({ id: 'chatcmpl-later', object: 'chat.completion.chunk', created: 6, model: 'other', choices: [] });
    const r = acc.response();
    assert.deepStrictEqual([r.id, r.created, r.model], ['chatcmpl-real', 5, 'gpt-4o']);
  });

  test('without any id, the first chunk with choices supplies the header', () => {
    const acc = createAccumulator('completions');
    acc.push({ id: '', object: '', created: 0, model: '', choices: [] });
    acc.push({
      id: '',
      object: 'text_completion',
      created: 7,
      model: 'local',
      choices: [{ index: 0, text: 'x', finish_reason: null }],
    });
    assert.deepStrictEqual([acc.response().created, acc.response().model], [7, 'local']);
  });

  test('system_fingerprint: first non-null wins; absent everywhere means absent', () => {
    const acc = createAccumulator('chat');
    const base = { id: 'c', object: 'chat.completion.chunk' as const, created: 1, model: 'm', choices: [] };
    acc.push({ ...base, system_fingerprint: null });
    assert.equal(acc.response().system_fingerprint, null);
    acc.push({ ...base, system_fingerprint: 'fp_a' });
    acc.push({ ...base, system_fingerprint: 'fp_b' });
    assert.equal(acc.response().system_fingerprint, 'fp_a');
    const none = createAccumulator('chat');
    none.push(base);
    assert.equal('system_fingerprint' in none.response(), false);
  });
});

describe('choices', () => {
  const chunk = (choices: ChatCompletionChunk['choices']): ChatCompletionChunk => ({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices,
  });

  test('choices arrive out of order and come out sorted by index', () => {
    const acc = createAccumulator('chat');
    acc.push(chunk([{ index: 2, delta: { content: 'c' }, finish_reason: 'stop' }]));
    acc.push(chunk([{ index: 0, delta: { content: 'a' }, finish_reason: 'stop' }]));
    acc.push(chunk([{ index: 1, delta: { content: 'b' }, finish_reason: 'stop' }]));
    assert.deepStrictEqual(
      acc.response().choices.map((c) => [c.index, c.message.content]),
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
      ],
    );
  });

  test('one chunk may carry deltas of several choices', () => {
    const acc = createAccumulator('chat');
    acc.push(
      chunk([
        { index: 0, delta: { content: 'x' }, finish_reason: null },
        { index: 1, delta: { content: 'y' }, finish_reason: null },
        { index: 0, delta: { content: 'z' }, finish_reason: 'stop' },
      ]),
    );
    assert.deepStrictEqual(
      acc.response().choices.map((c) => c.message.content),
      ['xz', 'y'],
    );
  });

  test('content_filter sticks: a later stop does not un-filter a choice', () => {
    const acc = createAccumulator('chat');
    acc.push(chunk([{ index: 0, delta: {}, finish_reason: 'content_filter' }]));
    acc.push(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    assert.equal(acc.response().choices[0]?.finish_reason, 'content_filter');
  });

  test('a choice with nothing but a finish chunk has content ""', () => {
    const acc = createAccumulator('chat');
    acc.push(chunk([{ index: 0, delta: {}, finish_reason: 'length' }]));
    assert.deepStrictEqual(acc.response().choices[0]?.message, { role: 'assistant', content: '' });
  });

  test('content and tool calls together keep the content', () => {
    const acc = createAccumulator('chat');
    acc.push(chunk([{ index: 0, delta: { content: 'Let me check.' }, finish_reason: null }]));
    acc.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ]),
    );
    assert.equal(acc.response().choices[0]?.message.content, 'Let me check.');
  });

  test('tool calls interleaved by their index are kept apart, sorted, first id/name wins', () => {
    const acc = createAccumulator('chat');
    acc.push(
      chunk([
        {
          index: 0,
          delta: { tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '[' } }] },
          finish_reason: null,
        },
      ]),
    );
    acc.push(
      chunk([
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{' } }] },
          finish_reason: null,
        },
      ]),
    );
    acc.push(
      chunk([
        {
          index: 0,
          delta: { tool_calls: [{ index: 1, id: 'b2', function: { name: 'g2', arguments: ']' } }] },
          finish_reason: null,
        },
      ]),
    );
    acc.push(
      chunk([
        { index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '}' } }] }, finish_reason: 'tool_calls' },
      ]),
    );
    assert.deepStrictEqual(acc.response().choices[0]?.message.tool_calls, [
      { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } },
      { id: 'b', type: 'function', function: { name: 'g', arguments: '[]' } },
    ]);
  });

  test('tool-call deltas without index: an id starts a call, no id continues the last', () => {
    const acc = createAccumulator('chat');
    const delta = (d: object) => chunk([{ index: 0, delta: { tool_calls: [d as never] }, finish_reason: null }]);
    acc.push(delta({ id: 'a', type: 'function', function: { name: 'f', arguments: '{"x"' } }));
    acc.push(delta({ function: { arguments: ':1}' } }));
    acc.push(delta({ id: 'b', type: 'function', function: { name: 'g', arguments: '{}' } }));
    assert.deepStrictEqual(
      acc.response().choices[0]?.message.tool_calls?.map((c) => [c.id, c.function.arguments]),
      [
        ['a', '{"x":1}'],
        ['b', '{}'],
      ],
    );
  });

  test('the parallel tool calls fixture accumulates arguments to valid JSON', () => {
    const acc = createAccumulator('chat');
    for (const c of chatParallelToolCalls.chunks) acc.push(c);
    for (const call of acc.response().choices[0]?.message.tool_calls ?? []) {
      assert.doesNotThrow(() => JSON.parse(call.function.arguments));
    }
  });

  test('a choice without index is routed to 0 instead of crashing', () => {
    const acc = createAccumulator('chat');
    acc.push(chunk([{ delta: { content: 'x' }, finish_reason: 'stop' } as never]));
    assert.equal(acc.response().choices[0]?.index, 0);
  });

  test('chunks without a choices array (some compatible servers) are tolerated', () => {
    const acc = createAccumulator('chat');
    acc.push({
      id: 'c',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 },
    } as never);
    assert.deepStrictEqual(acc.response().usage, { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 });
  });
});

describe('content filter results across many chunks', () => {
  test('the worst result survives batched merging, before and after a snapshot', () => {
    const acc = createAccumulator('chat');
    const push = (i: number, severity: 'safe' | 'low' | 'high', filtered = false) =>
      acc.push({
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [
          {
            index: 0,
            delta: { content: `${i} ` },
            finish_reason: null,
            content_filter_results: { violence: { filtered, severity } },
          },
        ],
      });
    for (let i = 0; i < 300; i++) push(i, i === 3 ? 'low' : 'safe');
    assert.deepStrictEqual(acc.response().choices[0]?.content_filter_results, {
      violence: { filtered: false, severity: 'low' },
    });
    for (let i = 300; i < 500; i++) push(i, i === 420 ? 'high' : 'safe', i === 420);
    const choice = acc.response().choices[0]!;
    assert.deepStrictEqual(choice.content_filter_results, { violence: { filtered: true, severity: 'high' } });
    assert.equal(String(choice.message.content).split(' ').length, 501);
  });
});

describe('completions logprobs', () => {
  const chunk = (choice: CompletionChunk['choices'][number]): CompletionChunk => ({
    id: 'cmpl',
    object: 'text_completion',
    created: 1,
    model: 'm',
    choices: [choice],
  });

  test('top_logprobs null on every chunk stays null; arrays stay parallel', () => {
    const acc = createAccumulator('completions');
    acc.push(
      chunk({
        index: 0,
        text: 'a',
        finish_reason: null,
        logprobs: { tokens: ['a'], token_logprobs: [-1], top_logprobs: null, text_offset: [0] },
      }),
    );
    acc.push(
      chunk({
        index: 0,
        text: 'b',
        finish_reason: 'stop',
        logprobs: { tokens: ['b'], token_logprobs: [-2], top_logprobs: null, text_offset: [1] },
      }),
    );
    assert.deepStrictEqual(acc.response().choices[0]?.logprobs, {
      tokens: ['a', 'b'],
      token_logprobs: [-1, -2],
      top_logprobs: null,
      text_offset: [0, 1],
    });
  });

  test('a chunk lacking top_logprobs among ones that have them contributes nulls', () => {
    const acc = createAccumulator('completions');
    acc.push(
      chunk({
        index: 0,
        text: 'a',
        finish_reason: null,
        logprobs: { tokens: ['a'], token_logprobs: [-1], top_logprobs: [{ a: -1 }], text_offset: [0] },
      }),
    );
    acc.push(
      chunk({
        index: 0,
        text: 'bc',
        finish_reason: null,
        logprobs: { tokens: ['b', 'c'], token_logprobs: [-2, -3], top_logprobs: null, text_offset: [1, 2] },
      }),
    );
    assert.deepStrictEqual(acc.response().choices[0]?.logprobs?.top_logprobs, [{ a: -1 }, null, null]);
  });
});

describe('prompt filter results', () => {
  test('the same prompt_index reported twice is merged, not duplicated', () => {
    const acc = createAccumulator('chat');
    const base = { id: '', object: '' as const, created: 0, model: '', choices: [] };
    acc.push({
      ...base,
      prompt_filter_results: [
        { prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: 'safe' } } },
      ],
    });
    acc.push({
      ...base,
      prompt_annotations: [{ prompt_index: 0, content_filter_results: { hate: { filtered: true, severity: 'high' } } }],
    });
    assert.deepStrictEqual(acc.response().prompt_filter_results, [
      { prompt_index: 0, content_filter_results: { hate: { filtered: true, severity: 'high' } } },
    ]);
  });

  test('a field besides the filter results is kept as a copy; the results are merged copies', () => {
    const acc = createAccumulator('chat');
    const entry = {
      prompt_index: 0,
      extra: { note: 'kept' },
      content_filter_results: { hate: { filtered: false, severity: 'safe' as const } },
    };
    acc.push({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [entry] });
    entry.extra.note = 'changed later';
    entry.content_filter_results.hate.filtered = true;
    assert.deepStrictEqual(acc.response().prompt_filter_results, [
      {
        prompt_index: 0,
        extra: { note: 'kept' },
        content_filter_results: { hate: { filtered: false, severity: 'safe' } },
      },
    ]);
  });
});

describe('long answers', () => {
  const chatChunk = (delta: ChatCompletionChunk['choices'][number]['delta']): ChatCompletionChunk => ({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: null }],
  });

  test('text, refusal and tool-call arguments of hundreds of chunks come out whole, with snapshots between', () => {
    const acc = createAccumulator('chat');
    let content = '';
    let refusal = '';
    let args = '';
    acc.push(
      chatChunk({ role: 'assistant', tool_calls: [{ index: 0, id: 't', type: 'function', function: { name: 'f' } }] }),
    );
    for (let i = 0; i < 500; i++) {
      const piece = `${i} word${i % 13} `;
      acc.push(
        chatChunk({ content: piece, refusal: `r${i}`, tool_calls: [{ index: 0, function: { arguments: `{${i}}` } }] }),
      );
      content += piece;
      refusal += `r${i}`;
      args += `{${i}}`;
      // A snapshot mid-stream (an error's partial) joins what came; later pieces keep coming.
      if (i === 70 || i === 333) {
        const message = (acc.response() as ChatCompletion).choices[0]!.message;
        assert.equal(message.content, content);
        assert.equal(message.refusal, refusal);
        assert.equal(message.tool_calls?.[0]?.function.arguments, args);
      }
    }
    const message = (acc.response() as ChatCompletion).choices[0]!.message;
    assert.equal(message.content, content);
    assert.equal(message.refusal, refusal);
    assert.equal(message.tool_calls?.[0]?.function.arguments, args);
  });

  test("a completion's text of hundreds of chunks comes out whole", () => {
    const acc = createAccumulator('completions');
    let text = '';
    for (let i = 0; i < 300; i++) {
      const piece = ` t${i}`;
      const chunk: CompletionChunk = {
        id: 'c',
        object: 'text_completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, text: piece, finish_reason: null, logprobs: null }],
      };
      acc.push(chunk);
      text += piece;
    }
    assert.equal((acc.response() as { choices: Array<{ text: string }> }).choices[0]!.text, text);
  });

  test("holds a long answer's text in about its characters, not an object per chunk", async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Pieces as JSON.parse makes them: fresh strings, too long to be shared (a few words each).
    const texts = Array.from({ length: 10_000 }, (_, i) =>
      JSON.stringify(chatChunk({ content: ` a few words, ${(i * 7919) % 100_000}` })),
    );
    const accumulators: ReturnType<typeof createAccumulator>[] = [];
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let a = 0; a < 20; a++) {
      const acc = createAccumulator('chat');
      for (const text of texts) acc.push(JSON.parse(text) as ChatCompletionChunk);
      accumulators.push(acc);
    }
    gc();
    gc();
    const perChunk = (process.memoryUsage().heapUsed - before) / 20 / texts.length;
    // About 20 characters a chunk; a string and an array slot per chunk held about 45 bytes.
    assert.ok(perChunk < 32, `${perChunk.toFixed(1)} bytes held per chunk`);
    assert.equal(accumulators.length, 20);
  });
});
