/**
 * Serves the built chat page (dist/web/public, made by scripts/build-web.mjs) from Sluice's
 * server: `/` and `/index.html` (no-cache), `/assets/*` (content-hashed names: cached for a
 * year, immutable), `/favicon.svg` and `/licenses.txt` (revalidated daily). Every answer
 * carries a strict Content-Security-Policy and the usual hardening headers.
 *
 * Files are read once, at creation, with their build-time .br / .gz siblings: a request costs
 * a map lookup and one write. Only files found in the folder are served; a path is never
 * joined onto the file system, so `..` tricks have nothing to reach.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The page's policy: its own script and style only (no inline code, no eval), no remote
 * loads of any kind, API calls to its own origin only, no plugins, no <base>, no framing.
 * HTML can reach the DOM only through DOMPurify's Trusted Types policy.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types dompurify',
].join('; ');

/** Headers on every static answer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
export const CACHE_REVALIDATE = 'no-cache';
export const CACHE_DAY = 'public, max-age=86400';

export interface StaticHandlerOptions {
  /**
   * The built page. Default: `dist/web/public` in the package (where `npm run build` puts
   * it), found relative to this module whether it runs from src/ or dist/.
   */
  dir?: string | URL;
}

interface Asset {
  body: Buffer;
  br?: Buffer;
  gzip?: Buffer;
  type: string;
  cache: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** The default build folder: <package>/dist/web/public (this file is src/web/ or dist/web/). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../dist/web/public/', import.meta.url));

/**
 * Creates the handler the server calls for GET/HEAD requests no API route matched.
 *
 * @example
 * ```ts
 * import { createServer } from 'sluice/server';
 * import { createStaticHandler } from './web/serve-static.js';
 * const server = createServer({ backend, staticHandler: createStaticHandler() });
 * await server.listen(8080);  // http://127.0.0.1:8080/ is the chat page
 * ```
 */
export function createStaticHandler(
  options: StaticHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const dir = options.dir === undefined ? DEFAULT_WEB_DIR : toPath(options.dir);
  const assets = loadAssets(dir);
  const index = assets.get('/index.html');

  return (req, res) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    if (path === '/') path = '/index.html';
    const asset = assets.get(path);
    if (!asset) {
      if (path !== '/index.html' || index) return false;
      // The server runs from source without a build: say how to fix it instead of a bare 404.
      sendText(res, 503, 'The Sluice web UI is not built. Run `npm run build`, then reload.\n', method);
      return true;
    }
    send(req, res, asset, method);
    return true;
  };
}

// --- internal ---

function send(req: IncomingMessage, res: ServerResponse, asset: Asset, method: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  res.setHeader('cache-control', asset.cache);
  res.setHeader('etag', asset.etag);
  res.setHeader('vary', 'accept-encoding');
  if (etagMatches(req.headers['if-none-match'], asset.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  const accepted = req.headers['accept-encoding'] ?? '';
  let body = asset.body;
  if (asset.br && accepts(accepted, 'br')) {
    body = asset.br;
    res.setHeader('content-encoding', 'br');
  } else if (asset.gzip && accepts(accepted, 'gzip')) {
    body = asset.gzip;
    res.setHeader('content-encoding', 'gzip');
  }
  res.statusCode = 200;
  res.setHeader('content-type', asset.type);
  res.setHeader('content-length', body.length);
  res.end(method === 'HEAD' ? undefined : body);
}

function sendText(res: ServerResponse, status: number, text: string, method: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(method === 'HEAD' ? undefined : text);
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  for (const file of walk(dir)) {
    if (file.endsWith('.br') || file.endsWith('.gz')) continue;
    const rel = relative(dir, file).split(sep).join('/');
    const body = readFileSync(file);
    const asset: Asset = {
      body,
      type: TYPES[extname(file)] ?? 'application/octet-stream',
      // Names under assets/ carry a content hash: they never change, so they never need revalidating.
      cache: rel.startsWith('assets/') ? CACHE_IMMUTABLE : rel === 'index.html' ? CACHE_REVALIDATE : CACHE_DAY,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    };
    if (existsSync(`${file}.br`)) asset.br = readFileSync(`${file}.br`);
    if (existsSync(`${file}.gz`)) asset.gzip = readFileSync(`${file}.gz`);
    assets.set(`/${rel}`, asset);
  }
  return assets;
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

/** True when `header` accepts `coding` (`gzip;q=0` refuses it). */
function accepts(header: string | string[], coding: string): boolean {
  const value = Array.isArray(header) ? header.join(',') : header;
  for (const part of value.split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (name?.trim().toLowerCase() !== coding) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

function toPath(dir: string | URL): string {
  return dir instanceof URL ? fileURLToPath(dir) : dir;
}
