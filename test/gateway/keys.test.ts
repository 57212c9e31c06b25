// Client keys (issue 13): the stored hash, the lookup by api-key or Bearer, and the
// configuration's `keys:` and `prices:` sections (a raw key where a hash belongs is refused
// without being echoed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayConfigError, parseGatewayConfig } from '../../src/gateway/config.js';
import { createKeyTable, hashKey, isKeyHash, newKey } from '../../src/gateway/keys.js';

const SECRET = 'sk-sluice-TEAM-A-SECRET-0123456789abcdefghij';

test('a key is stored as sha256:<hex> and never as itself', () => {
  const hash = hashKey(SECRET);
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  assert.ok(isKeyHash(hash));
  assert.ok(!hash.includes(SECRET));
  assert.equal(hashKey(SECRET), hash, 'the same key, the same hash');
  assert.notEqual(hashKey(`${SECRET}x`), hash);
  assert.equal(hashKey('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('new keys are random, 256 bits, and unlike each other', () => {
  const a = newKey();
  assert.match(a, /^sk-sluice-[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, newKey());
});

test('the key table names the caller from api-key or Bearer, and nobody for a wrong key', () => {
  const table = createKeyTable([
    { name: 'team-a', keyHash: hashKey(SECRET), admin: false, limits: {} },
    { name: 'ops', keyHash: hashKey('ops-key-xyz'), admin: true, limits: {} },
  ]);
  assert.equal(table.identify({ 'api-key': SECRET })?.name, 'team-a');
  assert.equal(table.identify({ authorization: `Bearer ${SECRET}` })?.name, 'team-a');
  assert.equal(table.identify({ authorization: 'bearer ops-key-xyz' })?.name, 'ops');
  assert.equal(table.identify({ 'api-key': `${SECRET} ` }), undefined);
  assert.equal(table.identify({ 'api-key': hashKey(SECRET) }), undefined, 'the hash is not the key');
  assert.equal(table.identify({}), undefined);
});

const MODELS = 'models:\n  story:\n    - local: true\n';

test('keys: and prices: in the configuration file', () => {
  const { config } = parseGatewayConfig(
    `${MODELS}keys:\n  - name: team-a\n    key_hash: ${hashKey(SECRET)}\n    models: [story]\n    rpm: 60\n    tpm: 10000\n    concurrent: 4\n    budget: { tokens: 1000000, per: day }\n  - name: ops\n    key_hash: ${hashKey('o')}\n    admin: true\nprices:\n  story: { input: 0.5, output: 1.5 }\n`,
    { file: '/cfg/sluice.yaml', shownAs: 'sluice.yaml', env: {} },
  );
  assert.deepEqual(config.keys[0], {
    name: 'team-a',
    keyHash: hashKey(SECRET),
    models: ['story'],
    admin: false,
    limits: { rpm: 60, tpm: 10000, concurrent: 4, budget: { tokens: 1000000, per: 'day' } },
  });
  assert.deepEqual(config.keys[1], { name: 'ops', keyHash: hashKey('o'), admin: true, limits: {} });
  assert.deepEqual(config.prices, { story: { input: 0.5, output: 1.5 } });
});

test('a raw key where the hash belongs is refused, and the message does not repeat it', () => {
  let error: unknown;
  try {
    parseGatewayConfig(`${MODELS}keys:\n  - name: team-a\n    key_hash: ${SECRET}\n`, {
      file: '/cfg/sluice.yaml',
      shownAs: 'sluice.yaml',
      env: {},
    });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof GatewayConfigError);
  assert.match(error.message, /sluice keys hash/);
  assert.ok(!error.message.includes(SECRET));
});

test('two keys with one name are refused', () => {
  assert.throws(
    () =>
      parseGatewayConfig(
        `${MODELS}keys:\n  - { name: a, key_hash: ${hashKey('1')} }\n  - { name: a, key_hash: ${hashKey('2')} }\n`,
        { file: '/cfg/sluice.yaml', shownAs: 'sluice.yaml', env: {} },
      ),
    /used by another key/,
  );
});

test('hostile text is counted in bounded pieces: no run over 32 characters, no more than 16,384 characters in all', async () => {
  const { boundedCounter, defaultTokenCounter } = await import('../../src/gateway/tokens.js');
  const seen: string[] = [];
  const count = boundedCounter((text) => {
    seen.push(text);
    return Math.ceil(text.length / 4);
  });
  const estimate = count(`${'a'.repeat(1_000_000)} ${'hello world, '.repeat(10_000)}`);
  assert.ok(
    seen.every((t) => !/\S{33,}/.test(t)),
    'a long run reached the counter whole',
  );
  assert.ok(seen.reduce((n, t) => n + t.length, 0) <= 16_384 + 32 * 32);
  assert.ok(estimate > 200_000 && estimate < 350_000, `estimate ${estimate}`);
  // Ordinary text is counted exactly, in one piece.
  seen.length = 0;
  assert.equal(count('Once upon a time there was a cat.'), 9);
  assert.deepEqual(seen, ['Once upon a time there was a cat.']);
  // And the default counter agrees with o200k_base on ordinary text.
  assert.equal((await defaultTokenCounter())('Hello, world'), 3);
});

test("a key's models and the priced models must be served by the file (with did you mean)", () => {
  let error: unknown;
  try {
    parseGatewayConfig(
      `${MODELS}keys:\n  - name: a\n    key_hash: ${hashKey('1')}\n    models: [stroy]\nprices:\n  gpt-4o: { input: 1, output: 2 }\n`,
      { file: '/cfg/sluice.yaml', shownAs: 'sluice.yaml', env: {} },
    );
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof GatewayConfigError);
  assert.match(error.message, /stroy.*did you mean story\?|did you mean story\?/s);
  assert.match(error.message, /sluice\.yaml:\d+:\d+/);
  assert.equal(error.problems.length, 2);
});
