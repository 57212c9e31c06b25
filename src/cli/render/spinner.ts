/**
 * A spinner on stderr while waiting for the first token. It draws at the cursor and moves
 * back over itself, so it works mid-line (after an echoed prompt) and leaves no trace when
 * stopped. Only for terminals; the caller decides.
 * @module
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Spinner {
  /** Erases the spinner; safe to call more than once. */
  stop(): void;
}

/**
 * Starts drawing `label` with a spinner frame every `intervalMs` (after `delayMs`, so
 * fast answers never show it).
 * @example
 * const s = startSpinner((t) => process.stderr.write(t), 'waiting'); ...; s.stop();
 */
export function startSpinner(
  write: (text: string) => void,
  label: string,
  { intervalMs = 80, delayMs = 120 }: { intervalMs?: number; delayMs?: number } = {},
): Spinner {
  let frame = 0;
  let drawn = 0; // columns currently drawn
  let interval: ReturnType<typeof setInterval> | undefined;
  const draw = () => {
    const text = `${FRAMES[frame++ % FRAMES.length]} ${label}`;
    // Erase to end of line, draw, then move the cursor back to where it was.
    write(`\u001b[K${text}\u001b[${text.length}D`);
    drawn = text.length;
  };
  const delay = setTimeout(() => {
    draw();
    interval = setInterval(draw, intervalMs);
    interval.unref?.();
  }, delayMs);
  delay.unref?.();
  return {
    stop() {
      clearTimeout(delay);
      if (interval) clearInterval(interval);
      interval = undefined;
      if (drawn > 0) write('\u001b[K');
      drawn = 0;
    },
  };
}
