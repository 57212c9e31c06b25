/**
 * GFM tables for the terminal: a header row, a delimiter row (`|---|:--:|`), body rows;
 * rendered with aligned columns (`│` between cells, `─┼─` under the header), each cell's
 * inline Markdown styled. A table wider than the screen is left as written. Pure.
 * @module
 */
import { renderInline } from './inline.js';
import { sgr } from './style.js';
import { stripAnsi, textWidth } from './terminal.js';

type Align = 'left' | 'center' | 'right';

/**
 * Could this line belong to a table? (A row starts with `|`, after up to 3 spaces.)
 * @example
 * isTableRow('| a | b |') // true
 */
export function isTableRow(line: string): boolean {
  return /^\s{0,3}\|/.test(line);
}

/**
 * `lines` as an aligned table, one string per screen line; undefined when they are not a
 * table (no delimiter row second) or the table is wider than `columns`.
 * @example
 * renderTable(['| a | b |', '|---|--:|', '| 1 | 22 |'], 80)
 * // ['a │  b', '──┼───', '1 │ 22'] (styled)
 */
export function renderTable(lines: readonly string[], columns: number): string[] | undefined {
  const [head, delimiter, ...body] = lines.map(cells);
  if (!head || !delimiter || delimiter.length !== head.length) return undefined;
  if (!delimiter.every((d) => /^:?-+:?$/.test(d))) return undefined;
  const aligns: Align[] = delimiter.map((d) =>
    d.startsWith(':') && d.endsWith(':') ? 'center' : d.endsWith(':') ? 'right' : 'left',
  );
  const n = head.length;
  // GFM: a row with too few cells is padded, one with too many is cut.
  const rows = [head, ...body].map((r) => Array.from({ length: n }, (_, i) => renderInline(r[i] ?? '')));
  const widths = aligns.map((_, i) => Math.max(1, ...rows.map((r) => textWidth(stripAnsi(r[i] ?? '')))));
  if (widths.reduce((a, b) => a + b, 0) + 3 * (n - 1) > columns) return undefined;
  const separator = ` ${sgr.dim('│')} `;
  const line = (r: string[], style: (s: string) => string = (s) => s) =>
    r
      .map((cell, i) => pad(style(cell), widths[i] ?? 0, aligns[i] ?? 'left'))
      .join(separator)
      .trimEnd();
  const [first, ...rest] = rows;
  return [
    line(first ?? [], (s) => (s === '' ? s : sgr.bold(s))),
    sgr.dim(widths.map((w) => '─'.repeat(w)).join('─┼─')),
    ...rest.map((r) => line(r)),
  ];
}

// --- internal ---

/** The cells of a row: split on `|` not escaped with `\`, outer pipes dropped, trimmed. */
function cells(row: string): string[] {
  let text = row.trim();
  if (text.startsWith('|')) text = text.slice(1);
  if (text.endsWith('|') && !text.endsWith('\\|')) text = text.slice(0, -1);
  const out: string[] = [];
  let cell = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && text[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (ch === '|') {
      out.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  out.push(cell.trim());
  return out;
}

function pad(styled: string, width: number, align: Align): string {
  const space = Math.max(0, width - textWidth(stripAnsi(styled)));
  if (align === 'right') return ' '.repeat(space) + styled;
  if (align === 'center') return ' '.repeat(Math.floor(space / 2)) + styled + ' '.repeat(Math.ceil(space / 2));
  return styled + ' '.repeat(space);
}
