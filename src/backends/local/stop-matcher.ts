/**
 * Finds stop sequences in streamed text without ever emitting any part of one: text that
 * could still become a stop sequence is held back until the next piece decides.
 * @module
 */

/** The text safe to emit now, and whether a stop sequence was completed. */
export interface StopMatch {
  emit: string;
  stopped: boolean;
}

/**
 * @example
 * ```ts
 * const m = new StopMatcher(['\nUser:']);
 * m.push('Hi\nUs');   // { emit: 'Hi', stopped: false } — '\nUs' is held back
 * m.push('er: more'); // { emit: '', stopped: true }
 * ```
 */
export class StopMatcher {
  readonly #stops: string[];
  #held = '';

  constructor(stops: readonly string[]) {
    // Empty stops would match everywhere; OpenAI ignores them too.
    this.#stops = stops.filter((s) => s.length > 0);
  }

  push(text: string): StopMatch {
    if (this.#stops.length === 0) return { emit: text, stopped: false };
    const held = this.#held + text;
    // The stop that completes first wins (ties: the longer one), as if text came one
    // character at a time: the result must not depend on how the text was split into tokens.
    let cut = -1;
    let cutEnd = Number.POSITIVE_INFINITY;
    for (const stop of this.#stops) {
      const at = held.indexOf(stop);
      if (at === -1) continue;
      const end = at + stop.length;
      if (end < cutEnd || (end === cutEnd && at < cut)) {
        cut = at;
        cutEnd = end;
      }
    }
    if (cut !== -1) {
      this.#held = '';
      return { emit: held.slice(0, cut), stopped: true };
    }
    const keep = this.#longestStopPrefixSuffix(held);
    this.#held = held.slice(held.length - keep);
    return { emit: held.slice(0, held.length - keep), stopped: false };
  }

  /** Text held back at the end of generation: it never became a stop sequence, so it is output. */
  flush(): string {
    const rest = this.#held;
    this.#held = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop sequence. */
  #longestStopPrefixSuffix(text: string): number {
    let best = 0;
    for (const stop of this.#stops) {
      for (let len = Math.min(stop.length - 1, text.length); len > best; len--) {
        if (text.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
