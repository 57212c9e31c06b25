/**
 * Markdown for the terminal, one complete line at a time: headings, lists, quotes, rules,
 * tables, emphasis, inline code, links and fenced code blocks (highlighted). The renderer
 * keeps only the state that crosses lines (inside a fence or not), so a stream can be
 * rendered as its lines complete. Pure.
 * @module
 */
import { highlightLine } from './highlight.js';
import { BASE, RESET, sgr } from './style.js';

export interface MarkdownLines {
  /** Styles one complete line (without its newline). */
  line(text: string): string;
  /** Forgets the fence state (a new answer starts). */
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

  return {
    line(text) {
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
    reset() {
      fence = undefined;
    },
  };
}

/**
 * Inline Markdown: `code`, **bold**, *italic*, ~~strike~~, [links](url), <autolinks>,
 * backslash escapes. `base` is re-applied after each inner style closes.
 * @example
 * renderInline('a **b** `c`') // 'a \x1b[1mb\x1b[22m \x1b[36mc\x1b[39m'
 */
export function renderInline(text: string, base = ''): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < n && /[\\`*_{}[\]()#+\-.!~|<>]/.test(text[i + 1] as string)) {
      out += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === '`') {
      const run = /^`+/.exec(text.slice(i))?.[0] ?? '`';
      const end = findRun(text, run, i + run.length);
      if (end >= 0) {
        let code = text.slice(i + run.length, end);
        if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
        out += sgr.cyan(code, base);
        i = end + run.length;
        continue;
      }
      out += run;
      i += run.length;
      continue;
    }
    if ((ch === '*' || ch === '_' || ch === '~') && text[i + 1] === ch) {
      const delim = ch + ch;
      const end = findClosing(text, delim, i + 2);
      if (end > i + 2 && !/\s/.test(text[i + 2] as string)) {
        const inner = renderInline(text.slice(i + 2, end), base);
        out += ch === '~' ? sgr.strike(inner, base) : sgr.bold(inner, base);
        i = end + 2;
        continue;
      }
    }
    if ((ch === '*' || ch === '_') && text[i + 1] !== ch && i + 1 < n && !/\s/.test(text[i + 1] as string)) {
      // `_` only at word boundaries: snake_case_names stay as they are.
      const leftOk = ch === '*' || i === 0 || !/[\p{L}\p{N}]/u.test(text[i - 1] as string);
      const end = leftOk ? findClosing(text, ch, i + 1) : -1;
      if (end > i + 1 && (ch === '*' || end + 1 >= n || !/[\p{L}\p{N}]/u.test(text[end + 1] as string))) {
        out += sgr.italic(renderInline(text.slice(i + 1, end), base), base);
        i = end + 1;
        continue;
      }
    }
    if (ch === '[') {
      const m = /^\[([^\]\n]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/.exec(text.slice(i));
      if (m?.[1] && m[2]) {
        const label = renderInline(m[1], base);
        out += sgr.underline(sgr.blue(label, base), base) + (m[2] === m[1] ? '' : sgr.dim(` (${m[2]})`, base));
        i += m[0].length;
        continue;
      }
    }
    if (ch === '<') {
      const m = /^<(https?:\/\/[^>\s]+)>/.exec(text.slice(i));
      if (m?.[1]) {
        out += sgr.underline(sgr.blue(m[1], base), base);
        i += m[0].length;
        continue;
      }
    }
    out += ch;
    i++;
  }
  return out;
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

/** Index of the next exact backtick run `run` (not longer), or -1. */
function findRun(text: string, run: string, from: number): number {
  let i = text.indexOf(run, from);
  while (i >= 0) {
    const before = text[i - 1] === '`';
    const after = text[i + run.length] === '`';
    if (!before && !after) return i;
    i = text.indexOf(run, i + 1);
  }
  return -1;
}

/** Index of a closing delimiter not preceded by whitespace, or -1. */
function findClosing(text: string, delim: string, from: number): number {
  let i = text.indexOf(delim, from);
  while (i >= 0) {
    if (!/\s/.test(text[i - 1] as string) && text[i - 1] !== '\\') return i;
    i = text.indexOf(delim, i + 1);
  }
  return -1;
}
