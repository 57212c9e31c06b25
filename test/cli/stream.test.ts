/**
 * The real binary against an Azure-shaped test server: what reaches stdout, when, and what
 * reaches the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AzureServer,
  chatChunks,
  completionChunks,
  reply,
  type StreamItem,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, run, start, tempDir } from '../support/cli.js';

const KEY = 'test-key-9f8e7d6c5b4a';
const USAGE = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 };

let server: AzureServer;
let azureEnv: Record<string, string>;

before(async () => {
  assertBuilt();
  server = await startAzureServer({
    apiKey: KEY,
    scenarios: {
      instruct: stream(completionChunks(['Once', ' upon', ' a time'], { usage: USAGE })),
      gated: stream([
        ...completionChunks(['First', ' words'], { done: false, finishReason: null }),
        { wait: 'go' },
        ...completionChunks([' and the rest.\n**kept as is**'], { promptFilter: false }),
      ]),
      chat: stream(chatChunks(['Hello', ' there'], { usage: USAGE })),
      whole: reply(200, {
        id: 'cmpl-1',
        object: 'text_completion',
        created: 1,
        model: 'gpt-35-turbo-instruct',
        choices: [{ text: 'All at once.', index: 0, finish_reason: 'stop', logprobs: null }],
        usage: USAGE,
      }),
      two: stream(twoChoices()),
      headless: stream([
        ...completionChunks(['first'], { done: false, finishReason: null }),
        { wait: 'reader-gone' },
        ...completionChunks([' more'], { promptFilter: false, done: false, finishReason: null }),
        { wait: 'never' },
      ]),
      md: stream(completionChunks(['# Head\nA **b** c\n'])),
    },
  });
  azureEnv = cleanEnv({
    AZURE_OPENAI_ENDPOINT: server.url,
    AZURE_OPENAI_API_KEY: KEY,
    AZURE_OPENAI_DEPLOYMENT: 'instruct',
  });
});
after(() => server.close());

/** Requests the server received since `from`. */
function since(from: number) {
  return server.requests.slice(from);
}

