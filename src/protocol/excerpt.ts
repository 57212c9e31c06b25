/**
 * Short, secret-free excerpts of payloads for error messages.
 * @module
 */

/** Default excerpt length, in characters. */
export const EXCERPT_LENGTH = 160;

/**
 * A one-line excerpt of `text`: whitespace collapsed, secrets redacted, cut at `max`
 * characters with the full length noted, so an error never carries a whole payload.
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

/**
 * Replaces things that look like credentials (`api-key: …`, `key=…`, `Bearer …`, SAS `sig=…`)
 * with `[redacted]`. A safety net: Azure's own messages carry no keys, but gateways and
 * proxies sometimes echo headers or URLs back.
 *
 * @example
 * redactSecrets('bad url ?api-key=abc123&x=1'); // -> 'bad url ?api-key=[redacted]&x=1'
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]')
    .replace(
      /\b(api[-_]?key|subscription[-_]?key|ocp-apim-subscription-key|access[-_]?token|token|key|secret|password|sig|authorization)(["']?\s*[:=]\s*["']?)(?!\[redacted\]|(?:Bearer|Basic)\s)[^\s"'&,;]+/gi,
      '$1$2[redacted]',
    );
}
