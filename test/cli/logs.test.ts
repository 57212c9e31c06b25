/**
 * The exchange log through the real binary: every answer logged (partial ones with their end
 * state), `sluice logs` listing and searching, `chat -c`/`--cid` sending the logged history
 * upstream, logging off, never a key on disk, and a log database that is locked, damaged or
 * read-only: one clear line on stderr while the answer still streams with its exit code.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  type AzureServer,
  azureError,
  chatChunks,
  completionChunks,
  type RecordedRequest,
  reply,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { assertBuilt, BIN, cleanEnv, run, start, startInTerminal } from '../support/cli.js';

const KEY = 'test-key-log-5c1d2e3f4a5b';
const USAGE = { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 };

let server: AzureServer;

before(async () => {
  assertBuilt();
  server = await startAzureServer({
    apiKey: KEY,
    scenarios: {
      instruct: stream(completionChunks(['Once', ' upon', ' a time'], { usage: USAGE })),
      // Each answer names the question; "stop me" never finishes; "hold" waits for a gate.
      talk: (req: RecordedRequest) => {
        const messages = (req.body?.messages ?? []) as Array<{ content: string }>;
        const question = messages.at(-1)?.content ?? '';
        if (question === 'stop me') {
          return stream([
            ...chatChunks(['Partial', ' answer'], { done: false, finishReason: null }),
            { wait: 'never' },
          ]);
        }
        const hold = /^hold (\w+)/.exec(question)?.[1];
        if (hold !== undefined) {
          return stream([
            ...chatChunks(['First words'], { done: false, finishReason: null }),
            { wait: hold },
            ...chatChunks([' and the rest.'], { promptFilter: false, usage: USAGE }),
          ]);
        }
        return stream(chatChunks([`Answer to ${question}.`], { usage: USAGE }));
      },
      // A context of three messages: more is Azure's 400 context_length_exceeded.
      tight: (req: RecordedRequest) => {
        const messages = (req.body?.messages ?? []) as Array<{ content: string }>;
        if (messages.length > 3) {
          return reply(400, azureError('context_length_exceeded', "This model's maximum context length is 30 tokens."));
        }
        return stream(chatChunks([`Answer to ${messages.at(-1)?.content}.`]));
      },
    },
  });
});
after(() => server.close());

/** A fresh user (own data and config directories) talking to the test server. */
function user(extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({
    AZURE_OPENAI_ENDPOINT: server.url,
    AZURE_OPENAI_API_KEY: KEY,
    AZURE_OPENAI_DEPLOYMENT: 'talk',
    ...extra,
  });
}

function dbPath(env: Record<string, string>): string {
  return env.SLUICE_LOG_DB ?? join(env.XDG_DATA_HOME as string, 'sluice', 'logs.db');
}

interface LoggedRow {
  log_id: number;
  conversation_id: string;
  kind: string;
  model: string | null;
  target: string;
  system: string | null;
  prompt: string;
  answer: string;
  end: string;
  end_detail: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  time_to_first_token_ms: number | null;
  duration_ms: number | null;
  request_id: string | null;
  started_at: string;
  finished_at: string;
}

async function logged(env: Record<string, string>, ...args: string[]): Promise<LoggedRow[]> {
  const done = await run(['logs', '--json', '-n', '0', ...args], { env });
  assert.equal(done.code, 0, done.stderr);
  return done.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LoggedRow);
}

async function ok(args: string[], env: Record<string, string>) {
  const done = await run(args, { env });
  assert.equal(done.code, 0, done.stderr);
  return done;
}

