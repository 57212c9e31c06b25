/**
 * The interactive chat's comforts in a pseudo-terminal: /model and /system change what the
 * next question sends, the up arrow recalls the previous session's input, and the context
 * meter follows an answer of the local model.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AzureServer, chatChunks, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, type Running, startInTerminal, tempDir } from '../support/cli.js';

const KEY = 'chat-key-0a1b2c3d4e5f';
let server: AzureServer;

before(async () => {
  assertBuilt();
  server = await startAzureServer({
    apiKey: KEY,
    scenarios: { chat: stream(chatChunks(['Ahoy', '.'])), other: stream(chatChunks(['Other', '.'])) },
  });
});
after(() => server.close());

/** Text without escape sequences and with the terminal's CRLF as LF. */
function visible(s: string): string {
  return s.replace(/\u001b\[[\d;?]*[A-Za-z~]/g, '').replace(/\r\n/g, '\n');
}

/** Types `keys` and Enter, and waits for the next prompt. */
async function enter(cli: Running, keys: string, timeoutMs = 15_000): Promise<string> {
  const prompts = () => (cli.stdout.match(/›/g) ?? []).length;
  const before = prompts();
  const from = cli.stdout.length;
  cli.write(`${keys}\r`);
  await cli.waitFor(new RegExp(`^(?:[^›]*›){${before + 1}}`), 'stdout', timeoutMs);
  return visible(cli.stdout.slice(from));
}

function messagesOf(request: AzureServer['requests'][number] | undefined): unknown[] {
  return (request?.body as { messages?: unknown[] } | undefined)?.messages ?? [];
}

function home(): Record<string, string> {
  const dir = tempDir();
  return cleanEnv({
    TERM: 'xterm-256color',
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    AZURE_OPENAI_ENDPOINT: server.url,
    AZURE_OPENAI_API_KEY: KEY,
    AZURE_OPENAI_DEPLOYMENT: 'chat',
  });
}

describe('the interactive chat comforts', { timeout: 120_000 }, () => {
  it('/system and /model change what the next question sends', async () => {
    const cli = startInTerminal(['chat', '--no-log'], { env: home() });
    await cli.waitFor(/help for commands[\s\S]*›/);
    const from = server.requests.length;
    assert.match(await enter(cli, '/system Talk like a pirate.'), /System message set\./);
    assert.match(await enter(cli, 'hello'), /Ahoy\./);
    assert.match(await enter(cli, '/model other'), /model: other/);
    assert.match(await enter(cli, 'and now?'), /Other\./);
    cli.write('\u0004');
    assert.equal((await cli.done).code, 0);
    const [first, second] = server.requests.slice(from);
    assert.equal(first?.deployment, 'chat');
    assert.deepEqual(messagesOf(first)[0], { role: 'system', content: 'Talk like a pirate.' });
    assert.equal(second?.deployment, 'other');
    assert.deepEqual(messagesOf(second).at(-1), { role: 'user', content: 'and now?' });
  });

  it("the up arrow recalls the previous session's input", async () => {
    const env = home();
    const first = startInTerminal(['chat', '--no-log'], { env });
    await first.waitFor(/help for commands[\s\S]*›/);
    await enter(first, 'a question worth repeating');
    first.write('\u0004');
    assert.equal((await first.done).code, 0);

    const from = server.requests.length;
    const second = startInTerminal(['chat', '--no-log'], { env });
    await second.waitFor(/help for commands[\s\S]*›/);
    second.write('\u001b[A');
    // The recalled line is on the screen (this process has printed it nowhere else).
    await second.waitFor('a question worth repeating');
    await enter(second, '');
    second.write('\u0004');
    assert.equal((await second.done).code, 0);
    assert.deepEqual(messagesOf(server.requests.slice(from)[0]), [
      { role: 'user', content: 'a question worth repeating' },
    ]);
  });

  it('after an answer of the local model, the context meter says how full its context is', async () => {
    const model: Record<string, string> = process.env.SLUICE_MODEL ? { SLUICE_MODEL: process.env.SLUICE_MODEL } : {};
    const cli = startInTerminal(['chat', '--local', '--no-log', '--max-tokens', '20'], {
      env: { ...home(), ...model },
    });
    await cli.waitFor(/help for commands[\s\S]*›/, 'stdout', 60_000);
    const answer = await enter(cli, 'Tell me a story.', 60_000);
    cli.write('\u0004');
    await cli.done;
    const meter = /context: (\d+)\/(\d+) tokens/.exec(answer);
    assert.ok(meter, answer);
    assert.equal(meter[2], '512');
    assert.ok(Number(meter[1]) > 0 && Number(meter[1]) <= 512, answer);
  });
});

describe('the session saved as a template', { timeout: 60_000 }, () => {
  it('/save keeps the system message and model; /load in the next session sends with them', async () => {
    const env = home();
    const first = startInTerminal(['chat', '--no-log'], { env });
    await first.waitFor(/help for commands[\s\S]*›/);
    await enter(first, '/system Be terse.');
    await enter(first, '/model other');
    assert.match(await enter(first, '/save terse'), /Saved as template "terse"/);
    first.write('\u0004');
    assert.equal((await first.done).code, 0);

    const from = server.requests.length;
    const second = startInTerminal(['chat', '--no-log'], { env });
    await second.waitFor(/help for commands[\s\S]*›/);
    assert.match(await enter(second, '/load terse'), /Loaded template "terse"/);
    assert.match(await enter(second, 'hi'), /Other\./);
    second.write('\u0004');
    assert.equal((await second.done).code, 0);
    const sent = server.requests.slice(from)[0];
    assert.equal(sent?.deployment, 'other');
    assert.deepEqual(messagesOf(sent), [
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'hi' },
    ]);
  });
});

describe('sluice keys set on a terminal', { timeout: 30_000 }, () => {
  it('reads the key without echo and stores it', async () => {
    const env = home();
    const cli = startInTerminal(['keys', 'set', 'OPENAI_API_KEY'], { env });
    await cli.waitFor('(not shown)');
    cli.write('typed-secret-9z8y7x\r');
    const done = await cli.done;
    assert.equal(done.code, 0, done.stdout);
    assert.ok(!done.stdout.includes('typed-secret'), `the key is not shown: ${JSON.stringify(done.stdout)}`);
    const stored = JSON.parse(readFileSync(join(env.XDG_CONFIG_HOME as string, 'sluice', 'keys.json'), 'utf8'));
    assert.equal(stored.OPENAI_API_KEY, 'typed-secret-9z8y7x');
  });
});
