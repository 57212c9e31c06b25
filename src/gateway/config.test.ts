// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the configuration file's own syntax
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ConfigProblem, GatewayConfigError, loadGatewayConfig, parseGatewayConfig } from './config.js';
import { interpolate } from './interpolate.js';

const KEY = 'east-secret-key-0123456789';

/** The problems parsing `text` reports (file shown as sluice.yaml). */
function problems(text: string, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    parseGatewayConfig(text, { file: '/cfg/sluice.yaml', shownAs: 'sluice.yaml', env });
  } catch (e) {
    if (e instanceof GatewayConfigError) return [...e.problems];
    throw e;
  }
  return assert.fail('expected the file to be refused');
}

/** The whole message of the refusal. */
function refusal(text: string, env: Record<string, string> = {}): string {
  try {
    parseGatewayConfig(text, { file: '/cfg/sluice.yaml', shownAs: 'sluice.yaml', env });
  } catch (e) {
    if (e instanceof GatewayConfigError) return e.message;
    throw e;
  }
  return assert.fail('expected the file to be refused');
}

const FULL = `models:
  gpt-4o:
    continue_on_failure: true
    targets:
      - azure: https://east.openai.azure.com
        deployment: gpt-4o-east
        api_key: \${AZURE_EAST_KEY}
        api_version: 2024-10-21
        priority: 1
        weight: 3
        rpm: 600
        tpm: 100000
        timeouts: { headers_ms: 10000, first_token_ms: 15000, idle_ms: 60000 }
      - openai: https://api.openai.com/v1/
        model: gpt-4o
        api_key: \${OPENAI_API_KEY}
        priority: 2
  story:
    - local: true
routing:
  max_cooldown_ms: 300000
  failover_on: [429, 500, 502, 503, 504]
  breaker: { failures: 5, window_ms: 30000, probe_after_ms: 15000 }
server:
  port: 8080
  host: 127.0.0.1
  api_key: \${SLUICE_API_KEY}
telemetry: { otlp_endpoint: "http://127.0.0.1:4318" }
`;

describe('parseGatewayConfig: a valid file', () => {
  it('normalizes every section, fills defaults, and lists the secrets', () => {
    const loaded = parseGatewayConfig(FULL, {
      file: '/cfg/sluice.yaml',
      env: { AZURE_EAST_KEY: KEY, OPENAI_API_KEY: 'sk-openai-key-abcdef', SLUICE_API_KEY: 'gateway-key-1' },
    });
    const { models, routing, server, telemetry } = loaded.config;
    assert.deepEqual(Object.keys(models), ['gpt-4o', 'story']);
    assert.equal(models['gpt-4o']?.continueOnFailure, true);
    assert.deepEqual(models['gpt-4o']?.targets[0], {
      kind: 'azure',
      endpoint: 'https://east.openai.azure.com',
      route: 'deployments',
      deployment: 'gpt-4o-east',
      apiKey: KEY,
      apiVersion: '2024-10-21',
      priority: 1,
      weight: 3,
      rpm: 600,
      tpm: 100000,
      timeouts: { headersMs: 10000, firstTokenMs: 15000, idleMs: 60000 },
    });
    assert.deepEqual(models['gpt-4o']?.targets[1], {
      kind: 'openai',
      baseURL: 'https://api.openai.com/v1',
      model: 'gpt-4o',
      apiKey: 'sk-openai-key-abcdef',
      priority: 2,
      weight: 1,
      timeouts: {},
    });
    assert.deepEqual(models.story, {
      continueOnFailure: false,
      targets: [{ kind: 'local', priority: 1, weight: 1, timeouts: {} }],
    });
    assert.deepEqual(routing, {
      maxCooldownMs: 300000,
      failoverOn: [429, 500, 502, 503, 504],
      breaker: { failures: 5, windowMs: 30000, probeAfterMs: 15000 },
    });
    assert.deepEqual(server, { port: 8080, host: '127.0.0.1', apiKey: 'gateway-key-1' });
    assert.deepEqual(telemetry, { otlpEndpoint: 'http://127.0.0.1:4318' });
    assert.deepEqual(new Set(loaded.secrets), new Set([KEY, 'sk-openai-key-abcdef', 'gateway-key-1']));
  });

  it('an Azure endpoint given as its v1 base selects the v1 route', () => {
    const { config } = parseGatewayConfig(
      'models:\n  m:\n    - azure: https://x.openai.azure.com/openai/v1/\n      deployment: d\n      api_key: k\n',
      { file: '/cfg/s.yaml', env: {} },
    );
    const target = config.models.m?.targets[0];
    assert.deepEqual([target?.kind, target?.kind === 'azure' ? target.route : undefined], ['azure', 'v1']);
  });

  it('a key may be left out only for a server on this machine', () => {
    const { config } = parseGatewayConfig(
      'models:\n  m:\n    - openai: http://127.0.0.1:8080/v1\n      model: tiny\n',
      {
        file: '/cfg/s.yaml',
        env: {},
      },
    );
    assert.equal(config.models.m?.targets[0]?.kind, 'openai');
    assert.deepEqual(problems('models:\n  m:\n    - azure: https://x.openai.azure.com\n      deployment: d\n'), [
      { file: 'sluice.yaml', line: 3, column: 7, message: 'missing "api_key" in models.m[0]' },
    ]);
  });
});

