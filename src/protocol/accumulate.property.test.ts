import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ChatCompletionChunk, CompletionChunk, ContentFilterResults, FilterSeverity } from '../types.js';
import { createAccumulator } from './accumulate.js';

const HEADER = { id: 'chatcmpl-prop', created: 1732550400, model: 'gpt-4o-2024-08-06', system_fingerprint: 'fp_x' };

const severity = fc.constantFrom<FilterSeverity>('safe', 'low', 'medium', 'high');
const filters: fc.Arbitrary<ContentFilterResults | undefined> = fc.option(
  fc.record({
    hate: fc.record({ filtered: fc.boolean(), severity }),
    violence: fc.record({ filtered: fc.boolean(), severity }),
  }),
  { nil: undefined },
);

/** One choice's script: fragments (with optional filter results and logprob), a finish reason, a late annotation. */
const choiceScript = fc.record({
  fragments: fc.array(
    fc.record({
      text: fc.string({ minLength: 1, maxLength: 6 }),
      filters,
      logprob: fc.option(fc.double({ min: -20, max: 0, noNaN: true }), { nil: undefined }),
    }),
    {
      maxLength: 12,
    },
  ),
  toolArgs: fc.array(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 4 }),
  finish: fc.constantFrom('stop', 'length', 'content_filter', 'tool_calls'),
  lateAnnotation: filters,
});
type ChoiceScript = typeof choiceScript extends fc.Arbitrary<infer T> ? T : never;

function chatChunks(index: number, s: ChoiceScript): ChatCompletionChunk[] {
  const chunk = (choice: ChatCompletionChunk['choices'][number]): ChatCompletionChunk => ({
    ...HEADER,
    object: 'chat.completion.chunk',
    choices: [choice],
  });
  const out: ChatCompletionChunk[] = [
    chunk({ index, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }),
  ];
  for (const f of s.fragments) {
    out.push(
      chunk({
        index,
        delta: { content: f.text },
        finish_reason: null,
        logprobs:
          f.logprob === undefined
            ? null
            : { content: [{ token: f.text, logprob: f.logprob, bytes: null, top_logprobs: [] }] },
        ...(f.filters !== undefined ? { content_filter_results: f.filters } : {}),
      }),
    );
  }
  s.toolArgs.forEach((args, i) => {
    out.push(
      chunk({
        index,
        delta: {
          tool_calls: [
            i === 0
              ? { index: 0, id: `call_${index}`, type: 'function', function: { name: 'f', arguments: args } }
              : { index: 0, function: { arguments: args } },
          ],
        },
        finish_reason: null,
      }),
    );
  });
  out.push(chunk({ index, delta: {}, finish_reason: s.finish, logprobs: null }));
  if (s.lateAnnotation !== undefined) {
    out.push({
      id: '',
      object: '',
      created: 0,
      model: '',
      choices: [
        {
          index,
          finish_reason: null,
          content_filter_results: s.lateAnnotation,
          content_filter_offsets: { check_offset: 1, start_offset: 0, end_offset: 1 },
        },
      ],
    });
  }
  return out;
}

function completionChunks(index: number, s: ChoiceScript): CompletionChunk[] {
  const chunk = (choice: CompletionChunk['choices'][number]): CompletionChunk => ({
    ...HEADER,
    id: 'cmpl-prop',
    object: 'text_completion',
    choices: [choice],
  });
  const out: CompletionChunk[] = [];
  s.fragments.forEach((f, i) => {
    out.push(
      chunk({
        index,
        text: f.text,
        finish_reason: null,
        logprobs:
          f.logprob === undefined
            ? null
            : {
                tokens: [f.text],
                token_logprobs: [f.logprob],
                top_logprobs: [{ [f.text]: f.logprob }],
                text_offset: [i],
              },
        ...(f.filters !== undefined ? { content_filter_results: f.filters } : {}),
      }),
    );
  });
  out.push(chunk({ index, text: '', finish_reason: s.finish, logprobs: null }));
  return out;
}

/** Merges two sequences following `schedule` (true: take from `a`), keeping each one's order. */
function interleave<T>(a: T[], b: T[], schedule: boolean[]): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) {
    const takeA = j >= b.length || (i < a.length && (schedule[k++] ?? true));
    out.push(takeA ? a[i++]! : b[j++]!);
  }
  return out;
}

const schedule = fc.array(fc.boolean(), { maxLength: 80 });

test('chat: any interleaving of two choices accumulates to the same response as the choices in turn', () => {
  fc.assert(
    fc.property(choiceScript, choiceScript, schedule, (s0, s1, order) => {
      const a = chatChunks(0, s0);
      const b = chatChunks(1, s1);
      const mixed = createAccumulator('chat');
      for (const c of interleave(a, b, order)) mixed.push(c);
      const inTurn = createAccumulator('chat');
      for (const c of [...a, ...b]) inTurn.push(c);
      const got = mixed.response();
      assert.deepStrictEqual(got, inTurn.response());
      // And it is the right response, not just a stable one.
      for (const [index, s] of [s0, s1].entries()) {
        const choice = got.choices[index]!;
        const text = s.fragments.map((f) => f.text).join('');
        assert.equal(choice.index, index);
        assert.equal(choice.message.content, text === '' && s.toolArgs.length > 0 ? null : text);
        assert.equal(choice.finish_reason, s.finish);
        assert.equal(
          choice.message.tool_calls?.[0]?.function.arguments,
          s.toolArgs.length > 0 ? s.toolArgs.join('') : undefined,
        );
        const logprobs = s.fragments.filter((f) => f.logprob !== undefined).map((f) => f.logprob);
        assert.deepStrictEqual(choice.logprobs?.content?.map((t) => t.logprob) ?? [], logprobs);
        const fired = [...s.fragments.map((f) => f.filters), s.lateAnnotation].some((r) => r?.hate?.filtered);
        assert.equal(choice.content_filter_results?.hate?.filtered ?? false, fired);
      }
      assert.deepStrictEqual(mixed.finish({ sawDone: true }), inTurn.finish({ sawDone: true }));
    }),
    { numRuns: 300 },
  );
});

test('completions: any interleaving of two choices accumulates to the same response as the choices in turn', () => {
  fc.assert(
    fc.property(choiceScript, choiceScript, schedule, (s0, s1, order) => {
      const a = completionChunks(0, s0);
      const b = completionChunks(1, s1);
      const mixed = createAccumulator('completions');
      for (const c of interleave(a, b, order)) mixed.push(c);
      const inTurn = createAccumulator('completions');
      for (const c of [...a, ...b]) inTurn.push(c);
      const got = mixed.response();
      assert.deepStrictEqual(got, inTurn.response());
      for (const [index, s] of [s0, s1].entries()) {
        assert.equal(got.choices[index]?.text, s.fragments.map((f) => f.text).join(''));
        assert.deepStrictEqual(
          got.choices[index]?.logprobs?.tokens ?? [],
          s.fragments.filter((f) => f.logprob !== undefined).map((f) => f.text),
        );
      }
    }),
    { numRuns: 300 },
  );
});
