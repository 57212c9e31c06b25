// `sluice serve` (the built binary) with observability switched on as an operator does it:
// `--log-format json` (or `server.log_format: json`) and `telemetry.otlp_endpoint` in the
// configuration file, fronting an Azure-shaped upstream on 127.0.0.1. Its stderr must be
// JSON lines without the keys or the prompt, its spans must reach the OTLP receiver, and
// every answer carries server-timing. Run `npm run -s build` first.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { chatChunks, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, start, tempDir } from '../support/cli.js';
import { attr, startReceiver } from '../support/otlp.js';

const UPSTREAM_KEY = 'upstream-secret-key-serve-0123456789';
const CLIENT_KEY = 'client-secret-key-serve-9876543210';
const PROMPT_MARKER = 'PROMPT-MARKER-serve-51c2';

before(() => assertBuilt());

describe('sluice serve observability', { timeout: 120_000 }, () => {
  for (const how of ['flag', 'file'] as const) {
    test(`JSON logs (${how === 'flag' ? '--log-format json' : 'server.log_format: json'}) and OTLP from the configuration file`, async (t) => {
      const upstream = await startAzureServer({
        apiKey: UPSTREAM_KEY,
        scenarios: { 'gpt-4o-east': stream(chatChunks(['Once', ' upon'], { id: 'chatcmpl-S' })) },
      });
      t.after(() => upstream.close());
      const receiver = await startReceiver(t);
      const config = [
        'models:',
        '  gpt-4o:',
        `    - azure: ${upstream.url}`,
        '      deployment: gpt-4o-east',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the configuration file's own syntax
        '      api_key: ${EAST_KEY}',
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
      const serve = start(args, { cwd: dir, env: cleanEnv({ EAST_KEY: UPSTREAM_KEY }) });
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

      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.ok(
        metrics.includes(`sluice_target_breaker_state{target="gpt-4o/0:azure:127.0.0.1:${upstream.port}"} 0`),
        metrics,
      );

      serve.child.kill('SIGTERM');
      const done = await serve.done;
      assert.equal(done.code, 0, done.stderr);

      const lines = done.stderr.split('\n').filter((l) => l.startsWith('{'));
      const request = lines.map((l) => JSON.parse(l)).find((r) => r.event === 'request');
      assert.ok(request, done.stderr);
      assert.equal(request.request_id, res.headers.get('x-request-id'));
      assert.equal(request.model, 'gpt-4o');
      assert.equal(request.status, 200);
      for (const secret of [UPSTREAM_KEY, CLIENT_KEY, PROMPT_MARKER]) {
        assert.ok(!done.stderr.includes(secret), `stderr holds ${secret}`);
        assert.ok(!receiver.bodies.some((b) => b.text.includes(secret)), `telemetry holds ${secret}`);
      }
      // Shutdown flushed the spans.
      const span = receiver.spans().find((s) => attr(s, 'sluice.request_id') === request.request_id);
      assert.ok(span, 'the request span reached the receiver');
      assert.equal(attr(span, 'gen_ai.request.model'), 'gpt-4o');
    });
  }
});
