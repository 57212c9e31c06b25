// Observability of the gateway as an operator meets it: a router over two upstreams on
// 127.0.0.1 (the first answers 429, the second serves), `sluice serve`'s server in front,
// and an OTLP/HTTP receiver on 127.0.0.1. One streamed request must leave a request span
// with a child span per attempt and the GenAI attributes, per-target series on /metrics,
// a parseable server-timing header and JSON log lines free of keys and prompts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { createScriptedBackend, textScript } from '../../src/backends/scripted/index.js';
import { ConfigError } from '../../src/errors.js';
import { createMemoryHealth } from '../../src/gateway/health.js';
import { createObservability, otlpEndpointFrom } from '../../src/gateway/observability.js';
import { createRouterBackend } from '../../src/gateway/router.js';
import type { RouteTarget } from '../../src/gateway/targets.js';
import { createAccumulator } from '../../src/protocol/accumulate.js';
import {
  chatChunks,
  type Reply,
  reply,
  type Scenario,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { type Fault, type FaultOptions, faultScenario } from '../../src/testing/faults.js';
import type { ChatCompletionChunk } from '../../src/types.js';
import { attr, type OtlpSpan, startReceiver } from '../support/otlp.js';
import { azureUrl, post, start } from '../support/server.js';

const MODEL = 'gpt-4o';
const UPSTREAM_KEY = 'upstream-secret-key-0bs-0123456789';
const CLIENT_KEY = 'client-secret-key-0bs-9876543210';
const PROMPT_MARKER = 'PROMPT-MARKER-7f3a9c';
const USAGE = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 };
const ASK = {
  messages: [{ role: 'user', content: `Tell me a story about ${PROMPT_MARKER}` }],
  stream: true,
  stream_options: { include_usage: true },
  max_tokens: 50,
};

const fault = (name: Fault, options?: FaultOptions) => faultScenario(name, options) as Reply;
const CHUNKS = chatChunks(['Once', ' upon', ' a time'], { id: 'chatcmpl-B', usage: USAGE });
/** The same answer whole, as the upstream gives it to a non-streaming request. */
const COMPLETION = (() => {
  const accumulator = createAccumulator('chat');
  for (const item of CHUNKS) if ('chunk' in item) accumulator.push(item.chunk as ChatCompletionChunk);
  return accumulator.response();
})();
/** The serving upstream: a stream when asked for one, else the whole answer. */
const served =
  (headersDelayMs = 0): Scenario =>
  (request) =>
    (request.body as { stream?: boolean }).stream
      ? stream(CHUNKS, { headersDelayMs })
      : reply(200, COMPLETION, undefined, { headersDelayMs });

interface Setup {
  /** Replies of the first target, in turn (the second always serves). */
  first: Reply[];
  otlpEndpoint?: string;
  json?: boolean;
  breakerFailures?: number;
  /** The second target's wait before its headers, ms. */
  headersDelayMs?: number;
}

/** Two upstreams behind a router behind the server, all observed as `sluice serve` wires them. */
async function startObserved(t: import('node:test').TestContext, setup: Setup) {
  const scenarios: Scenario[] = [setup.first, served(setup.headersDelayMs)];
  const upstreams = await Promise.all(
    scenarios.map((scenario) => startAzureServer({ apiKey: UPSTREAM_KEY, scenarios: { d: scenario } })),
  );
  t.after(() => Promise.all(upstreams.map((u) => u.close())));
  const targets: RouteTarget[] = upstreams.map((u, i) => ({
    id: `${MODEL}/${i}:azure:127.0.0.1:${u.port}`,
    backend: createRemoteBackend({ endpoint: u.url, apiKey: UPSTREAM_KEY, deployment: 'd', maxRetries: 0 }),
    priority: 1,
    weight: 1,
    timeouts: {},
  }));
  const lines: string[] = [];
  const obs = await createObservability({
    otlpEndpoint: setup.otlpEndpoint,
    jsonLog: setup.json ? (line) => lines.push(line) : undefined,
    targetIds: targets.map((x) => x.id),
  });
  const health = createMemoryHealth({
    breaker: { failures: setup.breakerFailures ?? 5, windowMs: 60_000, probeAfterMs: 60_000 },
    onBreaker: (id, state) => obs.events.breaker?.(id, state),
  });
  const router = createRouterBackend({ model: MODEL, targets, random: () => 0, events: obs.events, health });
  const { url } = await start(t, {
    deployments: { [MODEL]: router },
    observer: obs.observer,
    apiKey: CLIENT_KEY,
    logFormat: setup.json ? 'json' : 'text',
    log: (line) => lines.push(line),
  });
  return { url, obs, lines, upstreams, ids: targets.map((x) => x.id) };
}

