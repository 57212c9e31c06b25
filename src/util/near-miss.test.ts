import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest, mistypedCommand, typoDistance } from './near-miss.js';

const COMMANDS = ['complete', 'chat', 'serve', 'help'];

describe('typoDistance', () => {
  it('counts swaps, missing, extra and replaced letters as one mistake each', () => {
    assert.equal(typoDistance('chta', 'chat'), 1);
    assert.equal(typoDistance('cht', 'chat'), 1);
    assert.equal(typoDistance('chatt', 'chat'), 1);
    assert.equal(typoDistance('cgat', 'chat'), 1);
    assert.equal(typoDistance('complte', 'complete'), 1);
    assert.equal(typoDistance('cmoplte', 'complete'), 2);
  });

  it('with neighbours only, a replacement by a distant key costs two', () => {
    assert.equal(typoDistance('cgat', 'chat', { replacement: 'neighbours' }), 1, 'g is next to h');
    assert.equal(typoDistance('what', 'chat', { replacement: 'neighbours' }), 2);
    assert.equal(typoDistance('what', 'chat', { replacement: 'any' }), 1);
  });
});

describe('mistypedCommand: the first word of `sluice WORD ...`', () => {
  it('near-misses of a command are typos', () => {
    for (const [word, meant] of [
      ['chta', 'chat'],
      ['caht', 'chat'],
      ['chatt', 'chat'],
      ['serv', 'serve'],
      ['srve', 'serve'],
      ['server', 'serve'],
      ['complte', 'complete'],
      ['compelte', 'complete'],
      ['hepl', 'help'],
    ]) {
      assert.equal(mistypedCommand(word as string, COMMANDS), meant, word);
    }
  });

  it('ordinary words, capitalised words, commands and non-words are prompts', () => {
    for (const word of [
      'what',
      'that',
      'hello',
      'chap',
      'nerve',
      'write',
      'tell',
      'Chta',
      'chat',
      'ch',
      'x1',
      'once',
    ]) {
      assert.equal(mistypedCommand(word, COMMANDS), undefined, word);
    }
  });
});

describe('closest', () => {
  it('the nearest candidate within the limit; none on a tie or beyond it', () => {
    assert.equal(closest('--max-token', ['--max-tokens', '--stop'], 2), '--max-tokens');
    assert.equal(closest('--temprature', ['--temperature', '--top-p'], 2), '--temperature');
    assert.equal(closest('--zzz', ['--max-tokens', '--stop'], 2), undefined);
    assert.equal(closest('ab', ['ac', 'ad'], 1), undefined, 'a tie: no guess');
  });
});
