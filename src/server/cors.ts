/**
 * Which web pages may drive this server, and the headers that tell browsers so. By default
 * only the page's own origin (the server's web chat) and pages served from loopback
 * (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`) may: a keyless server must not
 * be usable by any site the user happens to visit. `--cors-origin` adds origins, or `*` for
 * all. On loopback binds the `Host` header is checked too, so a DNS-rebinding page (whose
 * requests are same-origin to a hostile name) is refused.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeHead } from './send.js';

export interface CorsOptions {
  /**
   * Origins allowed besides the same origin and loopback pages, e.g. `https://app.example`;
   * `'*'` allows every origin (and answers `access-control-allow-origin: *`).
   */
  origins?: readonly string[] | '*';
  /** Preflight cache lifetime in seconds; default 600. */
  maxAgeSeconds?: number;
}

export const EXPOSED_HEADERS =
  'retry-after, retry-after-ms, x-request-id, apim-request-id, x-ms-region, server-timing, x-sluice-target, x-sluice-stream-id';
const ALLOWED_HEADERS = 'api-key, authorization, content-type, x-ms-client-request-id, last-event-id';
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * True when a page on `origin` may call this server: `*`, a listed origin, the server's own
 * origin (the `Host` it was reached by), or a loopback page.
 *
 * @example
 * originAllowed('http://localhost:5173', '127.0.0.1:8080', {}); // true
 * originAllowed('https://evil.example', '127.0.0.1:8080', {}); // false
 */
export function originAllowed(origin: string, host: string | undefined, options: CorsOptions): boolean {
  if (options.origins === '*') return true;
  const normalized = origin.toLowerCase();
  if (options.origins?.some((o) => o.toLowerCase() === normalized)) return true;
  if (
    host !== undefined &&
    (normalized === `http://${host.toLowerCase()}` || normalized === `https://${host.toLowerCase()}`)
  ) {
    return true;
  }
  const m = /^https?:\/\/(\[[^\]]*\]|[^:/]+)(:\d+)?$/.exec(normalized);
  return m?.[1] !== undefined && LOOPBACK_HOSTS.has(m[1]);
}

/**
 * The host name of a `Host` header (`[::1]:8080` -> `[::1]`, `Example.com:80` -> `example.com`).
 *
 * @example
 * hostName('127.0.0.1:8080'); // '127.0.0.1'
 */
export function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) {
    const close = lower.indexOf(']');
    return close === -1 ? lower : lower.slice(0, close + 1);
  }
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}

/**
 * The host names a server bound to `address` answers to, or undefined (any) when the
 * address is not loopback: a loopback server is only reachable from this machine, so any
 * other name in `Host` means a page rebound a hostile name to 127.0.0.1.
 *
 * @example
 * loopbackHostNames('127.0.0.1'); // ['localhost', '127.0.0.1', '[::1]']
 * loopbackHostNames('0.0.0.0'); // undefined
 */
export function loopbackHostNames(address: string): string[] | undefined {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback = bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
  if (!loopback) return undefined;
  const shown = bare.includes(':') ? `[${bare}]` : bare;
  return [...new Set([...LOOPBACK_HOSTS, shown])];
}

/** What every answer carries when every origin may call. */
const ANY_ORIGIN = Object.freeze({
  'access-control-allow-origin': '*',
  'access-control-expose-headers': EXPOSED_HEADERS,
});
/** What every answer to a request from no allowed origin carries: it would differ for another origin. */
const VARY_ORIGIN = Object.freeze({ vary: 'origin' });

/**
 * The CORS headers every answer to `req` carries (for `tagRequest`, send.ts): the allowed
 * origin and the headers a page may read, or only `vary: origin` for a request from no
 * allowed origin (none, on a server's own API clients).
 *
 * @example
 * corsHeaders(req, {}); // { vary: 'origin' } for a request without an Origin
 */
export function corsHeaders(req: IncomingMessage, options: CorsOptions): Readonly<Record<string, string>> {
  if (options.origins === '*') return ANY_ORIGIN;
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || !originAllowed(origin, req.headers.host, options)) return VARY_ORIGIN;
  return {
    vary: 'origin',
    'access-control-allow-origin': origin,
    'access-control-expose-headers': EXPOSED_HEADERS,
  };
}

/** Answers a preflight (`OPTIONS`) with 204. Requested headers are allowed as asked (SDKs send many `x-stainless-*`). */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, options: CorsOptions): void {
  const asked = req.headers['access-control-request-headers'];
  writeHead(res, 204, {
    'access-control-allow-methods': 'GET, HEAD, POST, OPTIONS',
    'access-control-allow-headers': typeof asked === 'string' && asked !== '' ? asked : ALLOWED_HEADERS,
    'access-control-max-age': String(options.maxAgeSeconds ?? 600),
    'content-length': '0',
  });
  res.end();
}
