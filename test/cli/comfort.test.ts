/**
 * The everyday comforts through the real binary, each test with its own XDG directories:
 * the settings file and `sluice config`, stored keys, templates with parameters,
 * attachments, `sluice models`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Backend } from '../../src/backend.js';
import { createServer } from '../../src/server/index.js';
import {
  type AzureServer,
  azureError,
  chatChunks,
  completionChunks,
  reply,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, run, tempDir } from '../support/cli.js';

const KEY = 'stored-key-5c4b3a29f8e7d6';
let server: AzureServer;

before(async () => {
  assertBuilt();
  server = await startAzureServer({
    apiKey: KEY,
    scenarios: {
      chat: stream(chatChunks(['Fine', '.'])),
      instruct: stream(completionChunks(['Once'])),
      'text-only': reply(
        400,
        azureError('BadRequest', 'Invalid content type. image_url is only supported by certain models.', {
          param: 'messages',
        }),
      ),
    },
  });
});
after(() => server.close());

/** Fresh XDG config and data directories, and the environment that points at them. */
function home(extra: Record<string, string> = {}): { env: Record<string, string>; config: string; data: string } {
  const dir = tempDir();
  const config = join(dir, 'config');
  const data = join(dir, 'data');
  return { env: cleanEnv({ XDG_CONFIG_HOME: config, XDG_DATA_HOME: data, ...extra }), config, data };
}

function writeSettings(config: string, settings: unknown): void {
  mkdirSync(join(config, 'sluice'), { recursive: true });
  writeFileSync(join(config, 'sluice', 'config.json'), JSON.stringify(settings));
}

/** The first message of a recorded chat request. */
function firstMessage(request: AzureServer['requests'][number] | undefined): unknown {
  return (request?.body as { messages?: Array<{ content: unknown }> } | undefined)?.messages?.[0]?.content;
}

/** The requests the test server received from here on. */
function since(): () => AzureServer['requests'] {
  const from = server.requests.length;
  return () => server.requests.slice(from);
}

describe('stored keys', () => {
  it('sluice keys set stores the key from stdin in a 0600 file in a 0700 directory; a request uses it', async () => {
    const h = home({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_DEPLOYMENT: 'chat' });
    const stored = await run(['keys', 'set', 'AZURE_OPENAI_API_KEY'], { env: h.env, input: `${KEY}\n` });
    assert.equal(stored.code, 0, stored.stderr);
    assert.ok(!stored.stdout.includes(KEY) && !stored.stderr.includes(KEY), 'the key is never printed');
    assert.equal(statSync(join(h.config, 'sluice')).mode & 0o777, 0o700);
    assert.equal(statSync(join(h.config, 'sluice', 'keys.json')).mode & 0o777, 0o600);
    const list = await run(['keys', 'list'], { env: h.env });
    assert.equal(list.stdout, 'AZURE_OPENAI_API_KEY\n');

    const requests = since();
    const chat = await run(['chat', 'hello'], { env: h.env });
    assert.equal(chat.code, 0, chat.stderr);
    assert.equal(chat.stdout, 'Fine.');
    assert.equal(requests()[0]?.headers['api-key'], KEY);
  });

  it('a name that is not a key is refused, nothing stored', async () => {
    const h = home();
    const r = await run(['keys', 'set', 'AZURE_OPENAI_ENDPOINT'], { env: h.env, input: 'x\n' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not a key's name: use the variable's name, e.g. AZURE_OPENAI_API_KEY/);
  });
});

describe('sluice config', () => {
  it('shows each setting with its source: flag, environment, .env, stored key, settings file, default; never the key', async () => {
    const h = home({ AZURE_OPENAI_ENDPOINT: server.url });
    writeSettings(h.config, { aliases: { fast: 'chat' }, defaults: { temperature: 0.3 } });
    await run(['keys', 'set', 'AZURE_OPENAI_API_KEY'], { env: h.env, input: KEY });
    const cwd = tempDir({ '.env': 'OPENAI_API_VERSION=2024-06-01\n' });
    const r = await run(['config', '-m', 'fast'], { env: h.env, cwd });
    assert.equal(r.code, 0, r.stderr);
    const line = (setting: string) => r.stdout.split('\n').find((l) => l.startsWith(`${setting} `)) ?? '';
    assert.match(line('endpoint'), new RegExp(`${server.url}\\s+environment \\(AZURE_OPENAI_ENDPOINT\\)`));
    assert.match(line('key'), /\*\*\*\* \(\d+ characters\)\s+user keys \(AZURE_OPENAI_API_KEY\)/);
    assert.match(line('deployment'), /chat \(alias fast\)\s+flag \(--model\)/);
    assert.match(line('api-version'), /2024-06-01\s+\.env \(OPENAI_API_VERSION\)/);
    assert.match(line('temperature'), /0\.3\s+user file \(defaults\)/);
    assert.match(line('retries'), /2\s+default/);
    assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), r.stdout);
  });

  it('the settings file is below the environment; its flag defaults reach the request', async () => {
    const h = home({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_API_KEY: KEY, AZURE_OPENAI_DEPLOYMENT: 'chat' });
    writeSettings(h.config, { model: 'elsewhere', defaults: { temperature: 0.3, 'max-tokens': 7 } });
    const requests = since();
    const r = await run(['chat', 'hi'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(requests()[0]?.deployment, 'chat', 'the environment wins over the file');
    assert.equal(requests()[0]?.body?.temperature, 0.3);
    assert.equal(requests()[0]?.body?.max_tokens, 7);
    const flag = await run(['chat', '--temperature', '1', 'hi'], { env: h.env });
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(requests()[1]?.body?.temperature, 1, 'a flag wins over the file');
  });

  it('a mistake in the settings file is named, with the fix', async () => {
    const h = home();
    writeSettings(h.config, { defaults: { temprature: 1 } });
    const r = await run(['chat', '--local', 'hi'], { env: h.env });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /config\.json "defaults" has "temprature", which is not a flag with a default: did you mean "temperature"\?/,
    );
  });
});

