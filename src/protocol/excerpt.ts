/**
 * Short, secret-free excerpts of payloads for error messages.
 * @module
 */
import { redactSecrets } from './secrets.js';

/** Default excerpt length, in characters. */
export const EXCERPT_LENGTH = 160;

/**
 * A one-line excerpt of `text`: whitespace collapsed, secrets redacted (see `redactSecrets`),
 * cut at `max` characters with the full length noted, so an error never carries a whole payload.
 *
 * @example
 * excerpt('{"id": "x", ' + 'y'.repeat(500)); // -> '{"id": "x", yyy… (512 chars)'
 */
export function excerpt(text: string, max = EXCERPT_LENGTH): string {
  // Look only at a bounded prefix: the payload may be megabytes.
  const head = redactSecrets(
    text
      .slice(0, max * 4)
      .replace(/\s+/g, ' ')
      .trim(),
  );
  if (head.length <= max && text.length <= max * 4) return head;
  return `${head.slice(0, max)}… (${text.length} chars)`;
}