describe('every exchange is logged', { timeout: 60_000 }, () => {
  it('a one-shot completion: prompt, answer, model, target, usage, timings, request id; --json gains its log id', async () => {
    const env = user({ AZURE_OPENAI_DEPLOYMENT: 'instruct' });
    const done = await ok(['--json', 'Tell me'], env);
    const summary = JSON.parse(done.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
    const [row, ...more] = await logged(env);
    assert.equal(more.length, 0);
    assert.ok(row);
    assert.equal(summary.log_id, row.log_id);
    assert.equal(summary.conversation_id, row.conversation_id);
    assert.equal(summary.type, 'summary', 'the summary line keeps its shape');
    assert.equal(row.kind, 'completions');
    assert.equal(row.prompt, 'Tell me');
    assert.equal(row.answer, 'Once upon a time');
    assert.equal(row.end, 'completed');
    assert.equal(row.model, 'instruct');
    assert.equal(row.target, new URL(server.url).host);
    assert.deepEqual(row.usage, USAGE);
    assert.equal(typeof row.time_to_first_token_ms, 'number');
    assert.equal(typeof row.duration_ms, 'number');
    assert.equal(row.request_id, summary.request_id);
    assert.ok(Date.parse(row.started_at) <= Date.parse(row.finished_at));

    // The database: the user's alone, versioned schema, WAL, full-text index.
    assert.equal(statSync(dbPath(env)).mode & 0o777, 0o600);
    const db = new Database(dbPath(env), { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), 1);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(db.prepare("SELECT count(*) AS n FROM exchanges_fts WHERE exchanges_fts MATCH 'upon'").get(), {
        n: 1,
      });
    } finally {
      db.close();
    }
  });

  it('a piped answer stays raw bytes; a chat is logged with its system message', async () => {
    const env = user();
    const done = await ok(['chat', '--system', 'Be brief.', 'Hi'], env);
    assert.equal(done.stdout, 'Answer to Hi.');
    const [row] = await logged(env);
    assert.equal(row?.kind, 'chat');
    assert.equal(row?.system, 'Be brief.');
    assert.equal(row?.answer, 'Answer to Hi.');
  });

  it('Ctrl-C on a one-shot: exit 130, the partial answer logged as aborted', async () => {
    const env = user();
    const cli = start(['chat', 'stop me'], { env });
    await cli.waitFor('Partial answer');
    cli.child.kill('SIGINT');
    const done = await cli.done;
    assert.equal(done.code, 130, done.stderr);
    const [row] = await logged(env);
    assert.equal(row?.answer, 'Partial answer');
    assert.equal(row?.end, 'aborted');
    const text = await ok(['logs'], env);
    assert.match(text.stdout, /Answer \(partial: aborted\):\nPartial answer/);
  });

  it('never writes the key: not from the settings, not pasted into a prompt', async () => {
    const env = user();
    await ok(['chat', `my key is ${KEY}, keep it`], env);
    await ok(['--deployment', 'instruct', `again ${KEY}`], env);
    const rows = await logged(env);
    assert.equal(rows.length, 2);
    assert.equal(rows[0]?.prompt, 'my key is [redacted], keep it');
    const files = ['', '-wal', '-shm'].map((s) => `${dbPath(env)}${s}`).filter((f) => existsSync(f));
    assert.ok(files.length >= 1);
    for (const f of files) {
      assert.ok(!readFileSync(f).includes(KEY), `${f} holds no key`);
      assert.ok(!readFileSync(f).includes(Buffer.from(KEY, 'utf16le')), `${f} holds no key (UTF-16)`);
    }
  });

  it('--no-log skips one command; "sluice logs off" stops logging (config.json keeps its other keys); "on" resumes', async () => {
    const env = user();
    await ok(['chat', '--no-log', 'one'], env);
    assert.ok(!existsSync(dbPath(env)), 'nothing written, not even an empty database');
    const config = join(env.XDG_CONFIG_HOME as string, 'sluice', 'config.json');
    mkdirSync(join(config, '..'), { recursive: true });
    writeFileSync(config, '{"model": "gpt-4o"}\n');
    const off = await ok(['logs', 'off'], env);
    assert.match(off.stdout, /Logging is off/);
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { model: 'gpt-4o', log: false });
    await ok(['chat', 'two'], env);
    assert.ok(!existsSync(dbPath(env)));
    await ok(['logs', 'on'], env);
    await ok(['chat', 'three'], env);
    assert.deepEqual(
      (await logged(env)).map((r) => r.prompt),
      ['three'],
    );
    assert.equal((await ok(['logs', 'path'], env)).stdout, `${dbPath(env)}\n`);
  });
});

