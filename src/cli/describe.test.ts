import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AuthenticationError,
  BadRequestError,
  ConfigError,
  ConnectionError,
  ModelLoadError,
  NotFoundError,
  RateLimitError,
  StreamErrorFrame,
  TimeoutError,
} from '../errors.js';
import type { SettingNames } from './config.js';
import { describeEnd, describeError, scrub } from './describe.js';
import { UsageError } from './usage-error.js';

const names: SettingNames = {
  endpoint: 'AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT',
  apiKey: 'AZURE_OPENAI_API_KEY_FOR_INSTRUCT',
  deployment: 'AZURE_OPENAI_DEPLOYMENT_FOR_INSTRUCT',
  deploymentName: 'AZURE_OPENAI_DEPLOYMENT_NAME_FOR_INSTRUCT',
  baseURL: 'OPENAI_BASE_URL_FOR_INSTRUCT',
  openaiKey: 'OPENAI_API_KEY_FOR_INSTRUCT',
  openaiModel: 'OPENAI_MODEL_FOR_INSTRUCT',
};
const target = {
  kind: 'azure' as const,
  endpoint: 'https://x.openai.azure.com',
  route: 'deployments' as const,
  deployment: 'gpt-35-turbo-instruct',
};

describe('describeError', () => {
  it('auth: Azure code and message, request id, and the settings to check (profile names)', () => {
    const line = describeError(
      new AuthenticationError('Access denied', {
        status: 401,
        requestId: 'apim-7',
        body: { error: { code: '401', message: 'Access denied due to invalid subscription key' } },
      }),
      { names, target },
    );
    assert.equal(
      line,
      'sluice: authentication failed (HTTP 401: Access denied due to invalid subscription key; request id apim-7). Check AZURE_OPENAI_API_KEY_FOR_INSTRUCT and AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT (https://x.openai.azure.com, deployment gpt-35-turbo-instruct).',
    );
  });

  it('every line is one line, starts with "sluice: " and says what to do', () => {
    const cases = [
      new NotFoundError('nf', {
        status: 404,
        body: { error: { code: 'DeploymentNotFound', message: 'The API\ndeployment does not exist.' } },
      }),
      new RateLimitError('rl', {
        status: 429,
        rateLimit: { retryAfterMs: 2500 },
        body: { error: { code: '429', message: 'Retry later' } },
      }),
      new BadRequestError('br', {
        status: 400,
        body: { error: { code: 'unknown_parameter', message: 'bad', param: 'stream_options' } },
      }),
      new ConnectionError('connect ECONNREFUSED 127.0.0.1:9'),
      new TimeoutError('idle', 300),
      new StreamErrorFrame('frame', { error: { code: 'server_error', message: 'The model crashed' } }),
      new ModelLoadError('Cannot read model file /nope.gguf', '/nope.gguf'),
    ];
    const lines = cases.map((e) => describeError(e, { names, target, retries: 1 }));
    for (const l of lines) {
      assert.ok(l.startsWith('sluice: ') && !l.includes('\n'), l);
      assert.ok(!/\bat .*\(.*:\d+:\d+\)/.test(l), 'no stack frames');
    }
    assert.match(
      lines[0] ?? '',
      /DeploymentNotFound: The API deployment does not exist\)\..*AZURE_OPENAI_DEPLOYMENT_FOR_INSTRUCT or --deployment/,
    );
    assert.match(lines[1] ?? '', /after 1 retry\. Wait 3 s and try again, raise --retries/);
    assert.match(lines[2] ?? '', /Check --api-version \(stream_options needs/);
    assert.match(
      lines[3] ?? '',
      /could not reach the service .*ECONNREFUSED.*Check AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT/,
    );
    assert.match(lines[4] ?? '', /no chunk arrived for 0.3 s \(--idle-timeout\)/);
    assert.match(lines[5] ?? '', /mid-stream \(server_error: The model crashed\)/);
    assert.match(lines[6] ?? '', /\/nope\.gguf.*SLUICE_MODEL/);
  });

  it('a chat-only deployment asked for Completions points at `sluice chat`', () => {
    const line = describeError(
      new BadRequestError('x', {
        status: 400,
        body: {
          error: {
            code: 'OperationNotSupported',
            message: 'The completion operation does not work with the specified model',
          },
        },
      }),
      { kind: 'completions' },
    );
    assert.match(line, /does not support legacy Completions.*sluice chat/);
  });

  it('never prints a key: configured secrets and key-looking values are scrubbed', () => {
    const line = describeError(
      new ConnectionError('failed https://x/?api-key=abcdef123456 with key sk-live-SECRET99'),
      {
        secrets: ['sk-live-SECRET99'],
      },
    );
    assert.ok(!line.includes('abcdef123456') && !line.includes('sk-live-SECRET99'), line);
    assert.equal(scrub('Bearer abcdefghijk12345'), 'Bearer [redacted]');
  });

  it('wording: no doubled punctuation, the wait said once, CLI settings instead of library options', () => {
    const ctx = { names, target, retries: 2 };
    const lines = [
      describeError(new UsageError('Unknown option --x; did you mean --max-tokens?', { command: 'chat' }), ctx),
      describeError(new ConfigError('No key set.'), ctx),
      describeError(new ConnectionError('connect ECONNREFUSED 127.0.0.1:9.'), ctx),
      describeError(new TypeError('x is not a function.'), ctx),
      describeError(
        new ModelLoadError(
          'Could not load the local model at /m.gguf (SLUICE_MODEL): no such file. Point SLUICE_MODEL or --model (createLocalBackend({ modelPath })) at a GGUF file.',
          '/m.gguf',
        ),
        ctx,
      ),
    ];
    for (const l of lines) assert.ok(!/[.?!]\.|\.[;)]/.test(l.replace(/\.\.\./g, '')), `doubled punctuation: ${l}`);
    assert.match(lines[0] ?? '', /did you mean --max-tokens\? Run "sluice chat --help" for usage\.$/);
    assert.ok(!(lines[4] ?? '').includes('createLocalBackend'), lines[4]);
    assert.match(lines[4] ?? '', /no such file\. Set --model PATH or SLUICE_MODEL/);

    const limited = describeError(
      new RateLimitError('rl', {
        status: 429,
        rateLimit: { retryAfterMs: 4000 },
        body: {
          error: {
            code: '429',
            message:
              'Requests to the ChatCompletions_Create Operation have exceeded the rate limit. Please retry after 4 seconds.',
          },
        },
      }),
      ctx,
    );
    assert.equal(limited.match(/retry after|wait \d/gi)?.length, 1, limited);
    assert.match(limited, /exceeded the rate limit\) after 2 retries\. Wait 4 s and try again/);
  });

  it('a message too long for the context says so, not "check the request flags"', () => {
    const line = describeError(
      new BadRequestError('x', {
        status: 400,
        body: {
          error: { code: 'context_length_exceeded', message: "This model's maximum context length is 512 tokens." },
        },
      }),
      { kind: 'chat' },
    );
    assert.match(
      line,
      /the message does not fit the model's context .*Shorten it, or ask for fewer tokens with --max-tokens\.$/,
    );
  });

  it('a setting the client refuses is named as the CLI knows it, not by its library option', () => {
    const line = describeError(new ConfigError('`endpoint` must not have a query or fragment.', 'endpoint'), {
      names,
      target,
      used: { endpoint: { name: 'AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT', from: '.env' } },
    });
    assert.equal(line, 'sluice: AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT must not have a query or fragment.');
  });

  it('advice names the settings the user used, not others', () => {
    const auth = new AuthenticationError('denied', { status: 401 });
    const openai = { kind: 'openai' as const, baseURL: 'https://api.openai.com/v1', model: 'gpt-4o' };
    const viaOpenAI = describeError(auth, {
      names,
      target: openai,
      used: { key: { name: 'OPENAI_API_KEY', from: 'environment' } },
    });
    assert.ok(!viaOpenAI.includes('AZURE_OPENAI'), viaOpenAI);
    assert.match(viaOpenAI, /Check OPENAI_API_KEY and the endpoint \(https:\/\/api\.openai\.com\/v1\)/);
    const viaFlags = describeError(new NotFoundError('nf', { status: 404 }), {
      names,
      target,
      used: {
        endpoint: { name: '--endpoint', from: 'flag' },
        deployment: { name: 'AZURE_OPENAI_DEPLOYMENT_NAME', from: '.env' },
      },
    });
    assert.match(viaFlags, /Check the deployment name \(AZURE_OPENAI_DEPLOYMENT_NAME\) and --endpoint/);
  });

  it('anything unexpected says so without a stack', () => {
    const line = describeError(new TypeError('x is not a function'));
    assert.match(line, /^sluice: unexpected error: x is not a function\. Please report it/);
  });
});

describe('describeEnd', () => {
  it('explains every unhappy end state; none for completed', () => {
    assert.equal(describeEnd({ state: 'completed' }), undefined);
    assert.match(describeEnd({ state: 'truncated', reason: 'no-done', unfinished: [0] }) ?? '', /before \[DONE\]/);
    assert.match(
      describeEnd({ state: 'filtered', where: 'completion', categories: ['violence'], choices: [0] }) ?? '',
      /stopped by the content filter: violence/,
    );
    assert.match(describeEnd({ state: 'aborted' }) ?? '', /interrupted/);
  });
});
