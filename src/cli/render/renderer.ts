/**
 * Text renderers: streamed text in, bytes for stdout out (pure; the caller writes them).
 *
 * - raw: the exact text (on a terminal, control characters dropped).
 * - live: for a terminal. The unfinished line is printed plainly as it grows; when it
 *   completes, and only if styling changes it, that one line is rewritten in place (cursor
 *   up over its wrapped rows, erase, styled text) inside a synchronized-update bracket.
 *   Complete lines are never touched again, except table rows: shown plainly until the
 *   table ends, then rewritten together, aligned. Nothing flickers or scrolls back.
 * - lines: for FORCE_COLOR into a pipe. Each line is written once, styled, when complete.
 * @module
 */
import { createMarkdownLines } from './markdown.js';
import { charWidth, type RenderMode, stripControls } from './terminal.js';

export interface TextRenderer {
  /** Bytes to write for this piece of text. */
  push(text: string): string;
  /** Bytes that finish the output (on a terminal: the last line, then a newline if needed). */
  end(): string;
}

export interface RendererOptions {
  /** Is stdout a terminal (drop control characters, end with a newline)? */
  tty: boolean;
  columns?: () => number;
  rows?: () => number;
  /** Columns per tab stop in live mode (tabs become spaces so widths are exact). Default 4. */
  tabWidth?: number;
}

/**
 * @example
 * const r = createRenderer('raw', { tty: false });
 * r.push('Hello') + r.end() // 'Hello'
 */
export function createRenderer(mode: RenderMode, options: RendererOptions): TextRenderer {
  if (mode === 'live') return createLiveRenderer(options);
  if (mode === 'lines') return createLinesRenderer(options);
  return createRawRenderer(options.tty);
}

// Begin/end synchronized update (DEC mode 2026): the terminal paints the rewrite at once.
// Terminals that do not know the mode ignore it.
const SYNC_BEGIN = '\u001b[?2026h';
const SYNC_END = '\u001b[?2026l';

// --- internal ---

function createRawRenderer(tty: boolean): TextRenderer {
  let last = '';
  let started = false;
  return {
    push(text) {
      const out = tty ? stripControls(text) : text;
      if (out !== '') {
        last = out;
        started = true;
      }
      return out;
    },
    end() {
      // A terminal's prompt must not be glued to the answer; a pipe gets exact bytes.
      const out = tty && started && !last.endsWith('\n') ? '\n' : '';
      last = '';
      started = false;
      return out;
    },
  };
}

function createLinesRenderer(options: RendererOptions): TextRenderer {
  const md = createMarkdownLines({ columns: options.columns });
  let partial = '';
  /** Table rows held back, now rendered, each line ended. */
  const heldBlock = () => {
    const block = md.held();
    return block === undefined ? '' : `${block.text}\n`;
  };
  return {
    push(text) {
      const clean = stripControls(text);
      if (clean === '') return '';
      let out = '';
      let start = 0;
      for (let nl = clean.indexOf('\n'); nl >= 0; nl = clean.indexOf('\n', start)) {
        const styled = md.line(partial + clean.slice(start, nl));
        if (styled !== undefined) out += `${heldBlock()}${styled}\n`;
        partial = '';
        start = nl + 1;
      }
      partial += clean.slice(start);
      return out;
    },
    end() {
      const last = partial === '' ? undefined : md.line(partial);
      const before = last === undefined ? '' : heldBlock();
      md.reset();
      const block = md.held();
      // Held rows at the end: the last one ended the text, without a newline when it had none.
      const after = block === undefined ? '' : `${block.text}${partial === '' ? '\n' : ''}`;
      partial = '';
      return `${before}${last ?? ''}${after}`;
    },
  };
}

