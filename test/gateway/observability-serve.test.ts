// `sluice serve` (the built binary) with observability switched on as an operator does it:
// `--log-format json` (or `server.log_format: json`) and `telemetry.otlp_endpoint` in the
// configuration file, fronting an Azure-shaped upstream on 127.0.0.1. Its stderr must be
// JSON lines without the keys or the prompt, its spans must reach the OTLP receiver, and
// every answer carries server-timing. Run `npm run -s build` first.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { chatChunks, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { faultScenario } from '../../src/testing/faults.js';
import { assertBuilt, cleanEnv, run, start, tempDir } from '../support/cli.js';
import { attr, startReceiver } from '../support/otlp.js';

const UPSTREAM_KEY = 'upstream-secret-key-serve-0123456789';
const CLIENT_KEY = 'client-secret-key-serve-9876543210';
const PROMPT_MARKER = 'PROMPT-MARKER-serve-51c2';

before(() => assertBuilt());

describe('sluice serve observability', { timeout: 120_000 }, () => {
  test('--log-format takes text or json, and says so', async () => {
    const done = await run(['serve', '--log-format', 'xml', '--port', '0'], { env: cleanEnv() });
    assert.equal(done.code, 2);
    assert.match(done.stderr, /--log-format must be text or json, got "xml"/);
  });

  for (const how of ['flag', 'file'] as const) {
    test(`JSON logs (${how === 'flag' ? '--log-format json' : 'server.log_format: json'}) and OTLP from the configuration file`, async (t) => {
      // East answers 429, west (tried second) serves.
      const east = await startAzureServer({
        apiKey: UPSTREAM_KEY,
        scenarios: { 'gpt-4o-east': faultScenario('rate-limited', { retryAfterMs: 5000 }) },
      });
      const west = await startAzureServer({
        apiKey: UPSTREAM_KEY,
        scenarios: { 'gpt-4o-west': stream(chatChunks(['Once', ' upon'], { id: 'chatcmpl-S' })) },
      });
      t.after(() => Promise.all([east.close(), west.close()]));
      const receiver = await startReceiver(t);
      const config = [
        'models:',
        '  gpt-4o:',
        `    - azure: ${east.url}`,
        '      deployment: gpt-4o-east',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the configuration file's own syntax
        '      api_key: ${UPSTREAM_KEY}',
        `    - azure: ${west.url}`,
        '      deployment: gpt-4o-west',
        '      priority: 2',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the configuration file's own syntax
        '      api_key: ${UPSTREAM_KEY}',
        'server:',
        `  api_key: ${CLIENT_KEY}`,
        ...(how === 'file' ? ['  log_format: json'] : []),
        'telemetry:',
        `  otlp_endpoint: ${receiver.url}`,
        '',
      ].join('\n');
      const dir = tempDir({ 'sluice.yaml': config });
      const args = [
        'serve',
        '--config',
        'sluice.yaml',
        '--port',
        '0',
        ...(how === 'flag' ? ['--log-format', 'json'] : []),
      ];
      const serve = start(args, { cwd: dir, env: cleanEnv({ UPSTREAM_KEY }) });
      t.after(() => {
        if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
      });
      await serve.waitFor(/Ctrl-C stops\./, 'stdout', 60_000);
      const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.stdout)?.[1] ?? '';

      const res = await fetch(`${url}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-key': CLIENT_KEY },
        body: JSON.stringify({ messages: [{ role: 'user', content: PROMPT_MARKER }], stream: true }),
      });
      assert.equal(res.status, 200);
      await res.text();
      assert.match(res.headers.get('server-timing') ?? '', /^gateway;dur=\d+(\.\d+)?/);

      const [eastId, westId] = [`gpt-4o/0:azure:127.0.0.1:${east.port}`, `gpt-4o/1:azure:127.0.0.1:${west.port}`];
      assert.equal(res.headers.get('x-sluice-target'), westId);
      assert.match(res.headers.get('server-timing') ?? '', /^gateway;dur=[\d.]+, upstream;dur=[\d.]+$/);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      for (const sample of [
        `sluice_target_attempts_total{target="${eastId}",outcome="failed-over"} 1`,
        `sluice_target_attempts_total{target="${westId}",outcome="served"} 1`,
        `sluice_target_cooldowns_total{target="${eastId}"} 1`,
        `sluice_target_breaker_state{target="${westId}"} 0`,
      ]) {
        assert.ok(metrics.includes(sample), `${sample} in\n${metrics}`);
      }

      serve.child.kill('SIGTERM');
      const done = await serve.done;
      assert.equal(done.code, 0, done.stderr);

      const records = done.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      const request = records.find((r) => r.event === 'request' && r.route === 'azure_chat');
      assert.ok(request, done.stderr);
      assert.equal(request.target, westId);
      assert.deepEqual(
        records.filter((r) => r.event === 'attempt').map((r) => [r.request_id, r.target, r.outcome]),
        [
          [request.request_id, eastId, 'failed-over'],
          [request.request_id, westId, 'served'],
        ],
      );
      assert.equal(request.request_id, res.headers.get('x-request-id'));
      assert.equal(request.model, 'gpt-4o');
      assert.equal(request.status, 200);
      for (const secret of [UPSTREAM_KEY, CLIENT_KEY, PROMPT_MARKER]) {
        assert.ok(!done.stderr.includes(secret), `stderr holds ${secret}`);
        assert.ok(!receiver.bodies.some((b) => b.text.includes(secret)), `telemetry holds ${secret}`);
      }
      // Shutdown flushed the spans.
      const spans = receiver.spans();
      const span = spans.find((s) => attr(s, 'sluice.request_id') === request.request_id);
      assert.ok(span, 'the request span reached the receiver');
      assert.equal(attr(span, 'gen_ai.request.model'), 'gpt-4o');
      assert.deepEqual(
        spans.filter((s) => s.parentSpanId === span.spanId).map((s) => attr(s, 'sluice.target')),
        [eastId, westId],
        'a child span per attempt',
      );
    });
  }
});
