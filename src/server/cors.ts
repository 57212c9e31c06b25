/**
 * CORS for browser clients (the web UI, or any page calling the API with a key header).
 * Keys travel in headers, never cookies, so no credentials mode is needed and `*` is safe
 * by default. The retry and request-id headers are exposed so a page can read them.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsOptions {
  /** `access-control-allow-origin`; default `*`. */
  origin?: string;
  /** Preflight cache lifetime in seconds; default 600. */
  maxAgeSeconds?: number;
}

export const EXPOSED_HEADERS = 'retry-after, retry-after-ms, x-request-id, apim-request-id, x-ms-region';
const ALLOWED_HEADERS = 'api-key, authorization, content-type, x-ms-client-request-id';

/** Sets the headers every response carries. */
export function applyCors(res: ServerResponse, options: CorsOptions): void {
  res.setHeader('access-control-allow-origin', options.origin ?? '*');
  res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  if (options.origin !== undefined && options.origin !== '*') res.setHeader('vary', 'origin');
}

/** Answers a preflight (`OPTIONS`) with 204. Requested headers are allowed as asked (SDKs send many `x-stainless-*`). */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, options: CorsOptions): void {
  const asked = req.headers['access-control-request-headers'];
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, HEAD, POST, OPTIONS',
    'access-control-allow-headers': typeof asked === 'string' && asked !== '' ? asked : ALLOWED_HEADERS,
    'access-control-max-age': String(options.maxAgeSeconds ?? 600),
    'content-length': '0',
  });
  res.end();
}