describe('parseGatewayConfig: errors say file:line:column and what is wrong', () => {
  it('bad YAML: the first syntax error, where it is', () => {
    const [first, ...rest] = problems('models:\n  a: [1, 2\n  b: 3\n');
    assert.equal(rest.length, 0);
    assert.equal(first?.file, 'sluice.yaml');
    assert.deepEqual([first?.line, first?.column], [3, 3]);
    assert.match(first?.message ?? '', /^not valid YAML: Flow sequence .* must be .* indented and end with a \]/);
  });

  it('a ${NAME} inside a flow mapping gets the advice to quote it', () => {
    const message = refusal('models:\n  a:\n    - { local: true }\nserver: { port: 1, api_key: ${K} }\n', { K: 'k' });
    assert.match(message, /^sluice\.yaml:4:\d+: not valid YAML: a \$\{NAME\} inside \{ … \} or \[ … \] must be quoted/);
  });

  it('a duplicate key is refused, not silently overridden', () => {
    assert.match(refusal('models:\n  a:\n    - local: true\n  a:\n    - local: true\n'), /^sluice\.yaml:4:3: .*twice/);
  });

  it('an unknown key, with "did you mean"', () => {
    const text =
      'models:\n  a:\n    - azure: https://x.openai.azure.com\n      deployment: d\n      api_key: k\n      wieght: 3\n';
    assert.deepEqual(problems(text), [
      {
        file: 'sluice.yaml',
        line: 6,
        column: 7,
        message: 'unknown key "wieght" in models.a[0]; did you mean "weight"?',
      },
    ]);
  });

  it('unknown keys everywhere: top level, sections, time-outs, a target kind', () => {
    const text = [
      'modles: {}',
      'models:',
      '  a:',
      '    - local: true',
      '      timeouts: { idle: 5 }',
      '    - azur: https://x',
      'server: { hots: x }',
      'routing: { breaker: { failure: 3 } }',
      '',
    ].join('\n');
    assert.deepEqual(
      problems(text).map((p) => `${p.line}:${p.column} ${p.message}`),
      [
        '1:1 unknown key "modles" at the top level; did you mean "models"?',
        '5:19 unknown key "idle" in models.a[0].timeouts; did you mean "idle_ms"?',
        '6:7 models.a[1]: a target needs one of `azure:` (an Azure endpoint), `openai:` (a base URL) or `local:` (true or a .gguf path); did you mean "azure" for "azur"?',
        '7:11 unknown key "hots" in server; did you mean "host"?',
        '8:23 unknown key "failure" in routing.breaker; did you mean "failures"?',
      ],
    );
  });

  it('a wrong type names the key and both types, never the value', () => {
    const text =
      'models:\n  a:\n    - azure: https://x.openai.azure.com\n      deployment: d\n      api_key: k\n      weight: heavy\n      priority: 1.5\n';
    assert.deepEqual(problems(text), [
      { file: 'sluice.yaml', line: 6, column: 15, message: 'models.a[0].weight: must be a number, not text' },
      {
        file: 'sluice.yaml',
        line: 7,
        column: 17,
        message: 'models.a[0].priority: must be a whole number, not a number',
      },
    ]);
  });

  it('a missing ${NAME} names the variable and its line', () => {
    const text =
      'models:\n  a:\n    - azure: https://x.openai.azure.com\n      deployment: d\n      api_key: ${AZURE_EAST_KEY}\n';
    assert.deepEqual(problems(text), [
      {
        file: 'sluice.yaml',
        line: 5,
        column: 16,
        message: '${AZURE_EAST_KEY} is not set: set AZURE_EAST_KEY in the environment or in .env',
      },
    ]);
  });

  it('a target with two kinds', () => {
    const text = 'models:\n  a:\n    - azure: https://x.openai.azure.com\n      openai: https://api.openai.com/v1\n';
    assert.deepEqual(problems(text), [
      {
        file: 'sluice.yaml',
        line: 3,
        column: 7,
        message:
          'models.a[0]: a target has one kind, but this one has `azure:` and `openai:`: make each its own list item',
      },
    ]);
  });

  it('one target without its list dash is one clear problem', () => {
    assert.deepEqual(
      problems('models:\n  a:\n    azure: https://x.openai.azure.com\n    deployment: d\n').map((p) => p.message),
      ['models.a is one target, but targets come in a list: put "- " before its first key'],
    );
  });

  it('every problem is reported at once, in file order', () => {
    const text = 'models:\n  a: 5\n  b: []\nserver: { port: 99999 }\n';
    assert.deepEqual(
      problems(text).map((p) => `${p.line}:${p.column} ${p.message}`),
      [
        '2:6 models.a: must be a list of targets, or a mapping with `targets:` (and optionally `continue_on_failure:`)',
        '3:6 models.b: needs at least one target',
        '4:17 server.port: must be at most 65535',
      ],
    );
  });

  it('a missing ${NAME} does not hide the other problems, nor adds one of its own', () => {
    const text =
      'models:\n  a:\n    - azure: ${ENDPOINT}\n      deployment: d\n      api_key: k\n      rpm: ${RPM}\n      wieght: 1\n';
    assert.deepEqual(
      problems(text).map((p) => `${p.line}:${p.column} ${p.message}`),
      [
        '3:14 ${ENDPOINT} is not set: set ENDPOINT in the environment or in .env',
        '6:12 ${RPM} is not set: set RPM in the environment or in .env',
        '7:7 unknown key "wieght" in models.a[0]; did you mean "weight"?',
      ],
    );
  });

  it('__proto__ as a name or a key is refused where it is, and pollutes nothing', () => {
    assert.deepEqual(
      problems(
        'models:\n  __proto__:\n    - local: true\n  ok:\n    - local: true\n    - local: true\n      __proto__: { polluted: 1 }\n',
      ),
      [
        { file: 'sluice.yaml', line: 2, column: 3, message: '"__proto__" cannot be a key or a name here: rename it' },
        { file: 'sluice.yaml', line: 7, column: 7, message: '"__proto__" cannot be a key or a name here: rename it' },
      ],
    );
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });

  it('an empty file says what it needs', () => {
    assert.match(refusal(''), /^sluice\.yaml:1:1: the file is empty: it needs a `models:` mapping/);
  });

  it('a local model file that does not exist is refused at its line', () => {
    assert.deepEqual(problems('models:\n  a:\n    - local: ./missing.gguf\n'), [
      {
        file: 'sluice.yaml',
        line: 3,
        column: 14,
        message:
          "local: no model file at /cfg/missing.gguf: fix the path (a relative one starts at this file's directory), or write local: true for the embedded model",
      },
    ]);
  });
});