describe('sluice logs', { timeout: 60_000 }, () => {
  it('lists the newest (newest last), searches full text, -n, --cid, --json', async () => {
    const env = user();
    for (const q of ['alpha gate', 'beta river', 'gamma gate', 'delta sea']) await ok(['chat', q], env);
    const rows = await logged(env);
    assert.deepEqual(
      rows.map((r) => r.prompt),
      ['alpha gate', 'beta river', 'gamma gate', 'delta sea'],
    );

    const list = await ok(['logs'], env);
    const headers = [...list.stdout.matchAll(/^## log (\d+) · .* · conversation (\S+) · talk @ 127\.0\.0\.1:\d+$/gm)];
    assert.deepEqual(
      headers.map((h) => Number(h[1])),
      rows.slice(1).map((r) => r.log_id),
      'the 3 newest, the newest last',
    );
    assert.match(list.stdout, /Prompt: delta sea\n\nAnswer:\nAnswer to delta sea\./);

    assert.deepEqual(
      (await logged(env, '-q', 'gate')).map((r) => r.prompt),
      ['alpha gate', 'gamma gate'],
    );
    assert.deepEqual(
      (await logged(env, 'river')).map((r) => r.prompt),
      ['beta river'],
    );
    assert.deepEqual(
      (await logged(env, 'answer', 'gamma')).map((r) => r.prompt),
      ['gamma gate'],
      'every word, in the prompt or the answer',
    );
    // FTS syntax is searched for, never parsed: no error.
    const odd = await run(['logs', '-q', 'gate" OR -* NEAR('], { env });
    assert.equal(odd.code, 0, odd.stderr);
    assert.deepEqual(
      (await run(['logs', '--json', '-n', '1'], { env })).stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as LoggedRow).prompt),
      ['delta sea'],
    );
    const cid = rows[1]?.conversation_id as string;
    assert.deepEqual(
      (await logged(env, '--cid', cid)).map((r) => r.prompt),
      ['beta river'],
    );
  });

  it('exit 2 for a bad -n; nothing logged yet is not an error', async () => {
    const env = user();
    const empty = await run(['logs'], { env });
    assert.equal(empty.code, 0);
    assert.match(empty.stderr, /nothing logged yet/);
    const bad = await run(['logs', '-n', 'many'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /-n must be an integer/);
  });
});

describe('continuing a conversation', { timeout: 60_000 }, () => {
  it('-c sends the latest conversation as history (its system message too); --cid any other', async () => {
    const env = user();
    await ok(['chat', '--system', 'Be brief.', 'Hi'], env);
    // A completion is not a conversation: -c skips it.
    await ok(['--deployment', 'instruct', 'a completion in between'], env);
    let from = server.requests.length;
    const cont = await ok(['chat', '-c', 'And then?'], env);
    assert.equal(cont.stdout, 'Answer to And then?.');
    assert.deepEqual(server.requests[from]?.body?.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Answer to Hi.' },
      { role: 'user', content: 'And then?' },
    ]);
    const [first, second] = (await logged(env)).filter((r) => r.kind === 'chat');
    assert.equal(second?.conversation_id, first?.conversation_id, 'the same conversation');

    await ok(['chat', 'Elsewhere'], env);
    from = server.requests.length;
    await ok(['chat', '--cid', first?.conversation_id as string, '--system', 'Be long.', 'Last'], env);
    assert.deepEqual(server.requests[from]?.body?.messages, [
      { role: 'system', content: 'Be long.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Answer to Hi.' },
      { role: 'user', content: 'And then?' },
      { role: 'assistant', content: 'Answer to And then?.' },
      { role: 'user', content: 'Last' },
    ]);
  });

  it('a history that no longer fits the context loses its oldest turns, as the interactive chat does', async () => {
    const env = user({ AZURE_OPENAI_DEPLOYMENT: 'tight' });
    await ok(['chat', 'one'], env);
    await ok(['chat', '-c', 'two'], env);
    const from = server.requests.length;
    const done = await ok(['chat', '-c', 'three'], env);
    assert.equal(done.stdout, 'Answer to three.');
    assert.match(
      done.stderr,
      /^sluice: the conversation no longer fit the model's context: dropped the 2 oldest turns/,
    );
    assert.deepEqual(server.requests.at(-1)?.body?.messages, [
      { role: 'user', content: 'two' },
      { role: 'assistant', content: 'Answer to two.' },
      { role: 'user', content: 'three' },
    ]);
    assert.equal(server.requests.length - from, 2, 'asked once in full, once shortened');
    // The log keeps the whole conversation; only what is sent is shortened.
    assert.equal((await logged(env)).length, 3);
  });

  it('a partial answer is history as far as it arrived; an unknown --cid or nothing to continue is exit 2', async () => {
    const env = user();
    const none = await run(['chat', '-c', 'hello'], { env });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Nothing to continue/);
    const cli = start(['chat', 'stop me'], { env });
    await cli.waitFor('Partial answer');
    cli.child.kill('SIGINT');
    await cli.done;
    const from = server.requests.length;
    await ok(['chat', '--continue', 'go on'], env);
    assert.deepEqual(server.requests[from]?.body?.messages, [
      { role: 'user', content: 'stop me' },
      { role: 'assistant', content: 'Partial answer' },
      { role: 'user', content: 'go on' },
    ]);
    const unknown = await run(['chat', '--cid', 'nope', 'hello'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No conversation "nope" in the log/);
    assert.equal(server.requests.length, from + 1, 'no request for a conversation that is not there');
  });

  it('the interactive chat saves each turn as it ends (Ctrl-C: partial, aborted) and resumes with -c', async (t) => {
    const env = user({ TERM: 'xterm-256color' });
    const cli = startInTerminal(['chat'], { env });
    t.after(() => cli.child.kill('SIGKILL'));
    await cli.waitFor('/help for commands');
    cli.write('hello\r');
    await cli.waitFor('Answer to hello.');
    // Saved while the chat goes on, not at its end.
    await waitForRows(env, 1);
    cli.write('stop me\r');
    await cli.waitFor('Partial answer');
    cli.write('\u0003');
    await cli.waitFor('interrupted; what arrived was kept');
    const rows = await waitForRows(env, 2);
    assert.deepEqual(
      rows.map((r) => [r.prompt, r.answer, r.end]),
      [
        ['hello', 'Answer to hello.', 'completed'],
        ['stop me', 'Partial answer', 'aborted'],
      ],
    );
    cli.write('\u0004');
    assert.equal((await cli.done).code, 0);

    const from = server.requests.length;
    const again = startInTerminal(['chat', '-c'], { env });
    t.after(() => again.child.kill('SIGKILL'));
    await again.waitFor(/Continuing conversation \S+ \(4 turns\)/);
    again.write('more\r');
    await again.waitFor('Answer to more.');
    // /reset starts a new conversation in the log too.
    again.write('/reset\r');
    await again.waitFor('Conversation forgotten');
    again.write('fresh\r');
    await again.waitFor('Answer to fresh.');
    again.write('\u0004');
    assert.equal((await again.done).code, 0);
    assert.deepEqual(server.requests[from]?.body?.messages, [
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Answer to hello.' },
      { role: 'user', content: 'stop me' },
      { role: 'assistant', content: 'Partial answer' },
      { role: 'user', content: 'more' },
    ]);
    const all = await logged(env);
    assert.equal(new Set(all.slice(0, 3).map((r) => r.conversation_id)).size, 1, 'resumed: the same conversation');
    assert.notEqual(all[3]?.conversation_id, all[0]?.conversation_id, '/reset: a new one');
    assert.equal(all[3]?.prompt, 'fresh');
  });
});

