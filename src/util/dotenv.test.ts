import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDotEnv } from './dotenv.js';

describe('parseDotEnv', () => {
  it('reads KEY=value, quotes, comments and export', () => {
    assert.deepEqual(parseDotEnv('A=1\n# comment\nexport B="x y"\nC=\'z\'\n\nD=plain # note\n'), {
      A: '1',
      B: 'x y',
      C: 'z',
      D: 'plain',
    });
  });
});
