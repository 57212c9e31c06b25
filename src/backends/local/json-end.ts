/**
 * Finds where a streamed JSON object or array ends. node-llama-cpp's JSON grammars let the
 * model write newlines after the value instead of forcing it to stop, so generation stops
 * here, at the closing bracket, and what follows it is dropped.
 * @module
 */
import type { StopMatch } from './stop-matcher.js';

/**
 * @example
 * ```ts
 * const end = new JsonEnd();
 * end.push('{"a": "}"');   // { emit: '{"a": "}"', stopped: false }
 * end.push('}\n\n\n');     // { emit: '}', stopped: true }
 * ```
 */
export class JsonEnd {
  #depth = 0;
  #inString = false;
  #escaped = false;
  #started = false;
  #done = false;

  /** The part of `text` up to and including the value's last character; `stopped` once it is complete. */
  push(text: string): StopMatch {
    if (this.#done) return { emit: '', stopped: true };
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === '\\') this.#escaped = true;
        else if (c === '"') this.#inString = false;
        continue;
      }
      if (c === '"') this.#inString = true;
      else if (c === '{' || c === '[') {
        this.#depth++;
        this.#started = true;
      } else if ((c === '}' || c === ']') && this.#started && --this.#depth === 0) {
        this.#done = true;
        return { emit: text.slice(0, i + 1), stopped: true };
      }
    }
    return { emit: text, stopped: false };
  }
}
