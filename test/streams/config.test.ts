// The gateway file's `redis:` and `streams:` keys: a Redis URL (credentials allowed, never
// echoed), resumability on by default with Redis and off without, strict keys with "did
// you mean", and the stream log each setting picks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayConfigError, parseGatewayConfig } from '../../src/gateway/config.js';
import { openStreams } from '../../src/streams/setup.js';

const MODELS = 'models:\n  story:\n    - local: true\n';

function parse(extra: string) {
  return parseGatewayConfig(MODELS + extra, { file: '/cfg/sluice.yaml', shownAs: 'sluice.yaml', env: {} });
}

function refusal(extra: string): string {
  try {
    parse(extra);
  } catch (e) {
    if (e instanceof GatewayConfigError) return e.message;
    throw e;
  }
  return assert.fail('expected the file to be refused');
}

test('redis: takes a redis:// URL; anything else is refused at its line without echoing it', () => {
  const { config } = parse('redis: redis://:pw-123456@127.0.0.1:6390/0\nstreams: { keep_going_ms: 5000 }\n');
  assert.equal(config.redis, 'redis://:pw-123456@127.0.0.1:6390/0');
  assert.deepEqual(config.streams, { keepGoingMs: 5000 });
  const message = refusal('redis: http://user:hunter2@cache:6379\n');
  assert.match(message, /sluice\.yaml:4:\d+: .*must be a Redis URL such as redis:\/\/127\.0\.0\.1:6379/);
  assert.doesNotMatch(message, /hunter2/);
  assert.match(refusal('streams: { resumeable: true }\n'), /did you mean .*resumable/);
});

test('resumable by default with Redis, not without; streams.resumable: true gives one instance an in-memory log', async () => {
  const lines: string[] = [];
  assert.equal(
    openStreams({ streams: {} }, (l) => lines.push(l)),
    undefined,
  );
  const memory = openStreams({ streams: { resumable: true } }, (l) => lines.push(l));
  assert.match(memory?.log.metrics() ?? '', /store="memory"/);
  assert.equal(memory?.keepGoingMs, 30_000);
  await memory?.log.close();
  const redis = openStreams({ redis: 'redis://127.0.0.1:1', streams: { keepGoingMs: 10 } }, (l) => lines.push(l));
  assert.match(redis?.log.metrics() ?? '', /store="redis"/);
  assert.equal(redis?.keepGoingMs, 10);
  await redis?.log.close();
  assert.equal(
    openStreams({ redis: 'redis://127.0.0.1:1', streams: { resumable: false } }, () => {}),
    undefined,
  );
});