describe('parseGatewayConfig: secrets never appear in errors', () => {
  it('neither interpolated values nor keys written in the file', () => {
    const text = [
      'models:',
      '  a:',
      '    - azure: ${AZURE_EAST_KEY}', // a key in the endpoint's place
      '      deployment: d',
      `      api_key: sk-literal-key-in-the-file-0123`,
      '      rpm: ${AZURE_EAST_KEY}', // and in a number's place
      '      timeouts: { idle_ms: "${AZURE_EAST_KEY}" }',
      '',
    ].join('\n');
    const message = refusal(text, { AZURE_EAST_KEY: KEY });
    assert.equal(message.split('\n').length, 3, message);
    assert.ok(!message.includes(KEY), message);
    assert.ok(!message.includes('east-secret'), message);
    assert.ok(!message.includes('sk-literal'), message);
  });

  it('a YAML error next to a key does not quote it', () => {
    const message = refusal(`models:\n  a:\n    - azure: "https://x\n      api_key: "${KEY}\n`);
    assert.ok(!message.includes(KEY), message);
  });
});

describe('${NAME} interpolation', () => {
  it('from the environment first, then .env; numbers and booleans as text are accepted', () => {
    const { config } = parseGatewayConfig(
      'models:\n  a:\n    - azure: ${ENDPOINT}/\n      deployment: ${DEPLOYMENT}\n      api_key: ${KEY}\n      rpm: ${RPM}\n',
      {
        file: '/cfg/s.yaml',
        env: { ENDPOINT: 'https://env.openai.azure.com', KEY: KEY },
        dotenv: { ENDPOINT: 'https://dotenv.openai.azure.com', DEPLOYMENT: 'from-dotenv', RPM: '60' },
      },
    );
    assert.deepEqual(config.models.a?.targets[0], {
      kind: 'azure',
      endpoint: 'https://env.openai.azure.com',
      route: 'deployments',
      deployment: 'from-dotenv',
      apiKey: KEY,
      priority: 1,
      weight: 1,
      rpm: 60,
      timeouts: {},
    });
  });

  it('loadGatewayConfig reads .env from the working directory with the CLI reader', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-gw-'));
    writeFileSync(join(dir, '.env'), `AZURE_EAST_KEY="${KEY}"\nexport DEPLOYMENT=dep-1\n`);
    writeFileSync(
      join(dir, 'sluice.yaml'),
      'models:\n  a:\n    - azure: https://x.openai.azure.com\n      deployment: ${DEPLOYMENT}\n      api_key: ${AZURE_EAST_KEY}\n',
    );
    const loaded = loadGatewayConfig('sluice.yaml', { env: { DEPLOYMENT: 'dep-env' }, cwd: dir });
    const target = loaded.config.models.a?.targets[0] as { deployment: string; apiKey: string };
    assert.equal(target.deployment, 'dep-env');
    assert.equal(target.apiKey, KEY);
    assert.equal(loaded.file, join(dir, 'sluice.yaml'));
  });

  it('interpolate: several references, the $${ escape, missing and malformed references', () => {
    const env: Record<string, string> = { A: 'x', B: 'y', EMPTY: '' };
    const lookup = (n: string) => env[n];
    assert.deepEqual(interpolate('${A}-${B}', lookup), { ok: true, text: 'x-y', used: ['A', 'B'] });
    assert.deepEqual(interpolate('$${A} costs $5', lookup), { ok: true, text: '${A} costs $5', used: [] });
    assert.deepEqual(interpolate('${A}${NOPE}${EMPTY}', lookup), {
      ok: false,
      missing: ['NOPE', 'EMPTY'],
      invalid: [],
    });
    assert.equal(interpolate('${A B}', lookup).ok, false);
    assert.equal(interpolate('${A', lookup).ok, false);
  });
});