describe('a log database that cannot be used never fails the answer', { timeout: 60_000 }, () => {
  it('locked by another connection: the answer streams, exit 0, one line says so', async () => {
    const env = user();
    await ok(['chat', 'first'], env);
    const other = new Database(dbPath(env));
    other.exec('BEGIN EXCLUSIVE');
    try {
      const done = await streamsDespiteTheLog(env, 'locked');
      assert.match(
        done.stderr,
        /^sluice: this exchange was not logged: the log database \S+logs\.db is locked by another program .*"sluice logs off".*\n$/,
      );
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal((await logged(env)).length, 1);
  });

  it('damaged (not a database): the answer streams; sluice logs and -c stop with the line, exit 10', async () => {
    const env = user({ SLUICE_LOG_DB: join(mkdtempSync(join(tmpdir(), 'sluice-log-')), 'logs.db') });
    writeFileSync(dbPath(env), 'this is not a database\n'.repeat(200));
    const done = await streamsDespiteTheLog(env, 'corrupt');
    assert.match(
      done.stderr,
      /^sluice: this exchange was not logged: the log database \S+ is damaged or not a SQLite database; move it away.*\n$/,
    );
    const logs = await run(['logs'], { env });
    assert.equal(logs.code, 10);
    assert.match(logs.stderr, /^sluice: cannot read the log: the log database \S+ is damaged/);
    const cont = await run(['chat', '-c', 'hi'], { env });
    assert.equal(cont.code, 10);
    assert.match(cont.stderr, /cannot continue the conversation: the log database \S+ is damaged/);
  });

  // Root may write any file: then the test runs the CLI as "nobody".
  const asOther = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  // "nobody" must be able to reach the checkout; a clone inside a folder only root may enter
  // (a `mktemp -d` one) cannot simulate a read-only log for root, so these cases say so.
  const readOnlySkip =
    asOther &&
    spawnSync(process.execPath, ['-e', 'require("node:fs").accessSync(process.argv[1], 4)', BIN], asOther).status !== 0
      ? 'running as root in a checkout other users cannot enter: a read-only log cannot be simulated here'
      : undefined;

  it('read-only file: the answer streams, exit 0, one line says so', { skip: readOnlySkip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
    const env = user({ SLUICE_LOG_DB: join(dir, 'logs.db') });
    await ok(['chat', 'first'], env);
    chmodSync(dir, 0o555);
    chmodSync(dbPath(env), 0o444);
    const done = await streamsDespiteTheLog(env, 'readonly', dir);
    assert.match(done.stderr, /^sluice: this exchange was not logged: the log database \S+ cannot be written .*\n$/);
  });

  it('read-only folder (no database yet): the answer streams, exit 0, one line says so', {
    skip: readOnlySkip,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
    chmodSync(dir, 0o555);
    const env = user({ SLUICE_LOG_DB: join(dir, 'logs.db') });
    const done = await streamsDespiteTheLog(env, 'rodir', dir);
    assert.match(done.stderr, /^sluice: this exchange was not logged: the log database \S+ cannot be written .*\n$/);
  });

  /** Runs a held answer: its first words arrive before the rest is sent, and all of it is printed. */
  async function streamsDespiteTheLog(env: Record<string, string>, gate: string, cwd?: string) {
    const cli = start(['chat', `hold ${gate}`], {
      env,
      ...(cwd !== undefined ? { cwd } : {}),
      ...(cwd !== undefined && asOther ? { user: asOther } : {}),
    });
    await cli.waitFor('First words');
    assert.equal(cli.stdout, 'First words');
    server.release(gate);
    const done = await cli.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'First words and the rest.');
    return done;
  }
});

/** The log's rows once there are `n` (the interactive chat writes them as it goes). */
async function waitForRows(env: Record<string, string>, n: number): Promise<LoggedRow[]> {
  for (let i = 0; i < 50; i++) {
    const rows = await logged(env);
    if (rows.length >= n) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the log never had ${n} rows`);
}
