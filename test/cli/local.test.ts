/**
 * The real binary with the embedded model (node-llama-cpp, the bundled TinyStories GGUF):
 * the offline default, `sluice serve`, and node-llama-cpp loaded only when needed.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type AzureServer, completionChunks, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, type Running, run, start } from '../support/cli.js';

const BLOCK_LLAMA = fileURLToPath(new URL('../support/block-llama.mjs', import.meta.url));

before(() => assertBuilt());

describe('the embedded model', { timeout: 120_000 }, () => {
  it('answers when nothing is configured, and one line on stderr says how to use Azure', async () => {
    const done = await run(['--max-tokens', '24', 'Once upon a time'], { env: cleanEnv() });
    assert.equal(done.code, 0, done.stderr);
    assert.ok(/\w+ \w+/.test(done.stdout), `a story: ${JSON.stringify(done.stdout)}`);
    const lines = done.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, done.stderr);
    assert.match(
      lines[0] ?? '',
      /embedded local model answers.*AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and AZURE_OPENAI_DEPLOYMENT.*--profile NAME/,
    );
  });

  it('--json: chunks as generated (first token before the end), usage, a completed end', async () => {
    const done = await run(['--local', '--json', '--max-tokens', '16', 'Once upon a time'], { env: cleanEnv() });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stderr, '', '--local: no note');
    const lines = done.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.at(-1) as {
      type: string;
      end: { state: string };
      usage: { completion_tokens: number };
      metrics: { timeToFirstTokenMs: number; durationMs: number; chunks: number };
    };
    assert.equal(summary.type, 'summary');
    assert.deepEqual(summary.end, { state: 'completed' });
    const texts = lines.slice(0, -1).flatMap((c) => (c.choices as Array<{ text?: string }>).map((ch) => ch.text ?? ''));
    assert.ok(texts.filter((t) => t !== '').length >= 2, 'several text chunks, one per token');
    assert.ok(
      summary.usage.completion_tokens > 0 && summary.usage.completion_tokens <= 16,
      JSON.stringify(summary.usage),
    );
    assert.ok(summary.metrics.timeToFirstTokenMs < summary.metrics.durationMs, 'the first token came before the end');
  });

  it('chat answers too', async () => {
    const done = await run(['chat', '--local', '--max-tokens', '16', 'Tell me a story.'], { env: cleanEnv() });
    assert.equal(done.code, 0, done.stderr);
    assert.ok(done.stdout.trim().length > 0, 'some text');
  });

  it('an answer stopped by the full context says so (not "raise --max-tokens"); one stopped by --max-tokens is quiet', async () => {
    const model: Record<string, string> = process.env.SLUICE_MODEL ? { SLUICE_MODEL: process.env.SLUICE_MODEL } : {};
    // About 390 of the 512 tokens: the answer runs into the end of the context.
    const long = 'Once upon a time, there was a little girl named Lily. '.repeat(25);
    const full = await run(['chat', '--local', '--stats', '--max-tokens', '300', long], { env: cleanEnv(model) });
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stderr, /^finish reason +length \(the context is full\)$/m);
    assert.match(
      full.stderr,
      /^sluice: the answer stopped: the model's context is full.*A higher --max-tokens cannot help/m,
    );
    const capped = await run(['chat', '--local', '--stats', '--max-tokens', '4', 'Hi'], { env: cleanEnv(model) });
    assert.equal(capped.code, 0, capped.stderr);
    assert.match(capped.stderr, /^finish reason +length \(max tokens reached\)$/m);
    assert.ok(!capped.stderr.includes('sluice:'), capped.stderr);
  });

  it('a missing model file is exit 2, naming the path and the setting', async () => {
    const done = await run(['--model', '/nonexistent/model.gguf', 'x'], { env: cleanEnv() });
    assert.equal(done.code, 2, done.stderr);
    assert.equal(done.stderr.trimEnd().split('\n').length, 1, done.stderr);
    assert.match(done.stderr, /\/nonexistent\/model\.gguf/);
    assert.match(done.stderr, /--model PATH or SLUICE_MODEL/);
    assert.ok(!/createLocalBackend|modelPath|\.\./.test(done.stderr), `CLI wording only: ${done.stderr}`);
  });
});

describe('node-llama-cpp is loaded only for the local model', { timeout: 60_000 }, () => {
  let server: AzureServer;
  before(async () => {
    server = await startAzureServer({ scenarios: { d: stream(completionChunks(['remote'])) } });
  });
  after(() => server.close());

  it('help, usage errors and remote requests never import it; the local model does', async () => {
    const env = (extra: Record<string, string> = {}) => cleanEnv({ NODE_OPTIONS: `--import=${BLOCK_LLAMA}`, ...extra });
    const remote = await run(['x'], { env: env({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_DEPLOYMENT: 'd' }) });
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(remote.stdout, 'remote');
    assert.equal((await run(['--help'], { env: env() })).code, 0);
    assert.equal((await run(['chat', '--temperature', '9', 'x'], { env: env() })).code, 2);
    // The blocker works: the local model does need node-llama-cpp.
    const local = await run(['--local', 'x'], { env: env() });
    assert.notEqual(local.code, 0);
    assert.match(local.stderr, /node-llama-cpp/);
  });
});

describe('sluice serve', { timeout: 120_000 }, () => {
  const KEY = 'serve-key-5566778899';
  let serve: Running;
  let url: string;

  before(async () => {
    serve = start(['serve', '--port', '0', '--api-key', KEY], { env: cleanEnv() });
    await serve.waitFor(/Ctrl-C stops\./, 'stdout', 60_000);
    url = /serving \S+ at (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.stdout)?.[1] ?? '';
    assert.ok(url, serve.stdout);
  });
  after(async () => {
    if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
  });

  it('prints its URL and how to point clients at it, never the key', () => {
    assert.ok(serve.stdout.includes(`AZURE_OPENAI_ENDPOINT=${url}`));
    assert.ok(serve.stdout.includes(`OPENAI_BASE_URL=${url}/v1`));
    assert.ok(!serve.stdout.includes(KEY) && !serve.stderr.includes(KEY));
  });

  it('requires its key (Azure 401 without it)', async () => {
    const res = await fetch(`${url}/openai/deployments/any/completions?api-version=2024-10-21`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x', max_tokens: 2 }),
    });
    assert.equal(res.status, 401);
    await res.body?.cancel();
  });

  it('`sluice` talks to `sluice serve` like to Azure: the answer streams; a wrong key is exit 3', async () => {
    const env = (key: string) =>
      cleanEnv({
        AZURE_OPENAI_ENDPOINT: url,
        AZURE_OPENAI_API_KEY: key,
        AZURE_OPENAI_DEPLOYMENT: 'gpt-35-turbo-instruct',
      });
    const ok = await run(['--max-tokens', '12', '--stats', 'Once upon a time'], { env: env(KEY) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(ok.stdout.trim().length > 0, 'a story');
    assert.match(ok.stderr, /^usage +\d+ prompt \+ \d+ completion/m);
    const denied = await run(['x'], { env: env('wrong-key-123456') });
    assert.equal(denied.code, 3, denied.stderr);
    assert.match(denied.stderr, /authentication failed \(HTTP 401/);
  });

  it('stops cleanly on Ctrl-C (SIGINT), exit 0', async () => {
    serve.child.kill('SIGINT');
    const done = await serve.done;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /stopping/);
  });
});

describe('sluice serve: bad settings', { timeout: 60_000 }, () => {
  it('a bad --port, an unusable model, a busy port: exit 2, one line each', async () => {
    const badPort = await run(['serve', '--port', '99999'], { env: cleanEnv() });
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port must be an integer from 0 to 65535, got "99999"/);

    const badModel = await run(['serve', '--port', '0', '--model', '/nonexistent/m.gguf'], { env: cleanEnv() });
    assert.equal(badModel.code, 2, badModel.stderr);
    assert.match(badModel.stderr, /\/nonexistent\/m\.gguf/);
    assert.equal(badModel.stdout, '', 'no URL printed for a server that cannot start');

    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const busy = await run(['serve', '--port', String(port)], { env: cleanEnv() });
      assert.equal(busy.code, 2, busy.stderr);
      assert.match(busy.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use: pass --port N`));
    } finally {
      blocker.close();
    }
  });
});
