// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the configuration file's own syntax
// `sluice serve` as a gateway, through the built binary: `--check-config` (summary with keys
// masked, or file:line:column errors and the config exit code), the `.env`-fronting default
// (Azure settings in .env: every name is answered by that deployment), and `--config` serving
// two names, both listed in /v1/models. The upstream is the Azure test server on 127.0.0.1.
// Run `npm run -s build` first.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ExitCode } from '../../src/cli/exit-codes.js';
import {
  type AzureServer,
  azureError,
  chatChunks,
  completionChunks,
  reply,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, type Running, run, start, tempDir } from '../support/cli.js';

const UPSTREAM_KEY = 'upstream-secret-key-0123456789';
const CLIENT_KEY = 'gateway-client-key-abcdef';

let upstream: AzureServer;
before(async () => {
  assertBuilt();
  upstream = await startAzureServer({
    apiKey: UPSTREAM_KEY,
    scenarios: {
      'gpt-4o-east': stream(chatChunks(['Hello ', 'from ', 'east'])),
      'tiny-model': stream(chatChunks(['tiny ', 'answer'])),
      'instruct-east': stream(completionChunks(['Once ', 'upon'])),
      busy: reply(429, azureError('429', 'Rate limit reached'), { 'retry-after-ms': '60000' }),
    },
  });
});
after(() => upstream.close());

/** A config with two names: one Azure deployment, one OpenAI-compatible model. */
function twoNames(): string {
  return [
    'models:',
    '  gpt-4o:',
    `    - azure: ${upstream.url}`,
    '      deployment: gpt-4o-east',
    '      api_key: ${UPSTREAM_KEY}',
    '      timeouts: { headers_ms: 10000, idle_ms: 10000 }',
    '  tiny:',
    '    targets:',
    `      - openai: ${upstream.url}/v1`,
    '        model: tiny-model',
    '        api_key: ${UPSTREAM_KEY}',
    '        weight: 2',
    'server:',
    '  api_key: ${CLIENT_KEY}',
    '',
  ].join('\n');
}

/** Starts `sluice serve ...args` and waits for its URL. */
async function serve(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ s: Running; url: string }> {
  const s = start(['serve', '--port', '0', ...args], { cwd, env: cleanEnv(env) });
  await s.waitFor(/Ctrl-C stops\./, 'stdout', 30_000).catch((error: unknown) => {
    throw new Error(`serve did not start: ${String(error)}\nstdout: ${s.stdout}\nstderr: ${s.stderr}`);
  });
  const url = /serving \S+ at (http:\/\/127\.0\.0\.1:\d+)/.exec(s.stdout)?.[1];
  assert.ok(url, s.stdout);
  return { s, url };
}

async function stop(s: Running): Promise<void> {
  if (s.child.exitCode !== null) return;
  s.child.kill('SIGTERM');
  const done = await s.done;
  assert.equal(done.code, 0, done.stderr);
}

/** The text of a streamed chat answer, read as SSE. */
async function chatText(response: Response): Promise<string> {
  assert.equal(response.status, 200, await response.clone().text());
  let text = '';
  for (const line of (await response.text()).split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6)) as { choices: Array<{ delta?: { content?: string } }> };
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  return text;
}

