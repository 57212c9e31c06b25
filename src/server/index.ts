/**
 * `sluice/server`: an Azure OpenAI- and OpenAI-compatible streaming HTTP API over any
 * Backend (the local model, an upstream, a scripted one). node:http, no framework.
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type ServerOptions } from './app.js';
import type { ServerMetrics } from './metrics.js';

// Options, and what they take

export type { ServerOptions, StaticHandler } from './app.js';
export { DEFAULT_HEARTBEAT_MS } from './app.js';
export { DEFAULT_MAX_BODY_BYTES } from './body.js';
export type { CorsOptions } from './cors.js';

// The live counters (`SluiceServer.metrics`, `GET /metrics`) and the backend stats they show

export type { ServerMetrics, StatsBackend } from './metrics.js';

export interface ListenInfo {
  /** A URL clients can use, e.g. `http://127.0.0.1:8080` (0.0.0.0 / :: are shown as loopback). */
  url: string;
  port: number;
  host: string;
}

export interface SluiceServer {
  /** Starts listening; port 0 (default) picks a free port, host defaults to 127.0.0.1. */
  listen(port?: number, host?: string): Promise<ListenInfo>;
  /**
   * Stops accepting connections, aborts running generations (their streams get an error
   * frame), closes idle keep-alive sockets, then waits up to `graceMs` (default 2000) for the
   * rest before cutting them. Backends are not closed: they belong to the caller.
   */
  close(graceMs?: number): Promise<void>;
  /** The `(req, res)` handler, to mount in another node:http server. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The underlying node:http server. */
  readonly server: Server;
  /** Live counters (also served at `/metrics`). */
  readonly metrics: ServerMetrics;
}

/**
 * Creates the server (not yet listening).
 *
 * @example
 * ```ts
 * import { createServer } from 'sluice/server';
 * import { createLocalBackend } from 'sluice/backends';
 *
 * const server = createServer({ backend: createLocalBackend(), apiKey: process.env.SLUICE_API_KEY });
 * const { url } = await server.listen(8080);
 * console.log(`listening on ${url}`);
 * // POST {url}/openai/deployments/any-name/chat/completions?api-version=2024-10-21
 * ```
 */
export function createServer(options: ServerOptions): SluiceServer {
  const app = createApp(options);
  // noDelay: every SSE chunk leaves at once (no Nagle wait for the next one).
  const server = createHttpServer({ noDelay: true }, app.handler);
  return {
    handler: app.handler,
    server,
    metrics: app.metrics,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise<ListenInfo>((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address = server.address() as AddressInfo;
          resolve({ url: urlFor(host, address.port), port: address.port, host });
        });
      });
    },
    async close(graceMs = 2000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      app.abortAll();
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

function urlFor(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}