describe('templates', () => {
  it('--save keeps prompt, system, model and options; -t with -p fills $parameters; the upstream gets the filled text', async () => {
    const h = home({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_API_KEY: KEY });
    const requests = since();
    const saved = await run(
      [
        'chat',
        '-s',
        'Answer as a $role.',
        '-m',
        'chat',
        '--temperature',
        '0.5',
        '--save',
        'ask',
        'Explain $topic briefly.',
      ],
      { env: h.env },
    );
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(saved.stderr, /saved template "ask" .*sluice chat -t ask -p role VALUE -p topic VALUE/);
    assert.equal(requests().length, 0, '--save sends nothing');

    const used = await run(['chat', '-t', 'ask', '-p', 'role', 'pirate', '-p', 'topic', 'sluices'], { env: h.env });
    assert.equal(used.code, 0, used.stderr);
    const body = requests()[0]?.body as { messages: unknown; temperature: number };
    assert.equal(requests()[0]?.deployment, 'chat');
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'Answer as a pirate.' },
      { role: 'user', content: 'Explain sluices briefly.' },
    ]);
    assert.equal(body.temperature, 0.5);
  });

  it('a missing parameter is a usage error naming it; nothing is sent', async () => {
    const h = home({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_API_KEY: KEY });
    await run(['chat', '-m', 'chat', '--save', 'ask', 'Explain $topic.'], { env: h.env });
    const requests = since();
    const r = await run(['chat', '-t', 'ask'], { env: h.env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Template "ask" needs a value for \$topic: pass -p topic VALUE/);
    assert.equal(requests().length, 0);
  });
});

describe('attachments', () => {
  it('text files are inlined under their names in fenced blocks, stdin with -a -', async () => {
    const h = home({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_API_KEY: KEY });
    const cwd = tempDir({ 'notes.md': 'Gates ```hold``` water.\n' });
    const requests = since();
    const r = await run(['chat', '-m', 'chat', '-a', 'notes.md', '-a', '-', 'Summarize.'], {
      env: h.env,
      cwd,
      input: 'from stdin\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      firstMessage(requests()[0]),
      'Summarize.\n\nnotes.md:\n````\nGates ```hold``` water.\n````\n\nstdin:\n```\nfrom stdin\n```',
    );
  });

  it('an image goes as an image_url part with a data URL; a model that refuses images gets a clear message', async () => {
    const h = home({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_API_KEY: KEY });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const cwd = tempDir();
    writeFileSync(join(cwd, 'chart.bin'), png);
    const requests = since();
    const ok = await run(['chat', '-m', 'chat', '-a', 'chart.bin', 'What is it?'], { env: h.env, cwd });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(firstMessage(requests()[0]), [
      { type: 'text', text: 'What is it?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
    ]);
    const refused = await run(['chat', '-m', 'text-only', '-a', 'chart.bin', 'What is it?'], { env: h.env, cwd });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /The model does not take images \(-a chart\.bin\): use a model that does/);
  });

  it('the local model refuses an image before anything is loaded', async () => {
    const h = home();
    const cwd = tempDir();
    writeFileSync(join(cwd, 'a.gif'), 'GIF89a....');
    const r = await run(['chat', '--local', '-a', 'a.gif', 'What is it?'], { env: h.env, cwd });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /The local model does not take images \(-a a\.gif\)/);
  });
});

describe('sluice models', () => {
  it('lists what an OpenAI-compatible server (and the Azure v1 route) offers', async (t) => {
    const url = await modelServer(t, ['gpt-4o-mini', 'gpt-4o']);
    const h = home();
    const openai = await run(['models', '--base-url', `${url}/v1`], { env: h.env });
    assert.equal(openai.code, 0, openai.stderr);
    assert.equal(openai.stdout, 'gpt-4o-mini\ngpt-4o\n');
    const v1 = await run(['models', '--endpoint', `${url}/openai/v1`], { env: h.env });
    assert.equal(v1.code, 0, v1.stderr);
    assert.equal(v1.stdout, 'gpt-4o-mini\ngpt-4o\n');
  });

  it('an Azure resource that does not list its deployments gets what to do instead', async () => {
    const h = home({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_API_KEY: KEY, AZURE_OPENAI_DEPLOYMENT: 'chat' });
    const r = await run(['models'], { env: h.env });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /does not list its deployments over the API: see them in the Azure AI Foundry portal.*v1 route/,
    );
  });

  it('the local model: the embedded one and the .gguf files of the models folder', async () => {
    const h = home();
    mkdirSync(join(h.data, 'sluice', 'models'), { recursive: true });
    writeFileSync(join(h.data, 'sluice', 'models', 'mine.gguf'), '');
    const r = await run(['models', '--local', '--json'], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    const listed = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; source: string });
    assert.deepEqual(
      listed.map((m) => m.id),
      ['tinyllamas-stories-260k-f32', 'mine'],
    );
    assert.equal(listed[0]?.source, 'embedded');
  });
});

/** A `sluice serve` server whose backend offers `ids` (and answers nothing). */
async function modelServer(t: TestContext, ids: string[]): Promise<string> {
  const backend: Backend = {
    name: 'fake',
    async *stream() {},
    models: async () => ids.map((id) => ({ id, object: 'model' as const, created: 0, owned_by: 'test' })),
  };
  const s = createServer({ backend });
  const { url } = await s.listen(0, '127.0.0.1');
  t.after(() => s.close(200));
  return url;
}
