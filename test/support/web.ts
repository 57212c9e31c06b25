/**
 * Shared by the web tests: builds the page once per process into a temporary folder (so the
 * tests always exercise the current source, not a stale dist/), starts the real Sluice server
 * with the static handler on 127.0.0.1:0, and drives Debian's Chromium with playwright-core
 * in a fresh, isolated browser context.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.mjs';
import {
  type Backend,
  type BackendRequest,
  createScriptedBackend,
  type ScriptedBackend,
  type ScriptStep,
  textScript,
} from '../../src/backends/index.js';
import { chunkBuilder } from '../../src/protocol/chunks.js';
import { createServer, type ServerOptions, type SluiceServer } from '../../src/server/index.js';
import type { ApiKind, ApiTypes, ChatCompletionChunk, FinishReason } from '../../src/types.js';
import { createStaticHandler } from '../../src/web/serve-static.js';

export const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = new URL('../../test-output/web/', import.meta.url).pathname;

let built: Promise<string> | undefined;

/** Builds the page into a temporary folder, once per test process. */
export function builtPage(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-web-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await buildWeb({ outDir: dir });
    return dir;
  })();
  return built;
}

/**
 * A backend whose behaviour each test swaps in: one server serves the whole file while every
 * test scripts its own answer.
 */
export interface SwitchBackend extends Backend {
  use(backend: Backend): void;
}

export function switchBackend(initial: Backend): SwitchBackend {
  let current = initial;
  return {
    name: 'switch',
    use(backend) {
      current = backend;
    },
    stream<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): AsyncIterable<ApiTypes[K]['chunk']> {
      return current.stream(request, signal);
    },
    models: async () => [{ id: 'test-model', object: 'model', created: 0, owned_by: 'sluice' }],
  };
}

export interface WebServer {
  url: string;
  server: SluiceServer;
  close(): Promise<void>;
}

/** The real Sluice server with the web UI, on 127.0.0.1 and a free port. */
export async function startWebServer(options: ServerOptions): Promise<WebServer> {
  const dir = await builtPage();
  const server = createServer({ ...options, staticHandler: createStaticHandler({ dir }) });
  const { url } = await server.listen(0, '127.0.0.1');
  return { url, server, close: () => server.close(200) };
}

export interface Browsing {
  browser: Browser;
  /** A fresh context (no cookies, no storage) and a page with error collection. */
  open(url: string, options?: { viewport?: { width: number; height: number }; dark?: boolean }): Promise<OpenPage>;
  close(): Promise<void>;
}

export interface OpenPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  /** Every URL the page requested. */
  requests: string[];
  /** Dialogs (alert/confirm/prompt) the page opened: a sanitizer failure would show here. */
  dialogs: string[];
}

export async function launch(): Promise<Browsing> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async open(url, options = {}) {
      const context = await browser.newContext({
        viewport: options.viewport ?? { width: 1100, height: 760 },
        colorScheme: options.dark ? 'dark' : 'light',
        reducedMotion: 'reduce',
      });
      contexts.push(context);
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      const dialogs: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      page.on('dialog', (d) => {
        dialogs.push(`${d.type()}: ${d.message()}`);
        void d.dismiss();
      });
      await page.goto(url);
      await page.locator('#prompt').waitFor();
      return { page, context, problems, requests, dialogs };
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Reads one counter from the server's /metrics. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

/** Resolves when `test` holds, polling; rejects with `what` after `timeoutMs`. */
export async function until(test: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A chat chunk carrying `content` (or a finish reason), shaped like Azure's. */
export function chatChunk(content: string | null, finishReason: FinishReason | null = null): ChatCompletionChunk {
  const chunks = chunkBuilder('chat', { id: 'chatcmpl-test', created: 1700000000, model: 'test-model' });
  return content === null && finishReason !== null ? chunks.finish(0, finishReason) : chunks.content(0, content ?? '');
}

/**
 * A chat answer that is one tool call: role chunk, the call's first delta (name, empty
 * arguments), the arguments in `pieces` (a gate before each piece after the first when
 * `gated`), finish `tool_calls`.
 */
export function toolCallScript(name: string, pieces: string[], gated = false): ScriptStep[] {
  const chunks = chunkBuilder('chat', { id: 'chatcmpl-test', created: 1700000000, model: 'test-model' });
  const steps: ScriptStep[] = [{ chunk: chunks.role(0) as ChatCompletionChunk }];
  steps.push({ chunk: chunks.toolCall(0, 0, 'call_test', name) });
  pieces.forEach((piece, i) => {
    if (gated && i > 0) steps.push({ gate: true });
    steps.push({ chunk: chunks.toolArguments(0, 0, piece) });
  });
  steps.push({ chunk: chunks.finish(0, 'tool_calls') });
  return steps;
}

/** The scripted backend with gates, plus what the web tests read about its latest stream. */
export interface GatedBackend extends ScriptedBackend {
  /** Pieces handed to the server so far (latest stream). */
  readonly sent: number;
  /** True once the latest stream ended normally. */
  readonly finished: boolean;
  /** True once the server aborted the latest stream (the client went away). */
  readonly aborted: boolean;
}

/**
 * The scripted backend's gated text script: the first piece at once, each further piece (and
 * finally the finish chunk) only when the test calls `release()`, so the test can look at
 * the page while the stream is provably still open.
 */
export function gatedBackend(pieces: string[]): GatedBackend {
  const script = textScript('chat', pieces, { gated: true, id: 'chatcmpl-test', model: 'test-model' });
  const backend = createScriptedBackend(script, { name: 'gated' });
  const latest = () => backend.calls.at(-1);
  return Object.defineProperties(backend, {
    // Chunks handed over: the role chunk, the pieces, then the finish chunk.
    sent: { get: () => Math.max(0, Math.min(pieces.length, (latest()?.chunks ?? 0) - 1)) },
    finished: { get: () => latest()?.outcome === 'done' },
    aborted: { get: () => latest()?.outcome === 'aborted' },
  }) as GatedBackend;
}

/**
 * A stream whose chunks carry prototype-polluting keys in every place the page reads or
 * merges (filter results, a category, the delta, tool calls), written as raw JSON: an object
 * literal with `__proto__` would not serialize the key.
 */
export const HOSTILE_STREAM = [
  '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi","__proto__":{"content":"polluted"}},"finish_reason":null,"content_filter_results":{"__proto__":{"polluted":"yes","filtered":true},"constructor":{"prototype":{"polluted":"yes"}},"hate":{"filtered":false,"severity":"safe","__proto__":{"severity":"high"}}}}]}',
  '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" there","tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":"{}","__proto__":{"polluted":"yes"}},"__proto__":{"polluted":"yes"}}]},"finish_reason":null,"content_filter_results":{"__proto__":{"polluted":"again"},"prototype":{"filtered":true}}}]}',
  '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"content_filter","content_filter_results":{"violence":{"filtered":true,"severity":"high"},"custom_blocklists":{"filtered":false,"details":[{"id":"__proto__","filtered":false}]}}}]}',
]
  .map((json) => `data: ${json}\n\n`)
  .join('');
