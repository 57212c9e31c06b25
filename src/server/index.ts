/**
 * `sluice/server`: an Azure OpenAI- and OpenAI-compatible streaming HTTP API over any
 * Backend (the local model, an upstream, a scripted one). node:http, no framework.
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type AppOptions, createApp } from './app.js';
import { loopbackHostNames } from './cors.js';
import { rawErrorResponse } from './error-replies.js';
import type { ServerMetrics } from './metrics.js';

/** Default time a client has to send a whole request (headers and body): 30 s. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default time a client has to send its headers: 10 s. */
const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

/** Everything `createServer` takes. */
export interface ServerOptions extends AppOptions {
  /**
   * Time a client has to send its whole request, ms; then 408 and the socket is closed.
   * Default 30000. Streaming answers are not limited (the request is complete by then).
   */
  requestTimeoutMs?: number;
}

// Options, and what they take

export type { StaticHandler } from './app.js';
export { DEFAULT_HEARTBEAT_MS } from './app.js';
export { DEFAULT_MAX_BODY_BYTES } from './body.js';
export type { CorsOptions } from './cors.js';

// The live counters (`SluiceServer.metrics`, `GET /metrics`) and the backend stats they show

export type { ServerMetrics, StatsBackend } from './metrics.js';

// Watching each generation (traces, a gateway's logs and series), and the log line format

export type {
  GenerationKind,
  GenerationObservation,
  GenerationObserver,
  GenerationReport,
  GenerationStart,
} from './observer.js';
export type { LogFormat } from './request-log.js';

// The Responses API answers this server keeps (`store`)

export { DEFAULT_RESPONSE_STORE_LIMITS, type ResponseStoreOptions } from './response-store.js';

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
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // noDelay: every SSE chunk leaves at once (no Nagle wait for the next one).
  const server = createHttpServer(
    {
      noDelay: true,
      requestTimeout,
      headersTimeout: Math.min(DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout),
      // How often Node looks for requests past their time-out (its default is 30 s).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(requestTimeout / 4))),
    },
    app.handler,
  );
  server.on('clientError', answerClientError);
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
          if (options.allowedHosts === undefined) app.allowHosts(loopbackHostNames(host));
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

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'Request Timeout',
    'The request was not received in time; send the whole request at once.',
  ],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'The request headers are too large.'],
};

/**
 * Node's parser gave up on a connection (malformed HTTP, time-out, huge headers): answer
 * with a JSON body saying why, as every other error, then close. Resets need no answer.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  const code = error.code ?? '';
  const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable || pending?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, message] = CLIENT_ERRORS[code] ?? [
    400,
    'Bad Request',
    `The request is not valid HTTP/1.1 (${code || 'parse error'}); check the request line, headers and body framing.`,
  ];
  socket.end(rawErrorResponse(status, reason, message));
  socket.destroySoon?.();
}

function urlFor(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}
