/**
 * Inline Markdown for the terminal: `code`, **bold**, *italic*, ~~strike~~, links,
 * autolinks and backslash escapes, within one line. Pure.
 * @module
 */
import { sgr } from './style.js';

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
