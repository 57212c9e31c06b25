// Two real `sluice serve` processes sharing a private redis-server (SLUICE_REDIS_URL): the
// producing instance is killed with SIGKILL mid-stream, and a reader resuming on the other
// gets every frame logged up to the crash, then an explicit `stream_incomplete` error frame
// and no [DONE]. The upstream is the Azure test server, slow on purpose (a delta every 40 ms).
// Run `npm run -s build` first.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the configuration file's own syntax
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type AzureServer,
  chatChunks,
  type StreamItem,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, type Running, startServe, tempDir } from '../support/cli.js';
import { type PrivateRedis, startRedis, streamLogReady } from '../support/redis.js';
import { frameReader } from '../support/server.js';

const UPSTREAM_KEY = 'upstream-secret-key-0123456789';
let upstream: AzureServer;
let redis: PrivateRedis;
const running: Running[] = [];

before(async () => {
  assertBuilt();
  redis = await startRedis();
  const words = Array.from({ length: 100 }, (_, i) => `w${i} `);
  const slow: StreamItem[] = chatChunks(words).flatMap((item) => [{ delay: 40 }, item]);
  upstream = await startAzureServer({ apiKey: UPSTREAM_KEY, scenarios: { slow: stream(slow) } });
});
after(async () => {
  for (const s of running) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await upstream.close();
  await redis.stop();
});

async function serve(cwd: string): Promise<{ s: Running; url: string }> {
  const started = await startServe(['--config', 'sluice.yaml'], {
    cwd,
    env: cleanEnv({ UPSTREAM_KEY, SLUICE_REDIS_URL: redis.url }),
  });
  running.push(started.s);
  assert.match(started.s.stdout, /Streams: +resumable \(shared through Redis\)/);
  await streamLogReady(started.url);
  return started;
}

test('kill -9 of the producing instance: a reader on B gets all that was logged, then an explicit incomplete end', async () => {
  const cwd = tempDir({
    'sluice.yaml': [
      'models:',
      '  gpt-4o:',
      `    - azure: ${upstream.url}`,
      '      deployment: slow',
      '      api_key: ${UPSTREAM_KEY}',
      '',
    ].join('\n'),
  });
  const [a, b] = await Promise.all([serve(cwd), serve(cwd)]);
  const res = await fetch(`${a.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  const id = res.headers.get('x-sluice-stream-id');
  assert.ok(id);
  const reader = frameReader(res);
  const seen: string[] = [];
  while (seen.length < 5) {
    const frame = await reader.next();
    if (frame && !frame.startsWith(':')) seen.push(frame);
  }
  a.s.child.kill('SIGKILL');
  await a.s.done;

  const resumed = await fetch(`${b.url}/sluice/v1/streams/${id}`, { headers: { 'last-event-id': '0' } });
  assert.equal(resumed.status, 200);
  const r = frameReader(resumed);
  const frames: string[] = [];
  for (let f = await r.next(); f !== undefined; f = await r.next()) if (!f.startsWith(':')) frames.push(f);
  const last = frames.at(-1)!;
  const logged = frames.slice(0, -1);
  // The log is written beside the socket, not before it: the last frame or so the client saw
  // may not have reached Redis when the process died.
  assert.ok(logged.length >= 1, 'frames were logged before the crash');
  const common = Math.min(logged.length, seen.length);
  assert.deepEqual(logged.slice(0, common), seen.slice(0, common), 'the same frames, from the start');
  assert.match(last, /^data: \{"error":\{"code":"stream_incomplete"/);
  assert.ok(!frames.some((f) => f.includes('[DONE]')), 'no [DONE]');
  const ids = logged.map((f) => Number(/^id: (\d+)/.exec(f)?.[1]));
  assert.deepEqual(
    ids,
    ids.map((_, i) => i + 1),
    'positions 1..N, no gap',
  );
  assert.ok(ids.length < 100, 'the answer was cut by the crash');
  assert.equal(upstream.requests.length, 1, 'not taken over: the model does not continue on failure');
  b.s.child.kill('SIGTERM');
  assert.equal((await b.s.done).code, 0);
});