describe('sluice complete (piped stdout)', { timeout: 60_000 }, () => {
  it('prints the text the moment it arrives: the first words before the server sends the rest', async () => {
    const from = server.requests.length;
    const cli = start(['--deployment', 'gated', 'Tell me'], { env: azureEnv });
    await cli.waitFor('First words');
    // The server is holding the rest of the stream behind the gate: nothing more, nothing decorated.
    assert.equal(cli.stdout, 'First words');
    assert.equal(since(from)[0]?.finished, false);
    server.release('go');
    const done = await cli.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'First words and the rest.\n**kept as is**', 'exact bytes, no newline added');
    assert.equal(done.stderr, '');
  });

  it('sends the tutorial request: deployment route, api-version, prompt, max_tokens, stream with usage', async () => {
    const from = server.requests.length;
    const done = await run(['Once upon a time'], { env: azureEnv });
    assert.equal(done.code, 0, done.stderr);
    const [req] = since(from);
    assert.equal(req?.path, '/openai/deployments/instruct/completions');
    assert.equal(req?.apiVersion, '2024-10-21');
    assert.equal(req?.headers['api-key'], KEY);
    assert.deepEqual(req?.body, {
      prompt: 'Once upon a time',
      max_tokens: 256,
      stream_options: { include_usage: true },
      stream: true,
    });
  });

  it("--profile instruct: the tutorial's .env in the working directory, --echo prints the prompt first", async () => {
    const cwd = tempDir({
      '.env': [
        `AZURE_OPENAI_API_KEY_FOR_INSTRUCT=${KEY}`,
        `AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT=${server.url}/`,
        'AZURE_OPENAI_DEPLOYMENT_NAME_FOR_INSTRUCT=instruct',
        '',
      ].join('\n'),
    });
    const from = server.requests.length;
    const done = await run(['--profile', 'instruct', '--echo', '--max-tokens', '20', 'Write a tagline.'], {
      cwd,
      env: cleanEnv(),
    });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'Write a tagline.Once upon a time');
    assert.equal(since(from)[0]?.body?.max_tokens, 20);
    assert.ok(!done.stdout.includes(KEY) && !done.stderr.includes(KEY));
  });

  it('request flags reach the wire', async () => {
    const from = server.requests.length;
    const done = await run(
      [
        '--temperature',
        '0.5',
        '--top-p',
        '0.9',
        '--stop',
        '\\n',
        '--stop',
        'END',
        '--seed',
        '7',
        '--max-tokens',
        '12',
        'x',
      ],
      { env: azureEnv },
    );
    assert.equal(done.code, 0, done.stderr);
    const body = since(from)[0]?.body ?? {};
    assert.deepEqual(
      { t: body.temperature, p: body.top_p, s: body.stop, seed: body.seed, m: body.max_tokens },
      { t: 0.5, p: 0.9, s: ['\n', 'END'], seed: 7, m: 12 },
    );
  });

  it('an old --api-version gets no stream_options (it would reject them)', async () => {
    const from = server.requests.length;
    const done = await run(['--api-version', '2024-02-01', 'x'], { env: azureEnv });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(since(from)[0]?.apiVersion, '2024-02-01');
    assert.equal(since(from)[0]?.body?.stream_options, undefined);
  });

  it('"-" and piped stdin supply or extend the prompt', async () => {
    let from = server.requests.length;
    let done = await run(['-'], { env: azureEnv, input: 'From stdin\n' });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(since(from)[0]?.body?.prompt, 'From stdin');
    from = server.requests.length;
    done = await run(['Summarize:'], { env: azureEnv, input: 'line one\nline two\n' });
    assert.equal(since(from)[0]?.body?.prompt, 'Summarize:\n\nline one\nline two');
  });

  it('--no-stream asks for the whole answer and prints it', async () => {
    const from = server.requests.length;
    const done = await run(['--no-stream', '--deployment', 'whole', 'x'], { env: azureEnv });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'All at once.');
    assert.equal(since(from)[0]?.body?.stream, false);
    assert.equal(since(from)[0]?.body?.stream_options, undefined);
  });

  it('-n 2: each choice labelled, whole and in order, though the chunks interleave', async () => {
    const done = await run(['-n', '2', '--deployment', 'two', 'x'], { env: azureEnv });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, '[choice 0]\nA1 A2 A3\n\n[choice 1]\nB1 B2\n');
  });
});

describe('pipes, help and version', { timeout: 60_000 }, () => {
  it('stops quietly, exit 0, when the reader goes away (sluice ... | head)', async () => {
    const from = server.requests.length;
    const cli = start(['--deployment', 'headless', 'x'], { env: azureEnv });
    await cli.waitFor('first');
    cli.child.stdout?.destroy(); // the reader leaves
    server.release('reader-gone');
    const done = await cli.done;
    assert.equal(done.code, 0);
    assert.equal(done.stderr, '', 'no EPIPE stack trace');
    await since(from)[0]?.disconnected; // and the request was cancelled
  });

  it('FORCE_COLOR styles piped output line by line, without cursor movement', async () => {
    const done = await run(['--deployment', 'md', 'x'], { env: { ...azureEnv, FORCE_COLOR: '1' } });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, '\u001b[1;4;35mHead\u001b[0m\nA \u001b[1mb\u001b[22m c\n');
  });

  it('--help, COMMAND --help and --version print and exit 0; no prompt at all is exit 2', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Exit codes:$/m);
    assert.match(help.stdout, /^ {2}130 +interrupted/m);
    const chatHelp = await run(['chat', '--help']);
    assert.equal(chatHelp.code, 0);
    assert.match(chatHelp.stdout, /--system TEXT/);
    const version = await run(['--version']);
    assert.match(version.stdout, /^sluice \d+\.\d+\.\d+\n$/);
    const none = await run([], { env: azureEnv });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^sluice: No prompt: pass it as an argument, pipe it on stdin, or use "-"/);
  });
});

