// `sluice usage` talking to what answers at --url, in process (no build needed): the admin
// key goes to that URL only, never on through a redirect.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { type CliIO, main } from '../../src/cli/main.js';

const ADMIN = 'sk-sluice-OPS-SECRET-abcdefghij0123456789';

async function listen(t: { after(fn: () => void): void }, server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function usage(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: {
      write: (s: string) => {
        stdout += s;
        return true;
      },
      isTTY: false,
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
      isTTY: false,
    },
    env: {},
    cwd: process.cwd(),
    onSignal: () => () => {},
  } as unknown as CliIO;
  const code = await main(['usage', ...args], io);
  return { code, stdout, stderr };
}

test('sluice usage does not carry the admin key on through a redirect to another origin', async (t) => {
  const seen: (string | undefined)[] = [];
  const elsewhere = await listen(
    t,
    createServer((req, res) => {
      seen.push(req.headers['api-key'] as string | undefined);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[]}');
    }),
  );
  const gateway = await listen(
    t,
    createServer((_req, res) => res.writeHead(307, { location: `${elsewhere}/sluice/v1/usage` }).end()),
  );
  const done = await usage(['--url', gateway, '--api-key', ADMIN]);
  assert.deepEqual(seen, [], 'nothing was asked of the other origin');
  assert.equal(done.code, ExitCode.SERVICE);
  assert.match(done.stderr, /redirect.*--url/);
  assert.ok(!done.stderr.includes(ADMIN));
});

test('sluice usage shows a hostile ledger as plain table text: no terminal escapes, no crash on wrong types', async (t) => {
  const row = {
    day: '2026-11-30',
    key: 'ops\u001b]0;pwned\u0007',
    model: 'gpt\u001b[2J\nnext line',
    target: 'azure\u009b31m\ttab',
    requests: 3,
    promptReported: 10,
    promptCounted: 0,
    completionReported: 'many',
    completionCounted: 2,
    cut: 0,
    stopped: 1,
    cost: 'free',
  };
  const gateway = await listen(
    t,
    createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [row] })),
    ),
  );
  const done = await usage(['--url', gateway, '--api-key', ADMIN]);
  assert.equal(done.code, ExitCode.OK, done.stderr);
  assert.doesNotMatch(
    done.stdout,
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/,
    'no control character reaches the terminal',
  );
  const lines = done.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, 'one header line and one line per row');
  assert.match(lines[1]!, /^2026-11-30 +ops\]0;pwned +gpt\[2J next line +azure31m tab +3 +10 +2 counted +0 +1 +-$/);
});
