/**
 * Terminal facts: how wide a character is, which control characters must not reach the
 * screen, and whether to style output at all. Pure.
 * @module
 */

/** How text reaches stdout. */
export type RenderMode =
  /** Exact bytes (piped output, `--raw`, `NO_COLOR`); on a terminal, control characters are dropped. */
  | 'raw'
  /** Terminal: Markdown styled progressively, only the current line ever rewritten. */
  | 'live'
  /** `FORCE_COLOR` into a pipe: each line styled once complete (no cursor movement). */
  | 'lines';

export interface ModeInput {
  raw: boolean;
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * `--raw` wins; then NO_COLOR (any non-empty value) and FORCE_COLOR=0/false turn styling off;
 * another FORCE_COLOR value turns it on even in a pipe; TERM=dumb is plain; else a terminal
 * is styled and a pipe is not.
 * @example
 * chooseRenderMode({ raw: false, isTTY: true, env: { NO_COLOR: '1' } }) // 'raw'
 */
export function chooseRenderMode({ raw, isTTY, env }: ModeInput): RenderMode {
  if (raw) return 'raw';
  if (env.NO_COLOR) return 'raw';
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') {
    if (force === '0' || force.toLowerCase() === 'false') return 'raw';
    return isTTY ? 'live' : 'lines';
  }
  if (!isTTY || env.TERM === 'dumb') return 'raw';
  return 'live';
}

// C0 controls except TAB and LF, DEL, and C1 controls: a model's answer must not move the
// cursor, change the title or switch the character set of the user's terminal.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

/**
 * Drops control characters (ESC, CR, BEL, C1...) but keeps newline and tab.
 * @example
 * stripControls('a\u001b[2Jb\r\n') // 'a[2Jb\n'
 */
export function stripControls(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, '') : text;
}

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const WIDE = /^[\p{Emoji_Presentation}]$/u;

/**
 * Columns one code point takes on a terminal: 0 (combining marks, ZWJ, variation
 * selectors), 2 (East Asian wide/fullwidth, emoji presentation) or 1.
 * @example
 * charWidth('漢'.codePointAt(0)!) // 2
 */
export function charWidth(cp: number): 0 | 1 | 2 {
  if (cp < 0x300) return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ? 0 : 1;
  const ch = String.fromCodePoint(cp);
  if (ZERO_WIDTH.test(ch)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return WIDE.test(ch) ? 2 : 1;
}

/**
 * Display width of text without escape sequences.
 * @example
 * textWidth('a漢b') // 4
 */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch.codePointAt(0) ?? 0);
  return w;
}

/** Removes SGR and other CSI sequences (for measuring styled text). */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
}
