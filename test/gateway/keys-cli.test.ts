// The command line of issue 13: `sluice keys hash` (stdin and --new), and `sluice serve
// --config` with client keys answered by `sluice usage` (table, --json, a refused key) —
// with no key in any output.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { hashKey } from '../../src/gateway/keys.js';
import { assertBuilt, cleanEnv, type Running, run, start, tempDir } from '../support/cli.js';
import { azureUrl, post } from '../support/server.js';

const SECRET = 'sk-sluice-TEAM-A-SECRET-0123456789abcdefghij';
const ADMIN = 'sk-sluice-OPS-SECRET-abcdefghij0123456789';

before(() => assertBuilt());

test('sluice keys hash prints the key_hash of a key read from stdin, never the key', async () => {
  const done = await run(['keys', 'hash'], { input: `${SECRET}\n` });
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.stdout, `key_hash: ${hashKey(SECRET)}\n`);
  assert.ok(!done.stderr.includes(SECRET));
});

test('sluice keys hash --new prints a new random key once, with its hash', async () => {
  const done = await run(['keys', 'hash', '--new']);
  assert.equal(done.code, 0, done.stderr);
  const key = /^key: +(\S+)$/m.exec(done.stdout)?.[1];
  const hash = /^key_hash: (\S+)$/m.exec(done.stdout)?.[1];
  assert.ok(key && hash, done.stdout);
  assert.equal(hash, hashKey(key));
  assert.match(done.stderr, /only key_hash: in the gateway file/);
});

let serve: Running | undefined;
let url = '';
before(async () => {
  const cwd = tempDir({
    'sluice.yaml': [
      'models:',
      '  story:',
      '    - local: true',
      'keys:',
      '  - name: team-a',
      `    key_hash: ${hashKey(SECRET)}`,
      '    tpm: 100000',
      '  - name: ops',
      `    key_hash: ${hashKey(ADMIN)}`,
      '    admin: true',
      'prices:',
      '  story: { input: 1000, output: 2000 }',
      '',
    ].join('\n'),
  });
  serve = start(['serve', '--port', '0', '--config', 'sluice.yaml', '--log-format', 'json'], {
    cwd,
    env: cleanEnv({ SLUICE_THREADS: '1' }),
  });
  await serve.waitFor(/Ctrl-C stops\./, 'stdout', 60_000);
  url = /serving \S+ at (http:\/\/127\.0\.0\.1:\d+)/.exec(serve.stdout)?.[1] ?? '';
  assert.ok(url, serve.stdout);
});
after(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.done;
});

test('sluice serve --config with keys: attributes requests, and sluice usage shows the ledger', async () => {
  assert.match(serve!.stdout, /Auth: +2 client keys \(keys:\); usage at http/);
  const res = await post(
    azureUrl(url, 'story', 'chat'),
    { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 12, seed: 1, stream: true },
    { 'api-key': SECRET },
  );
  assert.equal(res.status, 200);
  await res.text();
  assert.equal((await post(azureUrl(url, 'story', 'chat'), { messages: [] }, { 'api-key': 'nope' })).status, 401);

  let table = await run(['usage', '--url', url, '--api-key', ADMIN]);
  for (let i = 0; i < 50 && !table.stdout.includes('team-a'); i++) {
    await new Promise((r) => setTimeout(r, 50));
    table = await run(['usage', '--url', url, '--api-key', ADMIN]);
  }
  assert.equal(table.code, 0, table.stderr);
  const [header, row] = table.stdout.trim().split('\n');
  assert.match(header!, /^DAY +KEY +MODEL +TARGET +REQUESTS +PROMPT +COMPLETION +CUT +STOPPED +COST$/);
  assert.match(row!, /^\d{4}-\d{2}-\d{2} +team-a +story +story\/0:local:\S+ +1 +\d+ +12 +0 +0 +\d+\.\d{4}$/);

  const json = await run(['usage', '--url', url, '--json'], { env: cleanEnv({ SLUICE_API_KEY: ADMIN }) });
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout.trim().split('\n')[0]!) as {
    key: string;
    completionReported: number;
    cost: number;
  };
  assert.equal(parsed.key, 'team-a');
  assert.equal(parsed.completionReported, 12);
  assert.ok(parsed.cost > 0.024, 'priced: 12 output tokens at 2000 per 1M');

  const refused = await run(['usage', '--url', url, '--api-key', SECRET]);
  assert.equal(refused.code, ExitCode.AUTH);
  assert.match(refused.stderr, /pass an admin client key with --api-key/);

  for (const text of [table.stdout, table.stderr, json.stdout, refused.stderr, serve!.stdout, serve!.stderr]) {
    assert.ok(!text.includes(SECRET) && !text.includes(ADMIN), 'a key was printed');
  }
  assert.ok(
    serve!.stderr.split('\n').some((l) => l.startsWith('{') && JSON.parse(l).key === 'team-a'),
    'the request log names the key',
  );
});
