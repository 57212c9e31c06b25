import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCodes, RateLimitError, TimeoutError } from '../errors.js';
import { allOptionNames, COMMANDS } from './args.js';
import { EXIT_CODE_BY_ERROR, EXIT_CODE_MEANINGS, ExitCode, exitCodeForEnd, exitCodeForError } from './exit-codes.js';
import { ENVIRONMENT, renderCommandUsage, renderMainUsage } from './usage.js';

const docs = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');

describe('exit codes: one table, --help and docs/cli.md in step', () => {
  it('every error code maps to a documented exit code', () => {
    const documented = new Set(EXIT_CODE_MEANINGS.map((e) => e.code));
    for (const code of Object.values(ErrorCodes)) {
      const exit = (EXIT_CODE_BY_ERROR as Record<string, number>)[code];
      assert.ok(exit !== undefined, `${code} has an exit code`);
      assert.ok(documented.has(exit as never), `${code} -> ${exit} is documented`);
    }
  });

  it('every meaning is a distinct code, each in ExitCode', () => {
    const codes = EXIT_CODE_MEANINGS.map((e) => e.code);
    assert.equal(new Set(codes).size, codes.length);
    assert.deepEqual(
      [...codes].sort((a, b) => a - b),
      Object.values(ExitCode).sort((a, b) => a - b),
    );
  });

  it('`sluice --help` lists every code with its meaning', () => {
    const help = renderMainUsage('1.0.0');
    for (const { code, meaning } of EXIT_CODE_MEANINGS) {
      assert.match(help, new RegExp(`^  ${code} +${escapeRegExp(meaning)}$`, 'm'), `--help has ${code}`);
    }
  });

  it('docs/cli.md has exactly the table', () => {
    const rows = [...docs.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2] }));
    assert.deepEqual(
      rows,
      EXIT_CODE_MEANINGS.map(({ code, meaning }) => ({ code, meaning })),
    );
  });

  it('maps errors and end states', () => {
    assert.equal(exitCodeForError(new RateLimitError('x', { status: 429 })), 4);
    assert.equal(exitCodeForError(new TimeoutError('idle', 5)), 8);
    assert.equal(exitCodeForError(new Error('bug')), 1);
    assert.equal(exitCodeForError({ code: 'SOMETHING_ELSE' }), 1);
    assert.equal(exitCodeForEnd({ state: 'completed' }), 0);
    assert.equal(exitCodeForEnd({ state: 'truncated', reason: 'no-done', unfinished: [] }), 6);
    assert.equal(exitCodeForEnd({ state: 'filtered', where: 'completion', categories: [], choices: [0] }), 5);
    assert.equal(exitCodeForEnd({ state: 'aborted' }), 130);
  });
});

describe('help and docs cover every flag and variable', () => {
  for (const def of Object.values(COMMANDS)) {
    it(`${def.name}: every option in --help and docs/cli.md`, () => {
      const help = renderCommandUsage(def);
      for (const name of allOptionNames(def)) {
        const flag = name.length === 1 ? `-${name}` : `--${name}`;
        assert.ok(help.includes(flag), `${def.name} --help lists ${flag}`);
        assert.ok(docs.includes(`\`${flag}`), `docs/cli.md documents ${flag}`);
      }
    });
  }
  it('every environment variable in --help and docs/cli.md', () => {
    const help = renderMainUsage('1.0.0');
    for (const { name } of ENVIRONMENT) {
      assert.ok(help.includes(name), `--help lists ${name}`);
      assert.ok(docs.includes(`\`${name}\``), `docs/cli.md documents ${name}`);
    }
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
