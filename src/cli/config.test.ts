import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigInput, profileSuffix, resolveConfig, sourceNotice } from './config.js';
import { UsageError } from './usage-error.js';

const TUTORIAL_DOTENV = {
  AZURE_OPENAI_API_KEY_FOR_INSTRUCT: 'tutorial-secret-key-123',
  AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT: 'https://my-resource.openai.azure.com/',
  AZURE_OPENAI_DEPLOYMENT_NAME_FOR_INSTRUCT: 'gpt-35-turbo-instruct',
};

function input(partial: Partial<ConfigInput>): ConfigInput {
  return { flags: {}, env: {}, dotenv: {}, cwd: '/work/dir', fileExists: () => false, ...partial };
}

/** The message of the UsageError that resolving `partial` throws. */
function fail(partial: Partial<ConfigInput>): string {
  try {
    resolveConfig(input(partial));
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  return assert.fail('expected a UsageError');
}

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UsageError && pattern.test(e.message));
}

describe('resolveConfig', () => {
  it('nothing configured: the local model, implicitly', () => {
    const c = resolveConfig(input({}));
    assert.deepEqual(c.target, { kind: 'local', modelPath: undefined, threads: undefined, implicit: true });
  });

  it("--profile instruct reads the tutorial's .env names", () => {
    const c = resolveConfig(input({ flags: { profile: 'instruct' }, dotenv: TUTORIAL_DOTENV }));
    assert.deepEqual(c.target, {
      kind: 'azure',
      endpoint: 'https://my-resource.openai.azure.com',
      route: 'deployments',
      apiKey: 'tutorial-secret-key-123',
      deployment: 'gpt-35-turbo-instruct',
      apiVersion: undefined,
    });
    assert.equal(c.names.apiKey, 'AZURE_OPENAI_API_KEY_FOR_INSTRUCT');
    assert.ok(c.secrets.includes('tutorial-secret-key-123'));
  });

  it('without the profile, suffixed names are not used', () => {
    const c = resolveConfig(input({ dotenv: TUTORIAL_DOTENV }));
    assert.equal(c.target.kind, 'local');
  });

  it('a profile never borrows the endpoint or key of the plain names', () => {
    usageError(
      () =>
        resolveConfig(
          input({
            flags: { profile: 'other' },
            env: { AZURE_OPENAI_ENDPOINT: 'https://a.openai.azure.com', AZURE_OPENAI_API_KEY: 'plain-key-123' },
          }),
        ),
      /Profile "other" has no settings: set AZURE_OPENAI_ENDPOINT_FOR_OTHER/,
    );
  });

  it('the real environment wins over .env', () => {
    const c = resolveConfig(
      input({
        env: { AZURE_OPENAI_ENDPOINT: 'https://env.openai.azure.com', AZURE_OPENAI_DEPLOYMENT: 'from-env' },
        dotenv: {
          AZURE_OPENAI_ENDPOINT: 'https://dotenv.openai.azure.com',
          AZURE_OPENAI_API_KEY: 'k-from-dotenv',
          AZURE_OPENAI_DEPLOYMENT: 'from-dotenv',
        },
      }),
    );
    assert.equal(c.target.kind, 'azure');
    if (c.target.kind !== 'azure') return;
    assert.equal(c.target.endpoint, 'https://env.openai.azure.com');
    assert.equal(c.target.deployment, 'from-env');
    assert.equal(c.target.apiKey, 'k-from-dotenv');
  });

  it('flags win over the environment', () => {
    const c = resolveConfig(
      input({
        flags: { endpoint: 'https://flag.openai.azure.com', deployment: 'flag-dep', 'api-version': '2024-02-01' },
        env: {
          AZURE_OPENAI_ENDPOINT: 'https://env.openai.azure.com',
          AZURE_OPENAI_API_KEY: 'key-123456',
          AZURE_OPENAI_DEPLOYMENT: 'env-dep',
          OPENAI_API_VERSION: '2024-10-21',
        },
      }),
    );
    assert.equal(c.target.kind === 'azure' && c.target.endpoint, 'https://flag.openai.azure.com');
    assert.equal(c.target.kind === 'azure' && c.target.deployment, 'flag-dep');
    assert.equal(c.target.kind === 'azure' && c.target.apiVersion, '2024-02-01');
  });

  it('AZURE_OPENAI_DEPLOYMENT_NAME works as well as AZURE_OPENAI_DEPLOYMENT', () => {
    const c = resolveConfig(
      input({
        env: {
          AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
          AZURE_OPENAI_API_KEY: 'key-123456',
          AZURE_OPENAI_DEPLOYMENT_NAME: 'named',
        },
      }),
    );
    assert.equal(c.target.kind === 'azure' && c.target.deployment, 'named');
  });

  it('an endpoint ending in /openai/v1 selects the v1 route', () => {
    const c = resolveConfig(
      input({
        env: {
          AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com/openai/v1/',
          AZURE_OPENAI_API_KEY: 'key-123456',
          AZURE_OPENAI_DEPLOYMENT: 'gpt-4o',
        },
      }),
    );
    assert.equal(c.target.kind === 'azure' && c.target.route, 'v1');
    assert.equal(c.target.kind === 'azure' && c.target.endpoint, 'https://x.openai.azure.com');
  });

  it('names the missing setting: no deployment, no key', () => {
    usageError(
      () =>
        resolveConfig(
          input({ env: { AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', AZURE_OPENAI_API_KEY: 'k123456' } }),
        ),
      /set AZURE_OPENAI_DEPLOYMENT .*--deployment NAME/,
    );
    usageError(
      () =>
        resolveConfig(
          input({ env: { AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', AZURE_OPENAI_DEPLOYMENT: 'd' } }),
        ),
      /No key for https:\/\/x.openai.azure.com: set AZURE_OPENAI_API_KEY/,
    );
    usageError(
      () => resolveConfig(input({ env: { AZURE_OPENAI_API_KEY: 'k123456' } })),
      /AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not/,
    );
  });

  it('a loopback endpoint needs no key (sluice serve without --api-key)', () => {
    const c = resolveConfig(
      input({ env: { AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:8080', AZURE_OPENAI_DEPLOYMENT: 'any' } }),
    );
    assert.equal(c.target.kind, 'azure');
  });

  it('rejects a bad endpoint URL, naming the setting', () => {
    usageError(
      () => resolveConfig(input({ env: { AZURE_OPENAI_ENDPOINT: 'my-resource', AZURE_OPENAI_DEPLOYMENT: 'd' } })),
      /AZURE_OPENAI_ENDPOINT must be a URL/,
    );
    usageError(
      () => resolveConfig(input({ flags: { endpoint: 'ftp://x', deployment: 'd' } })),
      /--endpoint must be an http\(s\) URL/,
    );
  });

  it('OpenAI-compatible: base URL and model; Azure wins when both are set', () => {
    const c = resolveConfig(input({ env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1/' }, flags: { model: 'llama' } }));
    assert.deepEqual(c.target, { kind: 'openai', baseURL: 'http://127.0.0.1:9/v1', apiKey: undefined, model: 'llama' });
    usageError(() => resolveConfig(input({ env: { OPENAI_API_KEY: 'sk-123456' } })), /pass --model NAME/);
    const both = resolveConfig(
      input({
        env: {
          OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
          AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
          AZURE_OPENAI_API_KEY: 'key-123456',
          AZURE_OPENAI_DEPLOYMENT: 'd',
        },
      }),
    );
    assert.equal(both.target.kind, 'azure');
  });

  it('--model: a .gguf or an existing file is a local model; another value is a deployment', () => {
    const gguf = resolveConfig(input({ flags: { model: 'models/tiny.gguf' } }));
    assert.deepEqual(gguf.target, {
      kind: 'local',
      modelPath: '/work/dir/models/tiny.gguf',
      threads: undefined,
      implicit: false,
    });
    const file = resolveConfig(
      input({ flags: { model: './weights.bin' }, fileExists: (p) => p === '/work/dir/weights.bin' }),
    );
    assert.equal(file.target.kind === 'local' && file.target.modelPath, '/work/dir/weights.bin');
    const dep = resolveConfig(
      input({
        flags: { model: 'gpt-4o' },
        env: { AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', AZURE_OPENAI_API_KEY: 'key-123456' },
      }),
    );
    assert.equal(dep.target.kind === 'azure' && dep.target.deployment, 'gpt-4o');
    usageError(() => resolveConfig(input({ flags: { model: 'gpt-4o' } })), /--model "gpt-4o" needs an endpoint/);
  });

  it('a GGUF --model or --local wins over an Azure environment', () => {
    const env = {
      AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
      AZURE_OPENAI_API_KEY: 'key-123456',
      AZURE_OPENAI_DEPLOYMENT: 'd',
    };
    assert.equal(resolveConfig(input({ env, flags: { local: true } })).target.kind, 'local');
    assert.equal(resolveConfig(input({ env, flags: { model: '/m/x.gguf' } })).target.kind, 'local');
  });

  it('SLUICE_MODEL and --threads / SLUICE_THREADS for the local model', () => {
    const c = resolveConfig(input({ env: { SLUICE_MODEL: 'm.gguf', SLUICE_THREADS: '2' } }));
    assert.deepEqual(c.target, { kind: 'local', modelPath: '/work/dir/m.gguf', threads: 2, implicit: true });
    usageError(
      () => resolveConfig(input({ flags: { threads: 'many' } })),
      /--threads must be an integer from 1 to 256/,
    );
    usageError(() => resolveConfig(input({ env: { SLUICE_THREADS: '0' } })), /SLUICE_THREADS must be an integer/);
  });

  it('profile errors name variables that exist (AZURE_OPENAI_DEPLOYMENT_NAME_FOR_X, not ..._FOR_X_NAME)', () => {
    const none = fail({ flags: { profile: 'nope' } });
    assert.match(
      none,
      /AZURE_OPENAI_ENDPOINT_FOR_NOPE, AZURE_OPENAI_API_KEY_FOR_NOPE and AZURE_OPENAI_DEPLOYMENT_NAME_FOR_NOPE/,
    );
    const noDeployment = fail({
      flags: { profile: 'nope' },
      env: { AZURE_OPENAI_ENDPOINT_FOR_NOPE: 'https://x.openai.azure.com', AZURE_OPENAI_API_KEY_FOR_NOPE: 'k123456' },
    });
    assert.match(noDeployment, /set AZURE_OPENAI_DEPLOYMENT_FOR_NOPE \(or AZURE_OPENAI_DEPLOYMENT_NAME_FOR_NOPE\)/);
    for (const m of [none, noDeployment]) assert.ok(!/_FOR_NOPE_NAME/.test(m), m);
  });

  it('never echoes a value that may be a key (endpoint and key swapped, a key as the base URL)', () => {
    const key = 'sk-proj-abcDEF1234567890abcdef';
    const swapped = fail({
      env: {
        AZURE_OPENAI_ENDPOINT: key,
        AZURE_OPENAI_API_KEY: 'https://x.openai.azure.com',
        AZURE_OPENAI_DEPLOYMENT: 'd',
      },
    });
    const asBase = fail({ env: { OPENAI_BASE_URL: key }, flags: { model: 'm' } });
    for (const m of [swapped, asBase]) {
      assert.ok(!m.includes(key) && !m.includes('abcDEF'), m);
      assert.match(m, /must be a URL .*got "sk-…" \(30 characters, not shown/);
    }
    usageError(
      () => resolveConfig(input({ env: { AZURE_OPENAI_ENDPOINT: 'my-resource', AZURE_OPENAI_DEPLOYMENT: 'd' } })),
      /got "my-resource"/,
    );
    const secrets = resolveConfig(
      input({
        env: {
          AZURE_OPENAI_ENDPOINT: key,
          AZURE_OPENAI_DEPLOYMENT: 'gpt-35-turbo-instruct-0914',
          OPENAI_BASE_URL: 'https://x/v1',
        },
        flags: { local: true },
      }),
    ).secrets;
    assert.ok(secrets.includes(key), 'a key in the endpoint is scrubbed from every message');
    assert.ok(!secrets.includes('gpt-35-turbo-instruct-0914'), 'a long deployment name stays printable');
  });

  it('records where the endpoint, key and deployment came from; a .env on one side only is noted', () => {
    const endpointInDotenv = resolveConfig(
      input({
        env: { AZURE_OPENAI_API_KEY: 'shell-key-123456', AZURE_OPENAI_DEPLOYMENT: 'd' },
        dotenv: { AZURE_OPENAI_ENDPOINT: 'https://evil.example.com' },
      }),
    );
    assert.deepEqual(endpointInDotenv.used, {
      endpoint: { name: 'AZURE_OPENAI_ENDPOINT', from: '.env' },
      key: { name: 'AZURE_OPENAI_API_KEY', from: 'environment' },
      deployment: { name: 'AZURE_OPENAI_DEPLOYMENT', from: 'environment' },
    });
    const note = sourceNotice(endpointInDotenv) ?? '';
    assert.match(
      note,
      /endpoint \(AZURE_OPENAI_ENDPOINT\) comes from \.env but the key \(AZURE_OPENAI_API_KEY\) from the environment; the key is sent to https:\/\/evil\.example\.com/,
    );
    assert.ok(!note.includes('shell-key-123456'));
    const sameSource = resolveConfig(
      input({
        env: {
          AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
          AZURE_OPENAI_API_KEY: 'k123456',
          AZURE_OPENAI_DEPLOYMENT: 'd',
        },
      }),
    );
    assert.equal(sourceNotice(sameSource), undefined);
    const flagAndShell = resolveConfig(
      input({
        flags: { endpoint: 'https://x.openai.azure.com', deployment: 'd' },
        env: { AZURE_OPENAI_API_KEY: 'k123456' },
      }),
    );
    assert.equal(sourceNotice(flagAndShell), undefined, 'typed endpoint, exported key: both chosen in the shell');
    const openai = resolveConfig(
      input({
        dotenv: { OPENAI_BASE_URL: 'https://other.example/v1' },
        env: { OPENAI_API_KEY: 'sk-123456' },
        flags: { model: 'm' },
      }),
    );
    assert.match(
      sourceNotice(openai) ?? '',
      /OPENAI_BASE_URL\) comes from \.env but the key \(OPENAI_API_KEY\) from the environment/,
    );
  });

  it('validates --profile and builds its suffix', () => {
    assert.equal(profileSuffix('instruct'), '_FOR_INSTRUCT');
    assert.equal(profileSuffix('my-chat'), '_FOR_MY_CHAT');
    usageError(() => resolveConfig(input({ flags: { profile: 'a b' } })), /--profile must be a name/);
  });
});

describe('the user files in the resolution', () => {
  const endpoint = 'https://my-resource.openai.azure.com';
  it('a stored key is used only when neither the environment nor .env sets the name, and is scrubbed', () => {
    const stored = { AZURE_OPENAI_API_KEY: 'stored-secret-key-0001' };
    const base = { env: { AZURE_OPENAI_ENDPOINT: endpoint, AZURE_OPENAI_DEPLOYMENT: 'd' }, storedKeys: stored };
    const fromStore = resolveConfig(input(base));
    assert.equal(fromStore.target.kind === 'azure' && fromStore.target.apiKey, 'stored-secret-key-0001');
    assert.deepEqual(fromStore.used.key, { name: 'AZURE_OPENAI_API_KEY', from: 'user keys' });
    assert.ok(fromStore.secrets.includes('stored-secret-key-0001'));
    const fromDotenv = resolveConfig(input({ ...base, dotenv: { AZURE_OPENAI_API_KEY: 'dotenv-key-000000001' } }));
    assert.deepEqual(fromDotenv.used.key, { name: 'AZURE_OPENAI_API_KEY', from: '.env' });
  });

  it("the settings file's model and profile come last; an alias stands for its model", () => {
    const user = { model: 'fast', aliases: { fast: 'gpt-4o-mini' } };
    const env = { AZURE_OPENAI_ENDPOINT: endpoint, AZURE_OPENAI_API_KEY: 'k-000000000001' };
    const fromFile = resolveConfig(input({ env, user }));
    assert.equal(fromFile.target.kind === 'azure' && fromFile.target.deployment, 'gpt-4o-mini');
    assert.deepEqual(fromFile.used.deployment, { name: 'model', from: 'user file' });
    assert.equal(fromFile.used.alias, 'fast');
    const fromEnv = resolveConfig(input({ env: { ...env, AZURE_OPENAI_DEPLOYMENT: 'env-one' }, user }));
    assert.equal(fromEnv.target.kind === 'azure' && fromEnv.target.deployment, 'env-one');
    const fromFlag = resolveConfig(input({ env, user, flags: { model: 'fast' } }));
    assert.deepEqual(fromFlag.used.deployment, { name: '--model', from: 'flag' });
    const profiled = resolveConfig(input({ dotenv: TUTORIAL_DOTENV, user: { profile: 'instruct', aliases: {} } }));
    assert.deepEqual(profiled.used.profile, { name: 'profile', from: 'user file' });
    assert.equal(profiled.target.kind, 'azure');
  });
});
