import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatCompletionChunk, CompletionChunk } from '../types.js';
import { MetricsRecorder, tokenDeltas } from './metrics.js';

const chat = (choices: ChatCompletionChunk['choices']): ChatCompletionChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'm',
  choices,
});

test('tokenDeltas counts choices with text, refusal or tool calls, and nothing else', () => {
  assert.equal(tokenDeltas(chat([])), 0, 'prompt-filter / usage chunk');
  assert.equal(tokenDeltas(chat([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])), 0);
  assert.equal(tokenDeltas(chat([{ index: 0, finish_reason: null, content_filter_results: {} }])), 0, 'annotation');
  assert.equal(
    tokenDeltas(
      chat([
        { index: 0, delta: { content: 'Hi' }, finish_reason: null },
        { index: 1, delta: { refusal: 'no' }, finish_reason: null },
        { index: 2, delta: { tool_calls: [{ index: 0, function: { arguments: '{' } }] }, finish_reason: null },
      ]),
    ),
    3,
  );
  const legacy: CompletionChunk = {
    id: 'x',
    object: 'text_completion',
    created: 0,
    model: 'm',
    choices: [
      { index: 0, text: 'a', finish_reason: null, logprobs: null },
      { index: 1, text: '', finish_reason: 'stop', logprobs: null },
    ],
  };
  assert.equal(tokenDeltas(legacy), 1);
});

test('gaps, first token, duration and tokens per second from injected times', () => {
  const m = new MetricsRecorder(1000);
  m.headers(1010);
  m.chunk(1020, 0, undefined); // prompt filter
  m.chunk(1030, 1, null); // first token at +30
  for (let i = 1; i <= 9; i++) m.chunk(1030 + i * 10, 1, undefined);
  m.chunk(1200, 0, undefined); // a long gap before the finish chunk: 80 ms
  m.end(1230);
  assert.equal(m.timeToHeadersMs, 10);
  assert.equal(m.timeToFirstTokenMs, 30);
  assert.equal(m.chunks, 12);
  assert.deepEqual(m.gapsMs, { p50: 10, p95: 80, max: 80 });
  assert.equal(m.durationMs, 230);
  // 10 text deltas over 200 ms from first token to end
  assert.equal(m.tokensPerSecond, 50);
  const snap = m.snapshot();
  assert.equal(snap.chunks, 12);
  assert.equal(JSON.parse(JSON.stringify(m)).durationMs, 230);
});

test('usage.completion_tokens replaces the delta count', () => {
  const m = new MetricsRecorder(0);
  m.chunk(100, 1, undefined);
  m.chunk(200, 1, undefined);
  m.chunk(300, 0, { prompt_tokens: 3, completion_tokens: 40, total_tokens: 43 });
  m.end(500);
  assert.equal(m.usage?.completion_tokens, 40);
  assert.equal(m.tokensPerSecond, 100);
});

test('no gaps yet reads as zeros; tokens per second needs an end and two tokens', () => {
  const m = new MetricsRecorder(0);
  assert.deepEqual(m.gapsMs, { p50: 0, p95: 0, max: 0 });
  m.chunk(5, 1, undefined);
  assert.equal(m.tokensPerSecond, undefined);
  m.end(10);
  assert.equal(m.tokensPerSecond, undefined, 'one token is not a rate');
});

test('the gap buffer grows past its initial size and quantiles stay right', () => {
  const m = new MetricsRecorder(0);
  for (let i = 0; i <= 1000; i++) m.chunk(i * 2 + (i === 500 ? 1 : 0), 1, undefined);
  assert.equal(m.chunks, 1001);
  const g = m.gapsMs;
  assert.equal(g.p50, 2);
  assert.equal(g.max, 3);
});

test('gap quantiles are the nearest-rank p50 / p95 and the max, for any count, order and ties', () => {
  const rank = (sorted: number[], q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const orders: Array<(i: number, n: number) => number> = [
    () => Math.floor(random() * 1000) / 8, // random, with ties
    () => 3, // all equal
    (i) => i, // ascending
    (i, n) => n - i, // descending
    (i) => (i % 2 === 0 ? i : 1000 - i), // zigzag
  ];
  for (const n of [1, 2, 3, 19, 20, 21, 100, 4097]) {
    for (const gapAt of orders) {
      const times = [0];
      for (let i = 0; i < n; i++) times.push(times[i]! + gapAt(i, n));
      const recorder = new MetricsRecorder(0);
      for (const now of times) recorder.chunk(now, 0, undefined);
      const sorted = times.slice(1).map((t, i) => t - times[i]!);
      sorted.sort((a, b) => a - b);
      assert.deepEqual(
        recorder.gapsMs,
        { p50: rank(sorted, 0.5), p95: rank(sorted, 0.95), max: sorted[n - 1] },
        `${n} gaps`,
      );
    }
  }
});