/** Streams ASK and reads the whole answer. */
async function askStreaming(url: string) {
  const res = await post(azureUrl(url, MODEL, 'chat'), ASK, { 'api-key': CLIENT_KEY });
  const text = await res.text();
  return { res, text };
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;

function assertNoSecrets(text: string, where: string) {
  for (const secret of [UPSTREAM_KEY, CLIENT_KEY, PROMPT_MARKER]) {
    assert.ok(!text.includes(secret), `${where} holds ${secret}`);
  }
}

describe('gateway observability', () => {
  test('OpenTelemetry: a request span, a child span per attempt, GenAI attributes and metrics', async (t) => {
    const receiver = await startReceiver(t);
    const gw = await startObserved(t, {
      first: [fault('rate-limited', { retryAfterMs: 5000 })],
      otlpEndpoint: receiver.url,
    });
    const { res, text } = await askStreaming(gw.url);
    assert.equal(res.status, 200);
    assert.match(text, /a time/);
    await gw.obs.close(); // flushes spans and metrics

    assert.ok(
      receiver.bodies.every((b) => b.type.startsWith('application/json')),
      'OTLP/HTTP JSON',
    );
    const spans = receiver.spans();
    const request = spans.find((s) => s.kind === SPAN_KIND_SERVER);
    assert.ok(request, 'a request span');
    assert.equal(request.name, `chat ${MODEL}`);
    assert.equal(attr(request, 'gen_ai.operation.name'), 'chat');
    assert.equal(attr(request, 'gen_ai.request.model'), MODEL);
    assert.equal(attr(request, 'gen_ai.request.max_tokens'), 50);
    assert.equal(attr(request, 'gen_ai.response.model'), 'gpt-4o-2024-08-06');
    assert.equal(attr(request, 'gen_ai.usage.input_tokens'), USAGE.prompt_tokens);
    assert.equal(attr(request, 'gen_ai.usage.output_tokens'), USAGE.completion_tokens);
    assert.equal(attr(request, 'gen_ai.provider.name'), 'azure.ai.openai');
    assert.equal(attr(request, 'server.address'), '127.0.0.1');
    assert.equal(attr(request, 'sluice.target'), gw.ids[1]);
    assert.equal(attr(request, 'sluice.attempts'), 2);
    assert.equal(attr(request, 'sluice.request_id'), res.headers.get('x-request-id'));
    assert.equal(attr(request, 'http.response.status_code'), 200);
    assert.ok((attr(request, 'gen_ai.response.time_to_first_chunk') as number) > 0, 'time to first token');
    assert.ok((attr(request, 'sluice.gateway.overhead_ms') as number) >= 0, 'overhead');
    assert.equal(typeof attr(request, 'sluice.chunk_gap.max_ms'), 'number', 'chunk gaps');

    const attempts = spans
      .filter((s) => s.kind === SPAN_KIND_CLIENT)
      .sort((a, b) => (attr(a, 'sluice.attempt') as number) - (attr(b, 'sluice.attempt') as number));
    assert.equal(attempts.length, 2, 'one child span per attempt');
    for (const a of attempts) {
      assert.equal(a.traceId, request.traceId);
      assert.equal(a.parentSpanId, request.spanId, 'children of the request span');
      assert.equal(attr(a, 'gen_ai.request.model'), MODEL);
    }
    const [first, second] = attempts as [OtlpSpan, OtlpSpan];
    assert.equal(attr(first, 'sluice.target'), gw.ids[0]);
    assert.equal(attr(first, 'sluice.attempt.outcome'), 'failed-over');
    assert.equal(attr(first, 'error.type'), 'rate-limited');
    assert.equal(attr(first, 'http.response.status_code'), 429);
    assert.equal(attr(first, 'sluice.cooldown_ms'), 5000);
    assert.equal(first.status?.code, STATUS_ERROR);
    assert.equal(attr(second, 'sluice.target'), gw.ids[1]);
    assert.equal(attr(second, 'sluice.attempt.outcome'), 'served');
    assert.equal(typeof attr(second, 'sluice.upstream.headers_ms'), 'number');

    const metrics = new Set(receiver.metricNames());
    for (const name of [
      'gen_ai.client.operation.duration',
      'gen_ai.client.token.usage',
      'gen_ai.server.time_to_first_token',
      'gen_ai.server.time_per_output_token',
      'gen_ai.client.operation.time_per_output_chunk',
      'sluice.gateway.overhead',
    ]) {
      assert.ok(metrics.has(name), `metric ${name} in ${[...metrics].join(', ')}`);
    }
    assertNoSecrets(receiver.bodies.map((b) => b.text).join('\n'), 'telemetry');
  });

  test('/metrics: attempts by target and outcome, failovers, cooldowns, breaker state', async (t) => {
    const gw = await startObserved(t, {
      first: [fault('rate-limited', { retryAfterMs: 20 }), fault('server-error')],
      breakerFailures: 1,
    });
    const [a, b] = gw.ids as [string, string];
    const before = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(before, line('sluice_target_breaker_state', { target: a }, 0), 'every target shows, closed');

    assert.equal((await askStreaming(gw.url)).res.headers.get('x-sluice-target'), b);
    await delay(40); // a's cooldown (20 ms) passes: it is asked again, and fails with a 500
    assert.equal((await askStreaming(gw.url)).res.headers.get('x-sluice-target'), b);

    const text = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(text, line('sluice_target_attempts_total', { target: a, outcome: 'failed-over' }, 2));
    assert.match(text, line('sluice_target_attempts_total', { target: b, outcome: 'served' }, 2));
    assert.match(text, line('sluice_target_failovers_total', { target: a, reason: 'rate-limited' }, 1));
    assert.match(text, line('sluice_target_failovers_total', { target: a, reason: 'server-error' }, 1));
    assert.match(text, line('sluice_target_cooldowns_total', { target: a }, 1));
    assert.match(text, line('sluice_target_breaker_state', { target: a }, 2), 'a opened after one failure');
    assert.match(text, line('sluice_target_breaker_state', { target: b }, 0));
    assert.match(text, /# TYPE sluice_target_breaker_state gauge/);
  });

  test('server-timing: the gateway’s own time and the serving upstream’s time to headers', async (t) => {
    const gw = await startObserved(t, { first: [fault('server-error')], headersDelayMs: 60 });
    const { res } = await askStreaming(gw.url);
    const timing = parseServerTiming(res.headers.get('server-timing'));
    assert.deepEqual(Object.keys(timing), ['gateway', 'upstream']);
    assert.ok(timing.gateway! >= 0);
    assert.ok(timing.upstream! >= 60, `the upstream waited 60 ms before its headers: ${timing.upstream}`);

    // Non-streaming requests and error answers carry it too.
    const whole = await post(
      azureUrl(gw.url, MODEL, 'chat'),
      { ...ASK, stream: false, stream_options: undefined },
      {
        'api-key': CLIENT_KEY,
      },
    );
    assert.equal(whole.status, 200, await whole.text());
    const wholeTiming = parseServerTiming(whole.headers.get('server-timing'));
    assert.deepEqual(Object.keys(wholeTiming), ['gateway', 'upstream']);
    assert.ok(wholeTiming.upstream! >= 60);

    // An error answer (the request refused by the upstream: no failover) carries it too.
    gw.upstreams[1]!.setScenario('d', reply(400, { error: { code: 'BadRequest', message: 'no' } }));
    gw.upstreams[0]!.setScenario('d', reply(400, { error: { code: 'BadRequest', message: 'no' } }));
    const refused = await askStreaming(gw.url);
    assert.equal(refused.res.status, 400);
    assert.deepEqual(Object.keys(parseServerTiming(refused.res.headers.get('server-timing'))), ['gateway']);
  });

  test('server-timing without a router: the gateway’s own time only; web pages may read it', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'Hello there'));
    const { url } = await start(t, { backend });
    const res = await post(
      azureUrl(url, 'any', 'chat'),
      { messages: [{ role: 'user', content: 'hi' }], stream: true },
      { origin: 'http://localhost:5173' },
    );
    await res.text();
    const timing = parseServerTiming(res.headers.get('server-timing'));
    assert.deepEqual(Object.keys(timing), ['gateway']);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    assert.ok(exposed.includes('server-timing') && exposed.includes('x-sluice-target'), exposed.join(', '));
  });

  test('JSON logs: one line per request and per attempt, tied by request id, no key or prompt', async (t) => {
    const gw = await startObserved(t, { first: [fault('rate-limited', { retryAfterMs: 5000 })], json: true });
    const { res } = await askStreaming(gw.url);
    await (await fetch(`${gw.url}/healthz`)).text();
    await delay(20); // the request line is written when the response closes
    const records = gw.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const id = res.headers.get('x-request-id');
    const request = records.find((r) => r.event === 'request' && r.request_id === id);
    assert.ok(request, gw.lines.join('\n'));
    assert.equal(request.status, 200);
    assert.equal(request.model, MODEL);
    assert.equal(request.target, gw.ids[1]);
    assert.equal(request.attempts, 2);
    assert.equal(request.outcome, 'completed');
    assert.equal(request.completion_tokens, USAGE.completion_tokens);
    assert.equal(typeof request.gateway_ms, 'number');
    assert.equal(typeof request.first_token_ms, 'number');
    const attempts = records.filter((r) => r.event === 'attempt');
    assert.deepEqual(
      attempts.map((r) => [r.request_id, r.target, r.outcome, r.reason, r.status]),
      [
        [id, gw.ids[0], 'failed-over', 'rate-limited', 429],
        [id, gw.ids[1], 'served', undefined, undefined],
      ],
    );
    assert.ok(
      records.some((r) => r.event === 'request' && r.path === '/healthz'),
      'every request has its line',
    );
    for (const r of records) assert.equal(typeof r.time, 'string');
    assertNoSecrets(gw.lines.join('\n'), 'the logs');
  });

  test('the endpoint comes from the configuration, else OTEL_EXPORTER_OTLP_ENDPOINT; none when disabled', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    assert.equal(otlpEndpointFrom(undefined, {}), undefined);
    assert.equal(otlpEndpointFrom(undefined, env), 'http://127.0.0.1:4318');
    assert.equal(otlpEndpointFrom('http://127.0.0.1:9999', env), 'http://127.0.0.1:9999');
    assert.equal(otlpEndpointFrom('http://127.0.0.1:9999', { ...env, OTEL_SDK_DISABLED: 'true' }), undefined);
    assert.throws(
      () => otlpEndpointFrom(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'user:s3cret@collector:4318' }),
      (e: Error) => e instanceof ConfigError && /http\(s\) URL/.test(e.message) && !e.message.includes('s3cret'),
    );
  });

  test('a collector that never answers does not hold the shutdown', { timeout: 8_000 }, async (t) => {
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      silent.closeAllConnections();
      silent.close();
    });
    const obs = await createObservability({
      otlpEndpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    });
    await obs.observer.observe?.(
      { requestId: 'r', route: 'azure_chat', kind: 'chat', model: 'm', stream: true, startedAt: 0, params: {} },
      async (o) => o.end({}, 200),
    );
    await obs.close(); // the SDK's own time-outs would hold it 10 s or more
  });

  test('without an endpoint no OpenTelemetry module is loaded at all', () => {
    const loaded = (endpoint: string | undefined) => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-otel-'));
      const log = join(dir, 'resolved.txt');
      writeFileSync(log, '');
      const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}`;
      const observability = new URL('../../src/gateway/observability.ts', import.meta.url).href;
      const script = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
const { createObservability } = await import(${JSON.stringify(observability)});
const obs = await createObservability({ otlpEndpoint: ${JSON.stringify(endpoint)} });
obs.observer.observe?.({ requestId: 'r', route: 'azure_chat', kind: 'chat', model: 'm', stream: true, startedAt: 0, params: {} }, async (o) => o.end({}, 200));
await obs.close();`;
      const file = join(dir, 'run.mjs');
      writeFileSync(file, script);
      const run = spawnSync(process.execPath, ['--import', 'tsx', file], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((url) => url.includes('@opentelemetry'));
    };
    assert.deepEqual(loaded(undefined), []);
    assert.ok(loaded('http://127.0.0.1:9').length > 0, 'the check sees the SDK when it is configured');
  });
});

/** A Prometheus sample line with these labels (in this order) and value. */
function line(name: string, labels: Record<string, string>, value: number): RegExp {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`)
    .join(',');
  return new RegExp(`^${name}\\{${body}\\} ${value}$`, 'm');
}

/** `gateway;dur=0.42, upstream;dur=212.3` -> { gateway: 0.42, upstream: 212.3 }, strictly. */
function parseServerTiming(header: string | null): Record<string, number> {
  assert.ok(header, 'a server-timing header');
  const out: Record<string, number> = {};
  for (const entry of header.split(',')) {
    const m = /^\s*([A-Za-z0-9_-]+);dur=(\d+(?:\.\d+)?)\s*$/.exec(entry);
    assert.ok(m, `server-timing entry ${JSON.stringify(entry)} is metric;dur=N`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
