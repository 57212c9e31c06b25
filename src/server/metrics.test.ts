import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatsBackend } from './metrics.js';
import { ServerMetrics, TTFT_BUCKETS } from './metrics.js';

function backend(name: string, stats: () => Record<string, unknown>): StatsBackend {
  return {
    name,
    stream: () => ({ [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true, value: undefined }) }) }),
    stats,
  };
}

/** `name{labels}` -> value, and the declared TYPE of each family. */
function parse(text: string) {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { samples, types };
}

describe('ServerMetrics', () => {
  test('request counters by route and status; the histogram is cumulative', () => {
    const m = new ServerMetrics();
    m.countRequest('azure_chat', 200);
    m.countRequest('azure_chat', 200);
    m.countRequest('azure_chat', 429);
    m.observeTimeToFirstToken(0.0004);
    m.observeTimeToFirstToken(0.003);
    m.observeTimeToFirstToken(100);
    const { samples, types } = parse(m.render([]));
    assert.equal(samples.get('sluice_http_requests_total{route="azure_chat",status="200"}'), 2);
    assert.equal(samples.get('sluice_http_requests_total{route="azure_chat",status="429"}'), 1);
    assert.equal(types.get('sluice_time_to_first_token_seconds'), 'histogram');
    assert.equal(samples.get('sluice_time_to_first_token_seconds_bucket{le="0.001"}'), 1);
    assert.equal(samples.get('sluice_time_to_first_token_seconds_bucket{le="0.005"}'), 2);
    assert.equal(samples.get(`sluice_time_to_first_token_seconds_bucket{le="${TTFT_BUCKETS.at(-1)}"}`), 2);
    assert.equal(samples.get('sluice_time_to_first_token_seconds_bucket{le="+Inf"}'), 3);
    assert.equal(samples.get('sluice_time_to_first_token_seconds_count'), 3);
    assert.ok(Math.abs(samples.get('sluice_time_to_first_token_seconds_sum')! - 100.0034) < 1e-9);
  });

  test('backend stats: numeric fields only, snake_case, one sample per distinct backend, escaped labels', () => {
    const a = backend('local:"tiny"\\x', () => ({
      activeSequences: 2,
      queued: 1,
      loaded: true,
      modelPath: '/m.gguf',
      tokens_total: 9,
    }));
    const b = backend('b', () => ({ queued: 3 }));
    const broken = backend('broken', () => {
      throw new Error('stats failed');
    });
    const { samples, types } = parse(new ServerMetrics().render([a, a, b, broken]));
    assert.equal(samples.get('sluice_backend_active_sequences{backend="local:\\"tiny\\"\\\\x"}'), 2);
    assert.equal(samples.get('sluice_backend_queued{backend="b"}'), 3);
    assert.equal(samples.get('sluice_backend_loaded{backend="local:\\"tiny\\"\\\\x"}'), 1);
    assert.equal(types.get('sluice_backend_tokens_total'), 'counter');
    assert.equal(types.get('sluice_backend_queued'), 'gauge');
    assert.equal([...samples.keys()].filter((k) => k.startsWith('sluice_backend_queued')).length, 2);
    assert.ok(![...samples.keys()].some((k) => k.includes('model_path') || k.includes('broken')));
  });
});