function createLiveRenderer(options: RendererOptions): TextRenderer {
  const columns = () => Math.max(1, options.columns?.() || 80);
  const rows = () => Math.max(1, options.rows?.() || 24);
  const tabWidth = options.tabWidth ?? 4;
  const md = createMarkdownLines({ columns });
  // The unfinished line, as displayed (tabs expanded), and where the cursor is within it.
  let partial = '';
  let lineWidth = 0; // display columns of `partial`
  let row = 0; // terminal rows below the line's first row
  let col = 0; // cursor column in the current row
  let simColumns = 0;
  let started = false;
  let atLineStart = true;
  /** Screen rows taken by complete lines held back as table rows (shown plainly so far). */
  let heldRows = 0;

  /** Expands tabs and advances the cursor model over `text`. */
  function advance(text: string): string {
    let shown = '';
    for (const ch of text) {
      if (ch === '\t') {
        const spaces = tabWidth - (lineWidth % tabWidth);
        shown += ' '.repeat(spaces);
        for (let s = 0; s < spaces; s++) step(1);
        continue;
      }
      shown += ch;
      step(charWidth(ch.codePointAt(0) ?? 0));
    }
    return shown;
  }

  function step(w: number): void {
    if (w === 0) return;
    lineWidth += w;
    // Terminals defer the wrap: the cursor stays on the last column until the next character.
    if (col + w > simColumns) {
      row++;
      col = w;
    } else {
      col += w;
    }
  }

  /** Re-measures the partial line when the terminal was resized. */
  function syncColumns(): void {
    const c = columns();
    if (c === simColumns) return;
    simColumns = c;
    const text = partial;
    partial = '';
    lineWidth = 0;
    row = 0;
    col = 0;
    partial = advance(text);
  }

  /**
   * Finishes the current line through the Markdown renderer: a held table row stays as
   * shown; a line after held rows rewrites them (the aligned table) together with itself.
   */
  function completeLine(): string {
    const styled = md.line(partial);
    if (styled === undefined) {
      heldRows += row + 1;
      return finishLine(partial);
    }
    const block = md.held();
    if (block === undefined) return finishLine(styled);
    const up = heldRows + row;
    heldRows = 0;
    // Taller than the screen: the table's start is out of reach; it stays as written.
    if (up >= rows() - 1) return finishLine(styled);
    const out = `${SYNC_BEGIN}${up > 0 ? `\u001b[${up}A` : ''}\r\u001b[J${block.text}\n${styled}\n${SYNC_END}`;
    finishLine(partial);
    return out;
  }

  /** Rewrites the rows held at the end of the answer (the cursor is at a line start). */
  function releaseHeld(): string {
    md.reset();
    const block = md.held();
    const up = heldRows;
    heldRows = 0;
    if (block === undefined || up >= rows() - 1) return '';
    return `${SYNC_BEGIN}${up > 0 ? `\u001b[${up}A` : ''}\r\u001b[J${block.text}\n${SYNC_END}`;
  }

  /** Finishes the current line; `styled` replaces it when different from the plain text. */
  function finishLine(styled: string): string {
    let out: string;
    if (styled === partial || partial === '') {
      out = partial === '' ? `${styled}\n` : '\n';
    } else if (row >= rows() - 1) {
      // Taller than the screen: the cursor cannot reach its start; keep it plain.
      out = '\n';
    } else {
      out = `${SYNC_BEGIN}${row > 0 ? `\u001b[${row}A` : ''}\r\u001b[J${styled}\n${SYNC_END}`;
    }
    partial = '';
    lineWidth = 0;
    row = 0;
    col = 0;
    atLineStart = true;
    return out;
  }

  return {
    push(text) {
      const clean = stripControls(text);
      if (clean === '') return '';
      started = true;
      syncColumns();
      let out = '';
      let start = 0;
      for (let nl = clean.indexOf('\n'); nl >= 0; nl = clean.indexOf('\n', start)) {
        out += advanceAndShow(clean.slice(start, nl));
        out += completeLine();
        start = nl + 1;
      }
      out += advanceAndShow(clean.slice(start));
      return out;
    },
    end() {
      let out = '';
      if (partial !== '') out = completeLine();
      else if (started && !atLineStart) out = '\n';
      out += releaseHeld();
      started = false;
      atLineStart = true;
      return out;
    },
  };

  function advanceAndShow(piece: string): string {
    if (piece === '') return '';
    const shown = advance(piece);
    partial += shown;
    atLineStart = false;
    return shown;
  }
}
