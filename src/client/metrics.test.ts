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