function chat(url: string, model: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe('sluice serve --check-config', { timeout: 60_000 }, () => {
  test('a valid file: its names and targets, keys masked, exit 0, nothing served', async () => {
    const cwd = tempDir({ 'sluice.yaml': twoNames(), '.env': `UPSTREAM_KEY=${UPSTREAM_KEY}\n` });
    const before = upstream.requests.length;
    const done = await run(['serve', '--config', 'sluice.yaml', '--check-config'], {
      cwd,
      env: cleanEnv({ CLIENT_KEY }),
    });
    assert.equal(done.code, ExitCode.OK, done.stderr);
    const host = new URL(upstream.url).host;
    assert.match(done.stdout, /^sluice\.yaml: 2 models, 2 targets$/m);
    assert.match(
      done.stdout,
      new RegExp(`^    gpt-4o/0:azure:${host}  deployment gpt-4o-east, key \\*\\*\\*\\*,`, 'm'),
    );
    assert.match(
      done.stdout,
      new RegExp(`^    tiny/0:openai:${host}  model tiny-model, key \\*\\*\\*\\*, priority 1, weight 2$`, 'm'),
    );
    assert.match(done.stdout, /clients need key \*\*\*\*/);
    for (const secret of [UPSTREAM_KEY, CLIENT_KEY]) {
      assert.ok(!done.stdout.includes(secret) && !done.stderr.includes(secret), 'no key in the output');
    }
    assert.equal(upstream.requests.length, before, 'checking contacts no upstream');
  });

  test('SLUICE_CONFIG names the file too', async () => {
    const cwd = tempDir({ 'gw.yaml': 'models:\n  story:\n    - local: true\n' });
    const done = await run(['serve', '--check-config'], { cwd, env: cleanEnv({ SLUICE_CONFIG: 'gw.yaml' }) });
    assert.equal(done.code, ExitCode.OK, done.stderr);
    assert.match(done.stdout, /^gw\.yaml: 1 model, 1 target$/m);
  });

  test('a bad file: every problem as file:line:column, the config exit code, no secret', async () => {
    const text = twoNames()
      .replace('deployment: gpt-4o-east', 'deploymnet: gpt-4o-east')
      .replace('weight: 2', 'weight: heavy')
      .replace('${CLIENT_KEY}', '${MISSING_KEY}');
    const cwd = tempDir({ 'sluice.yaml': text, '.env': `UPSTREAM_KEY=${UPSTREAM_KEY}\n` });
    const done = await run(['serve', '--config', 'sluice.yaml', '--check-config'], { cwd, env: cleanEnv() });
    assert.equal(done.code, ExitCode.USAGE);
    assert.equal(done.stdout, '');
    const lines = done.stderr.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, -1), [
      'sluice.yaml:3:7: missing "deployment" in models.gpt-4o[0]',
      'sluice.yaml:4:7: unknown key "deploymnet" in models.gpt-4o[0]; did you mean "deployment"?',
      'sluice.yaml:12:17: models.tiny.targets[0].weight: must be a number, not text',
      'sluice.yaml:14:12: ${MISSING_KEY} is not set: set MISSING_KEY in the environment or in .env',
    ]);
    assert.match(lines.at(-1) ?? '', /^sluice: sluice\.yaml was refused \(4 problems above\); nothing was started$/);
    assert.ok(!done.stderr.includes(UPSTREAM_KEY));
  });

  test('without a configuration file it says how to give one', async () => {
    const done = await run(['serve', '--check-config'], { cwd: tempDir(), env: cleanEnv() });
    assert.equal(done.code, ExitCode.USAGE);
    assert.match(
      done.stderr,
      /--check-config checks a configuration file: pass --config FILE \(or set SLUICE_CONFIG\)/,
    );
  });
});

describe('sluice serve fronts the deployment the CLI settings name', { timeout: 60_000 }, () => {
  test('Azure settings in .env: every name is answered by that deployment', async (t) => {
    const cwd = tempDir({
      '.env': [
        `AZURE_OPENAI_ENDPOINT=${upstream.url}`,
        `AZURE_OPENAI_API_KEY=${UPSTREAM_KEY}`,
        'AZURE_OPENAI_DEPLOYMENT=gpt-4o-east',
        '',
      ].join('\n'),
    });
    const { s, url } = await serve([], cwd);
    t.after(() => stop(s));
    assert.match(s.stdout, /every name goes to Azure deployment gpt-4o-east/);
    assert.equal(await chatText(await chat(url, 'whatever-the-page-asks')), 'Hello from east');
    assert.equal(upstream.requests.at(-1)?.deployment, 'gpt-4o-east');
    // The Azure dialect, under another deployment name, reaches the same deployment.
    const azure = await fetch(`${url}/openai/deployments/other/chat/completions?api-version=2024-10-21`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(await chatText(azure), 'Hello from east');
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['gpt-4o-east'],
    );
    assert.ok(!s.stdout.includes(UPSTREAM_KEY) && !s.stderr.includes(UPSTREAM_KEY));
  });

  test('a key stored with `sluice keys set` fronts Azure, and serve never prints it', async (t) => {
    const env = cleanEnv();
    const cwd = tempDir({
      '.env': [`AZURE_OPENAI_ENDPOINT=${upstream.url}`, 'AZURE_OPENAI_DEPLOYMENT=gpt-4o-east', ''].join('\n'),
    });
    const stored = await run(['keys', 'set', 'AZURE_OPENAI_API_KEY'], { cwd, env, input: `${UPSTREAM_KEY}\n` });
    assert.equal(stored.code, 0, stored.stderr);
    const s = start(['serve', '--port', '0'], { cwd, env });
    t.after(() => stop(s));
    await s.waitFor(/Ctrl-C stops\./, 'stdout', 30_000);
    const url = /serving \S+ at (http:\/\/127\.0\.0\.1:\d+)/.exec(s.stdout)?.[1];
    assert.ok(url, s.stdout);
    // The upstream answers only its key: the stored one reached it.
    assert.equal(await chatText(await chat(url, 'any')), 'Hello from east');
    assert.equal(upstream.requests.at(-1)?.deployment, 'gpt-4o-east');
    await stop(s);
    assert.ok(!s.stdout.includes(UPSTREAM_KEY) && !s.stderr.includes(UPSTREAM_KEY), s.stdout + s.stderr);
  });

  test('--profile reads the suffixed names, as the other commands do', async (t) => {
    const cwd = tempDir({
      '.env': [
        `AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT=${upstream.url}`,
        `AZURE_OPENAI_API_KEY_FOR_INSTRUCT=${UPSTREAM_KEY}`,
        'AZURE_OPENAI_DEPLOYMENT_NAME_FOR_INSTRUCT=instruct-east',
        '',
      ].join('\n'),
    });
    const { s, url } = await serve(['--profile', 'instruct'], cwd);
    t.after(() => stop(s));
    const response = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', prompt: 'Once', stream: true }),
    });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /"text":"upon"/);
    assert.equal(upstream.requests.at(-1)?.deployment, 'instruct-east');
  });
});

