/**
 * A node:http message keeps its head (`_header`: the status or request line and every header
 * line) as long as it lives, which for a stream is the stream's whole life, as the string its
 * header loop built with `+=`: a tree of about five string pieces per header, which the
 * collector walks on every scavenge. Reading the head with a regular expression makes V8
 * flatten that tree in place into one string. Measured with 64 gateway streams open: about
 * 1.5 KB less held per stream for the answer's head and the upstream request's together
 * (docs/gateway.md, Round 13). Nothing is changed or sent: only how the same text is stored.
 * @module
 */
import type { OutgoingMessage } from 'node:http';

/** Any pattern flattens its subject before matching; this one then matches at once. */
const FLATTENS = /^/;

/**
 * Flattens the head `message` keeps, once written (`writeHead`, or a request's `end`).
 *
 * @example
 * res.writeHead(200, headers);
 * flattenHead(res);
 */
export function flattenHead(message: OutgoingMessage): void {
  const head: unknown = (message as OutgoingMessage & { _header?: unknown })._header;
  if (typeof head === 'string') FLATTENS.test(head);
}
