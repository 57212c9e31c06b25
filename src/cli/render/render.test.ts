import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createChoiceSequencer } from './choices.js';
import { highlightLine } from './highlight.js';
import { renderInline } from './inline.js';
import { createMarkdownLines } from './markdown.js';
import { createRenderer } from './renderer.js';
import { renderTable } from './table.js';
import { charWidth, chooseRenderMode, stripAnsi, stripControls, textWidth } from './terminal.js';

/** One line styled (never a held table row in these tests). */
function lineOf(md: ReturnType<typeof createMarkdownLines>, text: string): string {
  const styled = md.line(text);
  assert.ok(styled !== undefined, `held: ${text}`);
  return styled;
}

/** Feeds `pieces` to a renderer and returns everything it produced. */
function feed(r: ReturnType<typeof createRenderer>, pieces: string[]): string[] {
  const out = pieces.map((p) => r.push(p));
  out.push(r.end());
  return out;
}

/**
 * A tiny terminal emulator: enough of one (printable text, wrap at `cols`, CR, LF, CUU, ED,
 * SGR ignored) to check what a user would see after the live renderer's rewrites.
 */
function screen(bytes: string, cols: number): string[] {
  const rows: string[][] = [[]];
  let r = 0;
  let c = 0;
  let pendingWrap = false;
  for (let i = 0; i < bytes.length; i++) {
    const ch = bytes[i] as string;
    if (ch === '\u001b') {
      const m = /^\u001b\[([?\d;]*)([A-Za-z])/.exec(bytes.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      const n = Number((m[1] ?? '').replace('?', '')) || 1;
      if (m[2] === 'A') {
        r = Math.max(0, r - n);
        pendingWrap = false;
      } else if (m[2] === 'J') {
        rows[r] = (rows[r] ?? []).slice(0, c);
        rows.length = r + 1;
      }
      continue;
    }
    if (ch === '\r') {
      c = 0;
      pendingWrap = false;
      continue;
    }
    if (ch === '\n') {
      r++;
      c = 0;
      pendingWrap = false;
      rows[r] ??= [];
      continue;
    }
    if (pendingWrap) {
      r++;
      c = 0;
      rows[r] ??= [];
      pendingWrap = false;
    }
    const row = rows[r] ?? [];
    rows[r] = row;
    row[c] = ch;
    c++;
    if (c === cols) {
      c = cols - 1;
      pendingWrap = true;
      c = cols;
    }
  }
  return rows.map((row) => row.join(''));
}

describe('chooseRenderMode', () => {
  it('terminal: live; pipe: raw; --raw, NO_COLOR, FORCE_COLOR=0 and TERM=dumb: raw', () => {
    assert.equal(chooseRenderMode({ raw: false, isTTY: true, env: {} }), 'live');
    assert.equal(chooseRenderMode({ raw: false, isTTY: false, env: {} }), 'raw');
    assert.equal(chooseRenderMode({ raw: true, isTTY: true, env: {} }), 'raw');
    assert.equal(chooseRenderMode({ raw: false, isTTY: true, env: { NO_COLOR: '1' } }), 'raw');
    assert.equal(chooseRenderMode({ raw: false, isTTY: true, env: { FORCE_COLOR: '0' } }), 'raw');
    assert.equal(chooseRenderMode({ raw: false, isTTY: true, env: { TERM: 'dumb' } }), 'raw');
  });
  it('FORCE_COLOR styles a pipe line by line; NO_COLOR beats it', () => {
    assert.equal(chooseRenderMode({ raw: false, isTTY: false, env: { FORCE_COLOR: '1' } }), 'lines');
    assert.equal(chooseRenderMode({ raw: false, isTTY: false, env: { FORCE_COLOR: '1', NO_COLOR: '1' } }), 'raw');
  });
});

describe('terminal text', () => {
  it('measures wide, combining and plain characters', () => {
    assert.equal(charWidth('a'.codePointAt(0) ?? 0), 1);
    assert.equal(charWidth('漢'.codePointAt(0) ?? 0), 2);
    assert.equal(charWidth(0x301), 0);
    assert.equal(textWidth('e\u0301🙂x'), 4);
  });
  it('drops escape and control characters, keeps newline and tab', () => {
    assert.equal(stripControls('a\u001b]0;pwned\u0007b\r\n\tc\u009b'), 'a]0;pwnedb\n\tc');
    assert.equal(stripControls('plain'), 'plain');
  });
});

describe('raw renderer', () => {
  it('pipe: exact bytes, nothing added', () => {
    const text = ['Hel', 'lo **x**\r\n', '\u001b[31mred', ' end'];
    assert.equal(feed(createRenderer('raw', { tty: false }), text).join(''), text.join(''));
  });
  it('terminal: control characters dropped, a final newline added once', () => {
    const out = feed(createRenderer('raw', { tty: true }), ['a\u001b[2J', 'b']);
    assert.equal(out.join(''), 'a[2Jb\n');
    assert.equal(feed(createRenderer('raw', { tty: true }), ['done\n']).join(''), 'done\n');
  });
});

describe('live renderer', () => {
  it('prints a partial line plainly the moment it arrives', () => {
    const r = createRenderer('live', { tty: true, columns: () => 80 });
    assert.equal(r.push('Some **bo'), 'Some **bo');
    assert.equal(r.push('ld** t'), 'ld** t');
  });

  it('rewrites only the line that completed, and only when styling changes it', () => {
    const r = createRenderer('live', { tty: true, columns: () => 80 });
    r.push('plain line');
    assert.equal(r.push('\n'), '\n', 'a line without Markdown is just ended');
    r.push('a **bold** word');
    const out = r.push('\nnext');
    assert.match(out, /^\u001b\[\?2026h\r\u001b\[J/, 'synchronized rewrite from column 0');
    assert.ok(out.includes('\u001b[1mbold\u001b[22m'));
    assert.ok(out.endsWith('next'), 'the new partial line follows plainly');
  });

  it('moves up over the rows a long line wrapped onto (wide characters included)', () => {
    const r = createRenderer('live', { tty: true, columns: () => 10 });
    r.push('**ab** 1234567890 漢漢漢漢');
    // 20 columns of plain text + 8 of wide ones: rows "**ab** 123", "4567890 漢", "漢漢漢"
    // (the fourth wide character does not fit on row 2's last column).
    const out = r.push('\n');
    assert.ok(out.includes('\u001b[2A'), JSON.stringify(out));
  });

  it('what the user sees equals the styled text, for every way of splitting the stream', () => {
    const text =
      '# Title\nSome *it* and `code` and a long line that wraps around the narrow screen\n- item\n```js\nlet x = 1;\n```\n' +
      '| k | value |\n|---|--:|\n| a | **1** |\n| bb | 22 |\nafter the table\n| x | y |\n|-|-|\n| 1 | 2 |';
    const cols = 16;
    // Ground truth: the same Markdown styled line by line, with no cursor movement at all.
    const expected = screen(
      `${feed(createRenderer('lines', { tty: false, columns: () => cols }), [text]).join('')}\n`,
      cols,
    );
    for (const size of [1, 2, 3, 7, 13]) {
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      const got = screen(feed(createRenderer('live', { tty: true, columns: () => cols }), pieces).join(''), cols);
      assert.deepEqual(got.map(stripAnsi), expected.map(stripAnsi), `pieces of ${size}`);
    }
    assert.equal(stripAnsi(expected[0] ?? ''), 'Title');
    assert.ok(expected.some((row) => stripAnsi(row).startsWith('• item')));
    const plain = expected.map(stripAnsi);
    const table = plain.indexOf('k  │ value');
    assert.deepEqual(plain.slice(table, table + 4), ['k  │ value', '───┼──────', 'a  │     1', 'bb │    22']);
    assert.deepEqual(plain.slice(-4), ['x │ y', '──┼──', '1 │ 2', ''], 'a table at the very end too');
  });

  it('keeps a line plain when it is taller than the screen (its start is out of reach)', () => {
    const r = createRenderer('live', { tty: true, columns: () => 10, rows: () => 3 });
    r.push(`**${'x'.repeat(40)}**`);
    assert.equal(r.push('\n'), '\n');
  });

  it('ends with the last line styled and a newline', () => {
    const r = createRenderer('live', { tty: true, columns: () => 80 });
    r.push('the **end**');
    const out = r.end();
    assert.ok(out.includes('\u001b[1mend\u001b[22m') && stripAnsi(out).endsWith('\n'));
    assert.equal(r.end(), '', 'nothing more after the end');
  });

  it('expands tabs so the width model stays exact', () => {
    const r = createRenderer('live', { tty: true, columns: () => 80, tabWidth: 4 });
    assert.equal(r.push('a\tb'), 'a   b');
  });
});

describe('lines renderer (FORCE_COLOR into a pipe)', () => {
  it('writes each line once, styled, when it completes; no cursor movement', () => {
    const r = createRenderer('lines', { tty: false });
    assert.equal(r.push('# He'), '');
    const out = r.push('ad\ntail');
    assert.ok(out.includes('Head') && out.endsWith('\n') && !out.includes('\u001b[J'));
    assert.equal(r.end(), 'tail');
  });
});

describe('markdown', () => {
  it('inline styles, escapes, snake_case left alone', () => {
    assert.equal(
      stripAnsi(renderInline('a **b** *c* `d` ~~e~~ \\*f\\* snake_case_name')),
      'a b c d e *f* snake_case_name',
    );
    assert.equal(renderInline('`x`'), '\u001b[36mx\u001b[39m');
    assert.equal(
      stripAnsi(renderInline('see [docs](https://x.y) <https://a.b>')),
      'see docs (https://x.y) https://a.b',
    );
  });
  it('unclosed markers stay as typed', () => {
    assert.equal(stripAnsi(renderInline('2 * 3 and **open')), '2 * 3 and **open');
  });
  it('blocks: headings, lists, quotes, rules, fences with highlighting', () => {
    const md = createMarkdownLines({ columns: () => 20 });
    assert.equal(stripAnsi(lineOf(md, '## Sub')), 'Sub');
    assert.equal(stripAnsi(lineOf(md, '  - [x] done')), '  • ☑ done');
    assert.equal(stripAnsi(lineOf(md, '3. three')), '3. three');
    assert.equal(stripAnsi(lineOf(md, '> quoted')), '│ quoted');
    assert.equal(stripAnsi(lineOf(md, '---')), '─'.repeat(20));
    assert.equal(stripAnsi(lineOf(md, '```python')), '```python');
    const code = lineOf(md, '# not a heading inside code');
    assert.equal(stripAnsi(code), '# not a heading inside code');
    assert.ok(code.startsWith('\u001b[2m'), 'a Python comment is dimmed');
    assert.equal(stripAnsi(lineOf(md, '```')), '```');
    assert.equal(stripAnsi(lineOf(md, '# Heading again')), 'Heading again');
  });
  it('highlighting never changes the text', () => {
    for (const [line, lang] of [
      ['const s = "a // b"; // c', 'ts'],
      ["echo 'x' # y", 'sh'],
      ['SELECT 1 -- two', 'sql'],
    ] as const) {
      assert.equal(stripAnsi(highlightLine(line, lang)), line);
    }
  });
});

describe('tables', () => {
  it('aligned columns, alignment from the delimiter row, inline styles, escaped pipes', () => {
    const out = renderTable(
      ['| Name | Qty | Note |', '|:-----|----:|:----:|', '| **Apple** | 3 | a \\| b |', '| Kiwi | 12 |'],
      80,
    );
    assert.deepEqual(out?.map(stripAnsi), [
      'Name  │ Qty │ Note',
      '──────┼─────┼──────',
      'Apple │   3 │ a | b',
      'Kiwi  │  12 │',
    ]);
    assert.ok(out?.[2]?.includes('\u001b[1mApple\u001b[22m'), 'bold kept inside a cell');
  });

  it('not a table without its delimiter row; too wide for the screen: left as written', () => {
    assert.equal(renderTable(['| a | b |', '| c | d |'], 80), undefined);
    assert.equal(renderTable(['| a | b |', '|---|---|', `| ${'x'.repeat(30)} | y |`], 20), undefined);
  });

  it('rows are held until the table ends, then given as one block', () => {
    const md = createMarkdownLines({ columns: () => 40 });
    assert.equal(md.line('| a | b |'), undefined);
    assert.equal(md.line('|---|---|'), undefined);
    assert.equal(md.line('| 1 | 2 |'), undefined);
    assert.equal(md.held(), undefined, 'nothing until the table ends');
    assert.equal(md.line('text'), 'text');
    const block = md.held();
    assert.equal(block?.lines, 3);
    assert.deepEqual(stripAnsi(block?.text ?? '').split('\n'), ['a │ b', '──┼──', '1 │ 2']);
    assert.equal(md.held(), undefined, 'given once');
    md.line('| just | pipes |');
    md.reset();
    assert.equal(stripAnsi(md.held()?.text ?? ''), '| just | pipes |', 'no delimiter row: the line as before');
  });

  it('a table wider than the screen stays as the model wrote it (the live screen keeps the plain rows)', () => {
    const rows = ['| a | b |', '|---|---|', `| ${'x'.repeat(30)} | y |`];
    const r = createRenderer('live', { tty: true, columns: () => 20, rows: () => 24 });
    const out = feed(r, [`${rows.join('\n')}\n`]).join('');
    assert.ok(!out.includes('│'), JSON.stringify(out));
  });
});

describe('choice sequencer', () => {
  function record(n: number) {
    const log: string[] = [];
    const seq = createChoiceSequencer(n, {
      begin: (i) => log.push(`<${i}>`),
      text: (_i, t) => log.push(t),
      end: (i) => log.push(`</${i}>`),
    });
    return { log, seq };
  }

  it('streams the lowest choice live, buffers the others, prints each whole and in order', () => {
    const { log, seq } = record(3);
    seq.text(0, 'a1');
    seq.text(1, 'b1');
    seq.text(2, 'c1');
    seq.text(0, 'a2');
    assert.deepEqual(log, ['<0>', 'a1', 'a2'], 'choice 0 live, 1 and 2 held back');
    seq.text(1, 'b2');
    seq.finish(0);
    assert.deepEqual(log.slice(3), ['</0>', '<1>', 'b1', 'b2'], 'choice 1 flushed, then live');
    seq.finish(2);
    seq.text(1, 'b3');
    seq.finish(1);
    seq.close();
    assert.deepEqual(log.slice(7), ['b3', '</1>', '<2>', 'c1', '</2>']);
  });

  it('a truncated stream still prints every choice that arrived, and no label for one that did not', () => {
    const { log, seq } = record(3);
    seq.text(1, 'only-b');
    seq.close();
    assert.deepEqual(log, ['<1>', 'only-b', '</1>']);
  });

  it('fewer choices than asked: no empty label for the missing ones', () => {
    const { log, seq } = record(3);
    seq.text(0, 'a');
    seq.finish(0);
    seq.close();
    assert.deepEqual(log, ['<0>', 'a', '</0>']);
  });
});
