/**
 * `-n N` answered with fewer choices than asked: the answer is not what was paid for, so it
 * is an error (exit 6, like any answer of the wrong shape), reported with the choices that
 * never came, while the ones that did stay on stdout.
 * @module
 */
import { ProtocolError } from '../errors.js';

export class MissingChoicesError extends ProtocolError {
  /** Choices asked for. */
  readonly asked: number;
  /** Indexes that never arrived, ascending. */
  readonly missing: readonly number[];
  constructor(asked: number, missing: readonly number[]) {
    super(
      'unexpected-shape',
      `Asked for ${asked} choices; the answer has ${asked - missing.length} (missing: ${missing.join(', ')})`,
    );
    this.asked = asked;
    this.missing = missing;
  }
}

/**
 * The error for an answer whose choice indexes `seen` lack some of 0..asked-1; undefined
 * when every choice arrived.
 * @example
 * missingChoices(2, new Set([0]))?.missing // [1]
 */
export function missingChoices(asked: number, seen: ReadonlySet<number>): MissingChoicesError | undefined {
  const missing: number[] = [];
  for (let i = 0; i < asked; i++) if (!seen.has(i)) missing.push(i);
  return missing.length > 0 ? new MissingChoicesError(asked, missing) : undefined;
}
