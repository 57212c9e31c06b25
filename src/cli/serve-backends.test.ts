import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseServeSource } from './serve-backends.js';
import { UsageError } from './usage-error.js';

const AZURE = {
  AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
  AZURE_OPENAI_API_KEY: 'azure-key-0123456789',
  AZURE_OPENAI_DEPLOYMENT: 'gpt-4o',
};

function choose(values: Record<string, string | boolean>, env: Record<string, string> = {}, dotenv = {}) {
  return chooseServeSource({ values, io: { env, cwd: '/srv', fileExists: () => false }, dotenv });
}

describe('chooseServeSource: what sluice serve serves', () => {
  it('--config, then SLUICE_CONFIG (environment, then .env), before any deployment setting', () => {
    assert.deepEqual(choose({ config: 'a.yaml' }, { SLUICE_CONFIG: 'b.yaml', ...AZURE }), {
      kind: 'config',
      path: 'a.yaml',
    });
    assert.deepEqual(choose({}, AZURE, { SLUICE_CONFIG: 'c.yaml' }), { kind: 'config', path: 'c.yaml' });
  });

  it('a deployment flag beside a configuration file is refused, naming both', () => {
    assert.throws(
      () => choose({ profile: 'east' }, { SLUICE_CONFIG: 'b.yaml' }),
      (e: unknown) => e instanceof UsageError && /--profile and SLUICE_CONFIG both say what to serve/.test(e.message),
    );
  });

  it('Azure settings (environment or .env) are fronted; --profile reads the suffixed names', () => {
    const fronted = choose({}, {}, AZURE);
    assert.equal(fronted.kind, 'remote');
    assert.equal(fronted.kind === 'remote' && fronted.resolved.target.kind, 'azure');
    const profiled = choose(
      { profile: 'east' },
      { AZURE_OPENAI_ENDPOINT_FOR_EAST: 'http://127.0.0.1:9', AZURE_OPENAI_DEPLOYMENT_FOR_EAST: 'd' },
    );
    assert.equal(
      profiled.kind === 'remote' && profiled.resolved.target.kind === 'azure' && profiled.resolved.target.deployment,
      'd',
    );
  });

  it('--local and --model mean the local model even with Azure settings; nothing set is the implicit local model', () => {
    assert.deepEqual(choose({ local: true }, AZURE), { kind: 'local', implicit: false });
    assert.deepEqual(choose({ model: '/m/x.gguf' }, AZURE), { kind: 'local', implicit: false });
    assert.deepEqual(choose({}), { kind: 'local', implicit: true });
  });

  it('half an Azure configuration is the CLI error, not a silent local model', () => {
    assert.throws(
      () => choose({}, { AZURE_OPENAI_API_KEY: 'k-0123456789' }),
      (e: unknown) => e instanceof UsageError && /AZURE_OPENAI_ENDPOINT is not/.test(e.message),
    );
  });

  it('--check-config without a file says how to give one', () => {
    assert.throws(
      () => choose({ 'check-config': true }, AZURE),
      (e: unknown) => e instanceof UsageError && /pass --config FILE \(or set SLUICE_CONFIG\)/.test(e.message),
    );
  });
});
