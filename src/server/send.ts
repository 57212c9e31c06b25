/**
 * Every answer's head, and JSON answers. A head is written in one `writeHead` with the
 * request's ids and CORS headers in it: headers set with `setHeader` before `writeHead` make
 * Node keep each of them as a record beside the header string for as long as the answer is
 * open, about 1 KB per open stream that the collector marks and copies (docs/gateway.md,
 * Round 13). The head is then held flat (util/flatten-head.ts).
 * @module
 */
import type { ServerResponse } from 'node:http';
import { flattenHead } from '../util/flatten-head.js';
import type { ErrorReply } from './error-replies.js';

/** Where `tagRequest` keeps what every head of the answer carries (symbols: no clash with Node's own fields). */
const REQUEST_ID = Symbol('sluice.requestId');
const EXTRA_HEADERS = Symbol('sluice.extraHeaders');

type Tagged = ServerResponse & {
  [REQUEST_ID]?: string;
  [EXTRA_HEADERS]?: Readonly<Record<string, string>> | undefined;
};

/**
 * Names the request an answer belongs to, and the headers its head carries whatever the
 * answer (CORS): `writeHead` adds them, with `x-request-id` and Azure's `apim-request-id`.
 *
 * @example
 * tagRequest(res, randomUUID(), { vary: 'origin' });
 * writeHead(res, 204, { 'content-length': '0' }); // with vary, x-request-id, apim-request-id
 */
export function tagRequest(
  res: ServerResponse,
  requestId: string,
  extra?: Readonly<Record<string, string>> | undefined,
): void {
  const tagged = res as Tagged;
  tagged[REQUEST_ID] = requestId;
  tagged[EXTRA_HEADERS] = extra;
}

/**
 * Sets what `tagRequest` named with `setHeader`, for an answer whose head someone else
 * writes (the web page's static handler).
 *
 * @example
 * setTaggedHeaders(res);
 * await staticHandler(req, res);
 */
export function setTaggedHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(withTagged(res, {}))) res.setHeader(name, value);
}

/**
 * Writes the head of `res`: `status`, `headers` (a fresh object, which gains the rest) and
 * what `tagRequest` named.
 *
 * @example
 * writeHead(res, 200, { 'content-type': 'text/plain' });
 * res.end('ok');
 */
export function writeHead(res: ServerResponse, status: number, headers: Record<string, string | number>): void {
  if (Object.isFrozen(headers)) headers = { ...headers }; // a shared constant is not ours to add to
  res.writeHead(status, withTagged(res, headers));
  flattenHead(res);
}

/** `headers` with what `tagRequest` named for `res` added. */
function withTagged(res: ServerResponse, headers: Record<string, string | number>): Record<string, string | number> {
  const tagged = res as Tagged;
  const id = tagged[REQUEST_ID];
  if (id !== undefined) {
    headers['x-request-id'] = id;
    headers['apim-request-id'] = id;
  }
  const extra = tagged[EXTRA_HEADERS];
  if (extra !== undefined) Object.assign(headers, extra);
  return headers;
}

/** Sends an error answer (JSON, with its extra headers). */
export function sendReply(res: ServerResponse, reply: ErrorReply): void {
  sendJson(res, reply.status, reply.body, reply.headers);
}

/** Sends a JSON document with a content-length. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const json = JSON.stringify(value);
  writeHead(res, status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}
