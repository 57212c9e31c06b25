/**
 * Every exit code, from the real binary: the status, one clear line on stderr, what arrived
 * kept on stdout, and never the key.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type AzureServer,
  azureError,
  completionChunks,
  reply,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, type Finished, run, start } from '../support/cli.js';

const KEY = 'exit-key-1a2b3c4d5e6f';
let server: AzureServer;

before(async () => {
  assertBuilt();
  server = await startAzureServer({
    apiKey: KEY,
    scenarios: {
      ok: stream(completionChunks(['fine'])),
      chatonly: reply(
        400,
        azureError('OperationNotSupported', 'The completion operation does not work with the specified model, gpt-4o.'),
      ),
      limited: reply(429, azureError('429', 'Requests to the Completions Operation have exceeded the rate limit.'), {
        'retry-after-ms': '10',
        'retry-after': '1',
      }),
      blocked: reply(400, {
        error: {
          code: 'content_filter',
          param: 'prompt',
          message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
          innererror: {
            code: 'ResponsibleAIPolicyViolation',
            content_filter_result: { violence: { filtered: true, severity: 'high' } },
          },
        },
      }),
      cutoff: stream(completionChunks(['Half', ' an answer'], { finishReason: 'content_filter' })),
      // The same, asked with --no-stream: one whole response whose choice was filtered.
      wholecut: reply(200, {
        id: 'cmpl-2',
        object: 'text_completion',
        created: 1,
        model: 'gpt-35-turbo-instruct',
        choices: [
          {
            text: 'Half an answer',
            index: 0,
            finish_reason: 'content_filter',
            logprobs: null,
            content_filter_results: { violence: { filtered: true, severity: 'high' } },
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
      }),
      // The delay lets the written chunks leave before the cut (the test server's `cut` destroys
      // the socket at once, dropping whatever Node has not flushed yet).
      cut: stream([
        ...completionChunks(['Partial', ' text'], { done: false, finishReason: null }),
        { delay: 50 },
        { cut: true },
      ]),
      frame: stream([
        ...completionChunks(['Before the error'], { done: false, finishReason: null }),
        { error: azureError('server_error', 'The server had an error while processing your request.') },
      ]),
      stalled: stream([
        ...completionChunks(['Then', ' silence'], { done: false, finishReason: null }),
        { stall: true },
      ]),
      broken: reply(500, azureError('InternalServerError', 'Backend returned unexpected response.')),
    },
  });
});
after(() => server.close());

function env(deployment: string, key = KEY): Record<string, string> {
  return cleanEnv({
    AZURE_OPENAI_ENDPOINT: server.url,
    AZURE_OPENAI_API_KEY: key,
    AZURE_OPENAI_DEPLOYMENT: deployment,
  });
}

/** One line on stderr, no stack trace, no key. */
function oneLine(done: Finished, pattern: RegExp): void {
  const lines = done.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${done.stderr}`);
  assert.match(lines[0] ?? '', /^sluice: /);
  assert.match(lines[0] ?? '', pattern);
  assert.ok(!/\n\s+at /.test(done.stderr), 'no stack trace');
  assert.ok(!done.stderr.includes(KEY) && !done.stdout.includes(KEY), 'the key is never printed');
  assert.ok(!done.stderr.includes('wrong-key-0000'), 'not even a wrong key');
}

describe('exit codes of the real binary', { timeout: 60_000 }, () => {
  it('0: a complete answer', async () => {
    const done = await run(['x'], { env: env('ok') });
    assert.equal(done.code, 0);
    assert.equal(done.stderr, '');
  });

  it('2: a bad flag names the flag and the allowed values', async () => {
    const done = await run(['--temperature', 'hot', 'x'], { env: env('ok') });
    assert.equal(done.code, 2);
    oneLine(done, /--temperature must be a number from 0 to 2, got "hot"\. Run "sluice --help"/);
  });

  it('2: an unknown flag, pointing at the command help', async () => {
    const done = await run(['chat', '--sytem', 'x', 'hi'], { env: env('ok') });
    assert.equal(done.code, 2);
    oneLine(done, /Unknown option --sytem; did you mean --system\? Run "sluice chat --help"/);
  });

  it('2: a missing setting is named', async () => {
    const done = await run(['x'], {
      env: cleanEnv({ AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', AZURE_OPENAI_API_KEY: KEY }),
    });
    assert.equal(done.code, 2);
    oneLine(done, /No deployment for https:\/\/x\.openai\.azure\.com: set AZURE_OPENAI_DEPLOYMENT/);
  });

  it('2: an unknown deployment (404 DeploymentNotFound)', async () => {
    const done = await run(['x'], { env: env('nope') });
    assert.equal(done.code, 2);
    oneLine(done, /not found \(HTTP 404 DeploymentNotFound: .*; request id apim-\d+\)\. Check the deployment name/);
  });

  it('2: a chat-only deployment asked for Completions points at `sluice chat`', async () => {
    const done = await run(['x'], { env: env('chatonly') });
    assert.equal(done.code, 2);
    oneLine(done, /does not support legacy Completions .*OperationNotSupported.*Use "sluice chat"/);
  });

  it('3: a wrong key', async () => {
    const done = await run(['x'], { env: env('ok', 'wrong-key-0000') });
    assert.equal(done.code, 3);
    oneLine(
      done,
      /authentication failed \(HTTP 401: Access denied.*request id apim-\d+\)\. Check AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT/,
    );
  });

  it('4: rate limited after the retries (which did happen)', async () => {
    const from = server.requests.length;
    const done = await run(['--retries', '1', 'x'], { env: env('limited') });
    assert.equal(done.code, 4);
    assert.equal(server.requests.length - from, 2, 'one try and one retry');
    oneLine(done, /rate limited \(HTTP 429: Requests .*\) after 1 retry\. Wait 1 s and try again, raise --retries/);
  });

  it('5: the prompt was blocked by the content filter', async () => {
    const done = await run(['x'], { env: env('blocked') });
    assert.equal(done.code, 5);
    oneLine(done, /prompt was blocked by the content filter: violence/);
  });

  it('5: the answer was stopped by the content filter; what arrived stays', async () => {
    const done = await run(['x'], { env: env('cutoff') });
    assert.equal(done.code, 5);
    assert.equal(done.stdout, 'Half an answer');
    oneLine(done, /answer was stopped by the content filter: violence/);
  });

  it("5: --no-stream reads the end state by the protocol's rule: the categories that fired are named", async () => {
    const done = await run(['--no-stream', 'x'], { env: env('wholecut') });
    assert.equal(done.code, 5);
    assert.equal(done.stdout, 'Half an answer');
    oneLine(done, /answer was stopped by the content filter: violence/);
  });

  it('6: a stream cut mid-way keeps the partial text', async () => {
    const done = await run(['--retries', '0', 'x'], { env: env('cut') });
    assert.equal(done.code, 6);
    assert.equal(done.stdout, 'Partial text');
    oneLine(done, /incomplete/);
  });

  it('6: an error frame mid-stream keeps the partial text', async () => {
    const done = await run(['x'], { env: env('frame') });
    assert.equal(done.code, 6);
    assert.equal(done.stdout, 'Before the error');
    oneLine(done, /error mid-stream \(server_error: The server had an error/);
  });

  it('7: the service cannot be reached', async () => {
    const port = await closedPort();
    const done = await run(['--retries', '0', 'x'], {
      env: cleanEnv({
        AZURE_OPENAI_ENDPOINT: `http://127.0.0.1:${port}`,
        AZURE_OPENAI_API_KEY: KEY,
        AZURE_OPENAI_DEPLOYMENT: 'ok',
      }),
    });
    assert.equal(done.code, 7);
    oneLine(
      done,
      /could not reach the service \(http:\/\/127\.0\.0\.1:\d+, deployment ok\).*Check AZURE_OPENAI_ENDPOINT/,
    );
  });

  it('8: --idle-timeout ends a stalled stream, keeping what arrived', async () => {
    const cli = start(['--idle-timeout', '0.3', 'x'], { env: env('stalled') });
    const done = await cli.done;
    assert.equal(done.code, 8);
    assert.equal(done.stdout, 'Then silence');
    oneLine(done, /no chunk arrived for 0\.3 s \(--idle-timeout\)/);
  });

  it('9: the service fails (5xx) after the retries', async () => {
    const done = await run(['--retries', '0', 'x'], { env: env('broken') });
    assert.equal(done.code, 9);
    oneLine(
      done,
      /the service failed \(HTTP 500 InternalServerError: Backend returned unexpected response; request id apim-\d+\)/,
    );
  });

  it('--json still reports the end state and exits with the same code', async () => {
    const done = await run(['--json', '--retries', '0', 'x'], { env: env('cut') });
    assert.equal(done.code, 6);
    const summary = JSON.parse(done.stdout.trimEnd().split('\n').at(-1) ?? '{}') as {
      type: string;
      end: { state: string; error?: { code: string } };
    };
    assert.equal(summary.type, 'summary');
    assert.ok(
      summary.end.state === 'truncated' || summary.end.error?.code === 'SLUICE_STREAM_TRUNCATED',
      JSON.stringify(summary.end),
    );
  });
});

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