describe('sluice chat (piped stdout)', { timeout: 60_000 }, () => {
  it('one answer; --system and piped stdin make the messages', async () => {
    const from = server.requests.length;
    const done = await run(['chat', '--deployment', 'chat', '--system', 'Be brief.', 'summarize this'], {
      env: azureEnv,
      input: 'NOTES\n',
    });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'Hello there');
    const req = since(from)[0];
    assert.equal(req?.path, '/openai/deployments/chat/chat/completions');
    assert.deepEqual(req?.body?.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'summarize this\n\nNOTES' },
    ]);
  });

  it('an OpenAI-compatible server: OPENAI_BASE_URL, --model, Bearer key', async () => {
    const from = server.requests.length;
    const done = await run(['chat', '--model', 'chat', 'hi'], {
      env: cleanEnv({ OPENAI_BASE_URL: `${server.url}/v1`, OPENAI_API_KEY: KEY }),
    });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'Hello there');
    const req = since(from)[0];
    assert.equal(req?.path, '/v1/chat/completions');
    assert.equal(req?.body?.model, 'chat');
    assert.equal(req?.headers.authorization, `Bearer ${KEY}`);
  });
});

describe('--json and --stats', { timeout: 60_000 }, () => {
  it('--json: every chunk as received, one per line, then the summary', async () => {
    const done = await run(['--json', 'x'], { env: azureEnv });
    assert.equal(done.code, 0, done.stderr);
    const lines = done.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const expected = completionChunks(['Once', ' upon', ' a time'], { usage: USAGE })
      .filter((i): i is { chunk: unknown } => 'chunk' in i)
      .map((i) => i.chunk);
    assert.deepEqual(lines.slice(0, -1), expected);
    const summary = lines.at(-1) as Record<string, unknown>;
    assert.equal(summary.type, 'summary');
    assert.deepEqual(summary.end, { state: 'completed' });
    assert.deepEqual(summary.usage, USAGE);
    assert.deepEqual(summary.finish_reasons, ['stop']);
    assert.match(String(summary.request_id), /^apim-\d+$/);
    const metrics = summary.metrics as Record<string, unknown>;
    assert.equal(metrics.chunks, expected.length);
    assert.equal(typeof metrics.timeToFirstTokenMs, 'number');
  });

  it('--stats: time to first token, tokens/s, gaps, usage, finish reason, request id on stderr', async () => {
    const done = await run(['--stats', 'x'], { env: azureEnv });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'Once upon a time', 'stats never mix into stdout');
    assert.match(done.stderr, /^time to first token +[\d.]+ ms$/m);
    assert.match(done.stderr, /^tokens\/s +([\d.]+|n\/a)$/m);
    assert.match(done.stderr, /^chunk gaps +p50 [\d.]+ ms, p95 [\d.]+ ms, max [\d.]+ ms$/m);
    assert.match(done.stderr, /^usage +7 prompt \+ 3 completion = 10 tokens$/m);
    assert.match(done.stderr, /^finish reason +stop$/m);
    assert.match(done.stderr, /^request id +apim-\d+$/m);
  });
});

/** Two choices whose chunks interleave, as Azure sends them with n = 2. */
function twoChoices(): StreamItem[] {
  const c = (index: number, text: string, finish: string | null = null) => ({
    chunk: {
      id: 'cmpl-n',
      object: 'text_completion',
      created: 1,
      model: 'm',
      choices: [{ index, text, finish_reason: finish, logprobs: null }],
    },
  });
  return [
    c(1, 'B1'),
    c(0, 'A1'),
    c(1, ' B2'),
    c(0, ' A2'),
    c(1, '', 'stop'),
    c(0, ' A3'),
    c(0, '', 'stop'),
    { done: true },
  ];
}
