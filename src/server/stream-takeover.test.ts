import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScriptedBackend, textScript } from '../backends/scripted/index.js';
import { chunkBuilder } from '../protocol/chunks.js';
import { chunkFrame } from '../protocol/sse-relay.js';
import type { StreamEnd, StreamEntry, StreamLog, TakeoverPlan } from '../streams/log.js';
import { INCOMPLETE_FRAME, takeOver } from './stream-takeover.js';

/** A log that records what the takeover appends (the rest of the interface is not used). */
function recordingLog() {
  const appended: { position: number; frame: string; end?: StreamEnd }[] = [];
  const log = {
    append: (_id: string, position: number, frame: string, end?: StreamEnd) =>
      appended.push(end === undefined ? { position, frame } : { position, frame, end }),
    onStop: () => () => {},
    hasReader: async () => true,
  } as unknown as StreamLog;
  return { log, appended };
}

const PLAN: TakeoverPlan = { kind: 'chat', dialect: 'openai', deployment: 'm', body: { messages: [] } };
const first = chunkBuilder('chat', { id: 'chatcmpl-first', created: 1, model: 'gpt-4o' });
const logged = (...chunks: object[]): StreamEntry[] =>
  chunks.map((chunk, i) => ({ position: i + 1, frame: chunkFrame(chunk) }));

async function takeOverWith(entries: StreamEntry[], continuation = createScriptedBackend(textScript('chat', ' more'))) {
  const { log, appended } = recordingLog();
  await takeOver(
    { streams: { log, keepGoingMs: 60_000 }, backendFor: () => continuation, live: new Set() },
    'id',
    PLAN,
    entries,
  );
  return { appended, asked: continuation.requests.length };
}

test('a taken-over answer goes on from the next position, re-spelled, and ends with [DONE]', async () => {
  const { appended, asked } = await takeOverWith(logged(first.role(0)!, first.content(0, 'Once')));
  assert.equal(asked, 1);
  assert.deepEqual(
    appended.map((a) => a.position),
    appended.map((_, i) => i + 3),
  );
  assert.deepEqual(appended.at(-1), { position: appended.length + 2, frame: 'data: [DONE]\n\n', end: 'done' });
  const chunks = appended.slice(0, -1).map((a) => JSON.parse(a.frame.slice(6)));
  assert.ok(chunks.every((c) => c.id === 'chatcmpl-first' && c.created === 1));
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), ' more');
});

test('an answer that had finished (its producer died before [DONE]) gets its [DONE], no target asked', async () => {
  const { appended, asked } = await takeOverWith(
    logged(first.role(0)!, first.content(0, 'Done.'), first.finish(0, 'stop')),
  );
  assert.equal(asked, 0);
  assert.deepEqual(appended, [{ position: 4, frame: 'data: [DONE]\n\n', end: 'done' }]);
});

test('never inside a tool call: the log ends with stream_incomplete, no target asked', async () => {
  const { appended, asked } = await takeOverWith(
    logged(first.role(0)!, first.toolCall(0, 0, 'call_1', 'weather'), first.toolArguments(0, 0, '{"ci')),
  );
  assert.equal(asked, 0);
  assert.deepEqual(appended, [{ position: 4, frame: INCOMPLETE_FRAME, end: 'error' }]);
});

test('logged frames are read as any SSE answer: a chunk over two data lines counts, a malformed one ends incomplete', async () => {
  // An upstream may spread a chunk's JSON over several data lines; relayed as it came, it is
  // logged that way.
  const content = JSON.stringify(first.content(0, 'Once'), null, 1);
  const spread = {
    position: 2,
    frame: `${content
      .split('\n')
      .map((line) => `data: ${line}`)
      .join('\n')}\n\n`,
  };
  const whole = await takeOverWith([...logged(first.role(0)!), spread]);
  assert.equal(whole.asked, 1, 'continued from the partial');
  assert.equal(whole.appended.at(-1)?.end, 'done');

  const hostile = { position: 2, frame: 'data: {"choices":[{"index":0,"delta":{"content":7}},null]}\n\n' };
  const cut = await takeOverWith([...logged(first.role(0)!), hostile]);
  assert.equal(cut.asked, 0);
  assert.deepEqual(cut.appended, [{ position: 3, frame: INCOMPLETE_FRAME, end: 'error' }]);
});
