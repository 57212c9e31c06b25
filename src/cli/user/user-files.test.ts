import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinParamPairs, templateParams } from '../param-pairs.js';
import { UsageError } from '../usage-error.js';
import { fillPlaceholders, placeholders } from './templates.js';
import { parseUserConfig } from './user-config.js';

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UsageError && pattern.test(e.message));
}

describe('template parameters', () => {
  it('-p KEY VALUE becomes one --param=KEY=VALUE; after -- nothing is touched', () => {
    assert.deepEqual(joinParamPairs(['-p', 'topic', 'a=b c', 'hi', '--', '-p', 'x']), [
      '--param=topic=a=b c',
      'hi',
      '--',
      '-p',
      'x',
    ]);
    assert.deepEqual({ ...templateParams(['topic=a=b c']) }, { topic: 'a=b c' });
    usageError(() => joinParamPairs(['-p', 'topic']), /-p needs a name and a value: -p KEY VALUE/);
    usageError(() => joinParamPairs(['-p', '1x', 'v']), /-p needs a name and a value/);
  });

  it('$name and $\u007bname} are filled; a missing one is named; $5 and $ alone stay', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the braced placeholder, meant literally
    assert.deepEqual(placeholders('$a, ${b} and $5'), ['a', 'b']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the braced placeholder, meant literally
    assert.equal(fillPlaceholders('Cost $5 for ${item}s: $item', { item: 'gate' }, 't'), 'Cost $5 for gates: gate');
    usageError(
      () => fillPlaceholders('About $topic', {}, 'ask'),
      /Template "ask" needs a value for \$topic: pass -p topic VALUE/,
    );
  });
});

describe('the settings file', () => {
  it('reads model, profile, aliases, defaults and log; keys it does not know stay allowed', () => {
    const c = parseUserConfig(
      {
        model: 'fast',
        profile: 'p',
        aliases: { fast: 'gpt-4o-mini' },
        defaults: { temperature: 0.2, stop: ['x'], stats: true },
        log: false,
        later: 1,
      },
      'c.json',
    );
    assert.equal(c.aliases.fast, 'gpt-4o-mini');
    assert.deepEqual({ ...c.defaults }, { temperature: '0.2', stop: ['x'], stats: true });
    assert.equal(c.log, false);
  });

  it('names each mistake with the file, the key and the fix; __proto__ stays data', () => {
    usageError(() => parseUserConfig([], 'c.json'), /c\.json must hold one JSON object/);
    usageError(() => parseUserConfig({ alias: {} }, 'c.json'), /has "alias": did you mean "aliases"\?/);
    usageError(
      () => parseUserConfig({ defaults: { stats: 'yes' } }, 'c.json'),
      /"defaults\.stats" must be true or false/,
    );
    usageError(() => parseUserConfig({ defaults: { endpoint: 'x' } }, 'c.json'), /not a flag with a default/);
    const c = parseUserConfig(JSON.parse('{"aliases":{"__proto__":"x"}}'), 'c.json');
    assert.equal(Object.getPrototypeOf(c.aliases), null);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});
