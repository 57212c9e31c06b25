// Upstream JSON with `__proto__`, `constructor` or `prototype` keys must never reach a
// prototype: `JSON.parse` makes them own keys, and a merge that assigns them would change
// `Object.prototype` for every later stream in the process (issue 9).
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { ChatCompletionChunk, CompletionChunk, ContentFilterResults } from '../types.js';
import { createAccumulator } from './accumulate.js';
import { mergeFilterResults } from './filters.js';
import { redactSecretsDeep } from './secrets.js';

const POLLUTERS = ['polluted', 'filtered', 'severity', 'detected', 'id', 'details'];

function assertClean(): void {
  const probe: Record<string, unknown> = {};
  for (const key of POLLUTERS) assert.equal(probe[key], undefined, `Object.prototype.${key} was set`);
  assert.equal(Object.getPrototypeOf(probe), Object.prototype);
}

afterEach(() => {
  // Leave the process clean even when a test fails, so one failure does not cascade.
  for (const key of POLLUTERS) delete (Object.prototype as Record<string, unknown>)[key];
});

const chunk = (results: string, extra = '') =>
  JSON.parse(
    `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null,"content_filter_results":${results}}]${extra}}`,
  ) as ChatCompletionChunk;

describe('no upstream key reaches a prototype', () => {
  test('mergeFilterResults: a top-level __proto__ category, merged twice', () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":"yes","filtered":true}}') as ContentFilterResults;
    const merged = mergeFilterResults({}, hostile);
    mergeFilterResults(merged, JSON.parse('{"__proto__":{"severity":"high","polluted":"again"}}'));
    assertClean();
    assert.equal(Object.getPrototypeOf(merged), Object.prototype, 'the target keeps its prototype');
  });

  test('mergeFilterResults: __proto__ inside a category and inside custom_blocklists', () => {
    const merged = mergeFilterResults(
      { hate: { filtered: false, severity: 'safe' }, custom_blocklists: { filtered: false, details: [] } },
      JSON.parse(
        '{"hate":{"__proto__":{"polluted":1},"filtered":false},"custom_blocklists":{"__proto__":{"polluted":2},"filtered":true,"details":[{"__proto__":{"polluted":3},"id":"b","filtered":true}]}}',
      ),
    );
    assertClean();
    assert.deepStrictEqual(merged.custom_blocklists, { filtered: true, details: [{ id: 'b', filtered: true }] });
    assert.deepStrictEqual(merged.hate, { filtered: false, severity: 'safe' });
  });

  test('constructor and prototype keys are dropped, not assigned', () => {
    const merged = mergeFilterResults(
      { violence: { filtered: false, severity: 'low' } },
      JSON.parse('{"constructor":{"polluted":1},"prototype":{"polluted":2},"violence":{"constructor":{"x":1}}}'),
    );
    assertClean();
    assert.equal(Object.hasOwn(merged, 'constructor'), false);
    assert.equal(Object.hasOwn(merged, 'prototype'), false);
    assert.equal(Object.hasOwn(merged.violence as object, 'constructor'), false);
  });

  test('the accumulator: hostile choice, prompt and annotation results leave later streams working', () => {
    const acc = createAccumulator('chat');
    acc.push(
      JSON.parse(
        '{"id":"","object":"","created":0,"model":"","choices":[],"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"__proto__":{"polluted":"p"}}}]}',
      ),
    );
    // More than one batch of per-chunk results, so the batched merge runs too.
    for (let i = 0; i < 70; i++) acc.push(chunk('{"__proto__":{"polluted":"c","filtered":true}}'));
    acc.push(
      JSON.parse(
        '{"id":"","object":"","created":0,"model":"","choices":[],"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"__proto__":{"severity":"high"}}}]}',
      ),
    );
    acc.push(chunk('{"hate":{"filtered":false,"severity":"safe"}}', ''));
    const response = acc.response();
    assertClean();
    assert.equal(response.choices[0]?.message.content, 'x'.repeat(71));
    assert.deepStrictEqual(acc.finish({ sawDone: false }).state, 'truncated');

    // A later, honest stream still completes with honest filter results.
    const next = createAccumulator('completions');
    next.push({
      id: 'k',
      object: 'text_completion',
      created: 1,
      model: 'm',
      choices: [
        {
          index: 0,
          text: 'ok',
          finish_reason: 'stop',
          content_filter_results: { hate: { filtered: false, severity: 'safe' } },
        },
      ],
    } as CompletionChunk);
    assert.deepStrictEqual(next.finish({ sawDone: true }), { state: 'completed' });
    assert.deepStrictEqual(next.response().choices[0]?.content_filter_results, {
      hate: { filtered: false, severity: 'safe' },
    });
  });

  test('redactSecretsDeep copies without prototype keys', () => {
    const copy = redactSecretsDeep(JSON.parse('{"error":{"__proto__":{"polluted":1},"message":"m"}}')) as {
      error: Record<string, unknown>;
    };
    assertClean();
    assert.equal(Object.hasOwn(copy.error, '__proto__'), false);
    assert.equal(copy.error.message, 'm');
  });
});