describe('sluice serve --config', { timeout: 60_000 }, () => {
  test('two names served, each by its own target, both listed in /v1/models', async (t) => {
    const cwd = tempDir({ 'sluice.yaml': twoNames(), '.env': `UPSTREAM_KEY=${UPSTREAM_KEY}\n` });
    const { s, url } = await serve(['--config', 'sluice.yaml'], cwd, { CLIENT_KEY });
    t.after(() => stop(s));
    assert.match(s.stdout, /\(deployments gpt-4o, tiny\)/);
    const auth = { authorization: `Bearer ${CLIENT_KEY}` };

    const models = (await (await fetch(`${url}/v1/models`, { headers: auth })).json()) as {
      data: Array<{ id: string }>;
    };
    assert.deepEqual(models.data.map((m) => m.id).sort(), ['gpt-4o', 'tiny']);

    assert.equal(await chatText(await chat(url, 'gpt-4o', auth)), 'Hello from east');
    assert.equal(upstream.requests.at(-1)?.deployment, 'gpt-4o-east');
    assert.equal(await chatText(await chat(url, 'tiny', auth)), 'tiny answer');
    assert.equal(upstream.requests.at(-1)?.deployment, 'tiny-model');

    // A name the file does not list is not served; the server's key from the file is required.
    assert.equal((await chat(url, 'gpt-4o-east', auth)).status, 404);
    assert.equal((await chat(url, 'gpt-4o')).status, 401);
  });

  test("a name's targets are routed: a 429 on the first fails over to the next, which the response names", async (t) => {
    const host = new URL(upstream.url).host;
    const file = [
      'models:',
      '  pooled:',
      `    - azure: ${upstream.url}`,
      '      deployment: busy',
      `      api_key: ${UPSTREAM_KEY}`,
      `    - openai: ${upstream.url}/v1`,
      '      model: tiny-model',
      `      api_key: ${UPSTREAM_KEY}`,
      '      priority: 2',
      '',
    ].join('\n');
    const { s, url } = await serve(['--config', 'sluice.yaml'], tempDir({ 'sluice.yaml': file }));
    t.after(() => stop(s));
    const first = await chat(url, 'pooled');
    assert.equal(first.headers.get('x-sluice-target'), `pooled/1:openai:${host}`);
    assert.equal(await chatText(first), 'tiny answer');
    assert.deepEqual(
      upstream.requests.slice(-2).map((r) => r.deployment),
      ['busy', 'tiny-model'],
    );
    // The first target cools down (retry-after-ms): the next request goes straight to the second.
    const before = upstream.requests.length;
    assert.equal(await chatText(await chat(url, 'pooled')), 'tiny answer');
    assert.deepEqual(
      upstream.requests.slice(before).map((r) => r.deployment),
      ['tiny-model'],
    );
  });
});
