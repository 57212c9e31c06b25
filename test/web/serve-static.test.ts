/**
 * The static handler behind the real server: what it serves, with which caching and security
 * headers, compression, conditional requests, and what it leaves to the server (404s, API).
 * Also checks the build itself: no inline code, every referenced asset exists, size budget.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { createServer } from '../../src/server/index.js';
import {
  CACHE_IMMUTABLE,
  CONTENT_SECURITY_POLICY,
  createStaticHandler,
  SECURITY_HEADERS,
} from '../../src/web/serve-static.js';
import { builtPage, startWebServer, type WebServer } from '../support/web.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw request (fetch would decompress and hide content-encoding). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

let web: WebServer;
let dir: string;
let html: string;
let js: string;
let css: string;

before(async () => {
  dir = await builtPage();
  web = await startWebServer({ backend: createScriptedBackend(textScript('chat', 'hi')) });
  html = readFileSync(join(dir, 'index.html'), 'utf8');
  js = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1] ?? '';
  css = /href="(\/assets\/app-[A-Z0-9]+\.css)"/.exec(html)?.[1] ?? '';
});
after(() => web?.close());

describe('the built page', () => {
  test('index.html references hashed assets and has no inline script, style or event handler', () => {
    assert.ok(js, 'a hashed script');
    assert.ok(css, 'a hashed stylesheet');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline <script>');
    assert.doesNotMatch(html, /<style/i, 'no <style>');
    assert.doesNotMatch(html, /\sstyle=/i, 'no style attributes');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/, 'no remote URL');
  });

  test('the bundle stays small', async () => {
    const script = readFileSync(join(dir, js));
    const gz = readFileSync(join(dir, `${js}.gz`));
    assert.deepEqual(gunzipSync(gz), script, 'the .gz sibling is the same file');
    // Budget: app + marked + DOMPurify + highlight.js core with a few languages.
    assert.ok(gz.length < 64 * 1024, `script is ${gz.length} bytes gzipped; budget 64 KiB`);
    assert.ok(readFileSync(join(dir, `${css}.gz`)).length < 8 * 1024, 'stylesheet under 8 KiB gzipped');
  });

  test('licences of the bundled libraries are shipped', () => {
    const text = readFileSync(join(dir, 'licenses.txt'), 'utf8');
    for (const name of ['marked', 'dompurify', 'highlight.js']) assert.match(text, new RegExp(`^${name} \\d`, 'm'));
  });
});

describe('createStaticHandler', () => {
  test('GET / answers the page with no-cache and the strict CSP', async () => {
    const res = await get(`${web.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers[name], value, name);
    assert.equal(res.body.toString('utf8'), html);
    const csp = CONTENT_SECURITY_POLICY;
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(csp.split('; ').includes(directive), directive);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/, 'nothing loosens it');
  });

  test('/index.html is the same page', async () => {
    const res = await get(`${web.url}/index.html?x=1`);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString('utf8'), html);
  });

  test('hashed assets are cached for a year, immutable, with the right type', async () => {
    const script = await get(`${web.url}${js}`);
    assert.equal(script.status, 200);
    assert.equal(script.headers['cache-control'], CACHE_IMMUTABLE);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(script.headers['x-content-type-options'], 'nosniff');
    assert.deepEqual(script.body, readFileSync(join(dir, js)));
    const style = await get(`${web.url}${css}`);
    assert.equal(style.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(style.headers['cache-control'], CACHE_IMMUTABLE);
    const icon = await get(`${web.url}/favicon.svg`);
    assert.equal(icon.headers['content-type'], 'image/svg+xml');
    assert.equal(icon.headers['cache-control'], 'public, max-age=86400');
  });

  test('compression follows Accept-Encoding: br first, then gzip, q=0 refuses', async () => {
    const original = readFileSync(join(dir, js));
    const br = await get(`${web.url}${js}`, { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'accept-encoding');
    assert.ok(br.body.length < original.length / 2);
    const gz = await get(`${web.url}${js}`, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.body), original);
    const refused = await get(`${web.url}${js}`, { 'accept-encoding': 'br;q=0, gzip;q=0' });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.deepEqual(refused.body, original);
  });

  test('a matching If-None-Match gets 304 without a body; HEAD gets headers only', async () => {
    const first = await get(`${web.url}/`);
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[\w-]+"$/);
    const again = await get(`${web.url}/`, { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const other = await get(`${web.url}/`, { 'if-none-match': '"something-else"' });
    assert.equal(other.status, 200);
    const head = await get(`${web.url}${js}`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers['content-length']), readFileSync(join(dir, js)).length);
  });

  test('unknown paths, traversal attempts and source files are left to the server (404)', async () => {
    for (const path of [
      '/nope',
      '/assets/',
      '/assets/../index.html.gz',
      '/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/index.html.br',
      '/main.ts',
      '/src/web/app/main.ts',
    ]) {
      const res = await get(`${web.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers['content-security-policy'], undefined, `${path} is not a static answer`);
    }
  });

  test('POST / is not served; the API still answers beside the page', async () => {
    const post = await get(`${web.url}/`, {}, 'POST');
    assert.notEqual(post.status, 200);
    const health = await get(`${web.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.headers['content-security-policy'], undefined);
  });

  test('without a build, / explains how to build instead of a bare 404', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sluice-web-empty-'));
    const server = createServer({
      backend: createScriptedBackend([]),
      staticHandler: createStaticHandler({ dir: join(empty, 'missing') }),
    });
    try {
      const { url } = await server.listen(0);
      const res = await get(`${url}/`);
      assert.equal(res.status, 503);
      assert.match(res.body.toString('utf8'), /npm run build/);
      assert.equal((await get(`${url}/assets/app.js`)).status, 404);
    } finally {
      await server.close(100);
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
