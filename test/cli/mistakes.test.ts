/**
 * The real binary meeting a user's mistakes and surprises: mistyped commands and flags cost
 * nothing, keys in the wrong place are never printed, a `.env` that moves the endpoint is
 * noted, and a server that returns fewer choices than `-n` asked for is an error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AzureServer, completionChunks, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, run, tempDir } from '../support/cli.js';

const KEY = 'mistake-key-0a1b2c3d4e5f';
let server: AzureServer;

before(async () => {
  assertBuilt();
  server = await startAzureServer({
    scenarios: {
      ok: stream(completionChunks(['fine'])),
      // Asked for -n 2, answers one choice only.
      one: stream(completionChunks(['only one'])),
    },
  });
});
after(() => server.close());

function env(extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_DEPLOYMENT: 'ok', ...extra });
}

describe('mistyped commands and flags', { timeout: 60_000 }, () => {
  it('`sluice chta hi` is exit 2 with "did you mean", and nothing is sent', async () => {
    const from = server.requests.length;
    for (const args of [['chta', 'hi'], ['srve'], ['complte', 'Once', 'upon']]) {
      const done = await run(args, { env: env() });
      assert.equal(done.code, 2, `${args.join(' ')}: ${done.stderr}`);
      assert.equal(done.stdout, '');
      const meant = { chta: 'chat', srve: 'serve', complte: 'complete' }[args[0] as string];
      assert.match(done.stderr, new RegExp(`^sluice: Unknown command "${args[0]}": did you mean "sluice ${meant}"\\?`));
      assert.match(done.stderr, /goes after "--"/);
      assert.equal(done.stderr.trimEnd().split('\n').length, 1, done.stderr);
    }
    assert.equal(server.requests.length, from, 'no request for a typo');
  });

  it('ordinary first words and anything after -- are prompts', async () => {
    const from = server.requests.length;
    for (const args of [['what', 'is', 'a', 'sluice'], ['--', 'chta', 'hi'], ['chta hi']]) {
      const done = await run(args, { env: env() });
      assert.equal(done.code, 0, `${args.join(' ')}: ${done.stderr}`);
      assert.equal(done.stdout, 'fine');
    }
    const prompts = server.requests.slice(from).map((r) => r.body?.prompt);
    assert.deepEqual(prompts, ['what is a sluice', 'chta hi', 'chta hi']);
  });

  it('a near-miss flag gets "did you mean", exit 2, nothing sent', async () => {
    const from = server.requests.length;
    const done = await run(['--max-token', '5', 'hi'], { env: env() });
    assert.equal(done.code, 2, done.stderr);
    assert.match(done.stderr, /^sluice: Unknown option --max-token; did you mean --max-tokens\? Run "sluice --help"/);
    const other = await run(['--system', 'x', 'hi'], { env: env() });
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--system is an option of "sluice chat", not of "sluice complete"/);
    assert.equal(server.requests.length, from);
  });
});

describe('keys in the wrong place are never printed', { timeout: 60_000 }, () => {
  const secret = 'sk-proj-9f8e7d6c5b4a39281706';

  it('endpoint and key swapped', async () => {
    const done = await run(['hi'], {
      env: cleanEnv({
        AZURE_OPENAI_ENDPOINT: secret,
        AZURE_OPENAI_API_KEY: 'https://my-resource.openai.azure.com',
        AZURE_OPENAI_DEPLOYMENT: 'd',
      }),
    });
    assert.equal(done.code, 2, done.stderr);
    assert.ok(!done.stderr.includes(secret) && !done.stderr.includes('9f8e7d'), done.stderr);
    assert.match(done.stderr, /AZURE_OPENAI_ENDPOINT must be a URL .*got "sk-…" \(28 characters, not shown/);
  });

  it('OPENAI_BASE_URL holding a key', async () => {
    const done = await run(['--model', 'm', 'hi'], { env: cleanEnv({ OPENAI_BASE_URL: secret }) });
    assert.equal(done.code, 2, done.stderr);
    assert.ok(!done.stderr.includes(secret) && !done.stderr.includes('9f8e7d'), done.stderr);
    assert.match(done.stderr, /OPENAI_BASE_URL must be a URL/);
  });
});

describe('error wording', { timeout: 60_000 }, () => {
  it('a setting the client refuses is named by its variable, not a library option', async () => {
    const done = await run(['hi'], {
      env: cleanEnv({
        AZURE_OPENAI_ENDPOINT: `${server.url}/?x=1`,
        AZURE_OPENAI_API_KEY: KEY,
        AZURE_OPENAI_DEPLOYMENT: 'ok',
      }),
    });
    assert.equal(done.code, 2, done.stderr);
    assert.equal(done.stderr, 'sluice: AZURE_OPENAI_ENDPOINT must not have a query or fragment.\n');
  });
});

describe('--profile errors', { timeout: 60_000 }, () => {
  it('name variables that exist (AZURE_OPENAI_DEPLOYMENT_NAME_FOR_NOPE, never ..._FOR_NOPE_NAME)', async () => {
    const none = await run(['--profile', 'nope', 'hi'], { env: cleanEnv() });
    assert.equal(none.code, 2, none.stderr);
    assert.match(
      none.stderr,
      /set AZURE_OPENAI_ENDPOINT_FOR_NOPE, AZURE_OPENAI_API_KEY_FOR_NOPE and AZURE_OPENAI_DEPLOYMENT_NAME_FOR_NOPE/,
    );
    const noDeployment = await run(['--profile', 'nope', 'hi'], {
      env: cleanEnv({ AZURE_OPENAI_ENDPOINT_FOR_NOPE: server.url, AZURE_OPENAI_API_KEY_FOR_NOPE: KEY }),
    });
    assert.equal(noDeployment.code, 2, noDeployment.stderr);
    assert.match(
      noDeployment.stderr,
      /set AZURE_OPENAI_DEPLOYMENT_FOR_NOPE \(or AZURE_OPENAI_DEPLOYMENT_NAME_FOR_NOPE\)/,
    );
    for (const done of [none, noDeployment]) assert.ok(!done.stderr.includes('_FOR_NOPE_NAME'), done.stderr);
  });
});

describe('endpoint and key from different places', { timeout: 60_000 }, () => {
  it('a .env that sets only the endpoint: one line on stderr names both sources, never the key', async () => {
    const cwd = tempDir({ '.env': `AZURE_OPENAI_ENDPOINT=${server.url}\nAZURE_OPENAI_DEPLOYMENT=ok\n` });
    const done = await run(['hi'], { cwd, env: cleanEnv({ AZURE_OPENAI_API_KEY: KEY }) });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'fine');
    const lines = done.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, done.stderr);
    assert.match(
      lines[0] ?? '',
      /^sluice: note: the endpoint \(AZURE_OPENAI_ENDPOINT\) comes from \.env but the key \(AZURE_OPENAI_API_KEY\) from the environment; the key is sent to http:\/\/127\.0\.0\.1:\d+\./,
    );
    assert.ok(!done.stderr.includes(KEY));
  });

  it('both from the environment: nothing to say', async () => {
    const done = await run(['hi'], { env: env({ AZURE_OPENAI_API_KEY: KEY }) });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stderr, '');
  });
});

describe('-n N answered with fewer choices', { timeout: 60_000 }, () => {
  it('what arrived is printed, no empty label, the missing choice named on stderr, exit 6', async () => {
    const done = await run(['-n', '2', '--deployment', 'one', 'x'], { env: env() });
    assert.equal(done.code, 6, done.stderr);
    assert.equal(done.stdout, '[choice 0]\nonly one\n');
    assert.match(done.stderr, /^sluice: asked for 2 choices \(-n 2\) but choice 1 never came/);
    assert.equal(done.stderr.trimEnd().split('\n').length, 1, done.stderr);
  });

  it('--json: the summary says failed with the protocol error', async () => {
    const done = await run(['--json', '-n', '2', '--deployment', 'one', 'x'], { env: env() });
    assert.equal(done.code, 6, done.stderr);
    const summary = JSON.parse(done.stdout.trimEnd().split('\n').at(-1) ?? '{}') as {
      end: { state: string; error?: { code: string } };
    };
    assert.deepEqual(summary.end.state, 'failed');
    assert.equal(summary.end.error?.code, 'SLUICE_PROTOCOL');
  });
});
