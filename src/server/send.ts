/**
 * JSON answers: a document with its content-length, and an error reply with its headers.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { ErrorReply } from './error-replies.js';

/** Sends an error answer (JSON, with its extra headers). */
export function sendReply(res: ServerResponse, reply: ErrorReply): void {
  sendJson(res, reply.status, reply.body, reply.headers);
}

/** Sends a JSON document with a content-length. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const json = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}
