/**
 * Markdown for the terminal, one complete line at a time: headings, lists, quotes, rules,
 * emphasis, inline code, links and fenced code blocks (highlighted). The renderer keeps
 * only the state that crosses lines (inside a fence or not, table rows so far), so a stream
 * can be rendered as its lines complete. Table rows are held back until the table ends,
 * since every row's alignment depends on the widest cell: the caller shows them plainly
 * meanwhile and then puts the aligned table (`held()`) in their place. Pure.
 * @module
 */
import { highlightLine } from './highlight.js';
import { renderInline } from './inline.js';
import { BASE, RESET, sgr } from './style.js';
import { isTableRow, renderTable } from './table.js';

export interface MarkdownLines {
  /**
   * Styles one complete line (without its newline); undefined when the line is held back
   * as a possible table row.
   */
  line(text: string): string | undefined;
  /**
   * The lines held back before the last line styled (or before `reset`), rendered as a
   * block: `lines` source lines, shown as `text` (screen lines joined by newlines). Each
   * block is given once.
   */
  held(): { lines: number; text: string } | undefined;
  /** The answer is over: held lines become a block for `held()`, the fence state is forgotten. */
  reset(): void;
}

/**
 * @example
 * const md = createMarkdownLines();
 * md.line('# Title'); // bold magenta "Title"
 * md.line('```ts'); md.line('let x = 1'); // highlighted code
 */
export function createMarkdownLines(options: { columns?: () => number } = {}): MarkdownLines {
  let fence: { char: string; length: number; lang: string } | undefined;
  const columns = options.columns ?? (() => 80);
  let rows: string[] = [];
  let block: { lines: number; text: string } | undefined;
  /** Renders the held rows: aligned when they are a table that fits, else line by line. */
  const release = () => {
    if (rows.length === 0) return;
    const table = renderTable(rows, columns());
    const text = (table ?? rows.map((r) => renderBlockLine(r, columns()))).join('\n');
    block = { lines: rows.length, text };
    rows = [];
  };

  return {
    line(text) {
      if (!fence && isTableRow(text)) {
        rows.push(text);
        return undefined;
      }
      release();
      if (fence) {
        const close = /^\s{0,3}(`{3,}|~{3,})\s*$/.exec(text);
        if (close?.[1] && close[1][0] === fence.char && close[1].length >= fence.length) {
          fence = undefined;
          return sgr.dim(text);
        }
        return highlightLine(text, fence.lang);
      }
      const open = /^\s{0,3}(`{3,}|~{3,})\s*([^`\s]*)/.exec(text);
      if (open?.[1]) {
        fence = { char: open[1][0] ?? '`', length: open[1].length, lang: open[2] ?? '' };
        return sgr.dim(text);
      }
      return renderBlockLine(text, columns());
    },
    held() {
      const b = block;
      block = undefined;
      return b;
    },
    reset() {
      release();
      fence = undefined;
    },
  };
}

// --- internal ---

function renderBlockLine(text: string, columns: number): string {
  const heading = /^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+\s*)?$/.exec(text);
  if (heading?.[1] && heading[2] !== undefined) {
    const base = heading[1].length === 1 ? BASE.h1 : heading[1].length === 2 ? BASE.h2 : BASE.h3;
    return base + renderInline(heading[2], base) + RESET;
  }
  if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(text)) {
    return sgr.dim('─'.repeat(Math.max(3, Math.min(columns, 60))));
  }
  const quote = /^(\s{0,3})>\s?(.*)$/.exec(text);
  if (quote) {
    return `${quote[1]}${sgr.dim('│')} ${BASE.quote}${renderInline(quote[2] ?? '', BASE.quote)}${RESET}`;
  }
  const bullet = /^(\s*)([-*+])\s+(\[[ xX]\]\s+)?(.*)$/.exec(text);
  if (bullet) {
    const task = bullet[3] ? (/x/i.test(bullet[3]) ? `${sgr.green('☑')} ` : '☐ ') : '';
    return `${bullet[1]}${sgr.cyan('•')} ${task}${renderInline(bullet[4] ?? '')}`;
  }
  const ordered = /^(\s*)(\d{1,9}[.)])(\s+)(.*)$/.exec(text);
  if (ordered) {
    return `${ordered[1]}${sgr.cyan(ordered[2] ?? '')}${ordered[3]}${renderInline(ordered[4] ?? '')}`;
  }
  if (/^\s*\|.*\|\s*$/.test(text)) {
    if (/^\s*\|?[\s:|-]+\|?\s*$/.test(text)) return sgr.dim(text);
    return text
      .split('|')
      .map((cell) => renderInline(cell))
      .join(sgr.dim('|'));
  }
  return renderInline(text);
}
