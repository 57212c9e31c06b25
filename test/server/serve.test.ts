// `sluice serve` as a process (the built binary): the pool, queue, context and CORS flags
// reach the server, and SIGTERM, during model loading or while serving, is a clean stop with
// a one-line message and exit 0 (not 143 without a word). Run `npm run -s build` first.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DEFAULT_MODEL_PATH } from '../../src/backends/local/index.js';
import { assertBuilt, cleanEnv, start } from '../support/cli.js';

const env = () => cleanEnv({ SLUICE_MODEL: process.env.SLUICE_MODEL || DEFAULT_MODEL_PATH });

before(() => assertBuilt());

describe('sluice serve flags', { timeout: 120_000 }, () => {
  test('--context-size, --parallel, --queue and --cors-origin reach the server', async (t) => {
    const serve = start(
      [
        'serve',
        '--port',
        '0',
        '--context-size',
        '64',
        '--parallel',
        '1',
        '--queue',
        '0',
        '--cors-origin',
        'https://app.example',
      ],
      { env: env() },
    );
    t.after(() => {
      if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
    });
    await serve.waitFor(/Ctrl-C stops\./, 'stdout', 60_000);
    const url = /serving \S+ at (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.stdout)?.[1] ?? '';
    assert.match(serve.stdout, /256 tokens per request, 1 at once, 0 may wait/);

    const completions = `${url}/openai/deployments/any/completions?api-version=2024-10-21`;
    const ask = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(completions, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const tooLong = await ask({ prompt: 'Once', max_tokens: 257 });
    assert.equal(tooLong.status, 400);
    const error = ((await tooLong.json()) as { error: { param: string; message: string } }).error;
    assert.equal(error.param, 'max_tokens');
    assert.match(error.message, /at most 256/);

    const allowed = await ask({ prompt: 'Once', max_tokens: 2 }, { origin: 'https://app.example' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
    await allowed.text();
    const foreign = await ask({ prompt: 'Once', max_tokens: 2 }, { origin: 'https://elsewhere.example' });
    assert.equal(foreign.status, 403);
    assert.match(await foreign.text(), /--cors-origin/);

    serve.child.kill('SIGTERM');
    const done = await serve.done;
    assert.equal(done.code, 0, done.stderr);
  });
});

describe('sluice serve stops cleanly on SIGTERM', { timeout: 120_000 }, () => {
  test('while serving: exit 0 and a one-line message', async () => {
    const serve = start(['serve', '--port', '0'], { env: env() });
    await serve.waitFor(/Ctrl-C stops\./, 'stdout', 60_000);
    serve.child.kill('SIGTERM');
    const done = await serve.done;
    assert.equal(done.signal, null);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /SIGTERM received, stopping/);
    assert.match(done.stderr, /stopped/);
  });

  test('while the model loads: exit 0 and a message, not 143', async () => {
    const serve = start(['serve', '--port', '0'], { env: env() });
    await serve.waitFor(/loading/, 'stderr', 60_000);
    serve.child.kill('SIGTERM');
    const done = await serve.done;
    assert.equal(done.signal, null);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /SIGTERM received/);
  });
});
