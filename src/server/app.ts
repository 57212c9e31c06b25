/**
 * The request handler: a plain `(req, res)` function for node:http. Routing, auth, CORS,
 * body limits, validation, deployment lookup, then a generation (generate.ts). Every answer
 * is Azure-shaped; nothing thrown here reaches the client as a stack trace.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Backend } from '../backend.js';
import { AbortError, ConfigError } from '../errors.js';
import { createKeyCheck } from './auth.js';
import { DEFAULT_MAX_BODY_BYTES, readBody } from './body.js';
import { answerPreflight, applyCors, type CorsOptions } from './cors.js';
import {
  DEPLOYMENT_NOT_FOUND,
  type ErrorReply,
  invalidRequest,
  modelNotFound,
  payloadTooLarge,
  replyForError,
  UNAUTHORIZED,
} from './error-body.js';
import { completeGeneration, type Generation, sendJson, sendReply, streamGeneration } from './generate.js';
import { ServerMetrics, type StatsBackend } from './metrics.js';
import { matchRoute, type Route, type RouteLabel } from './routes.js';
import { parseRequest } from './validate.js';

/** Serves non-API paths (the web UI's assets). Return true when it answered, false to let the server 404. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface ServerOptions {
  /** Serves every deployment/model name when `deployments` is not given. */
  backend?: Backend;
  /** Name -> backend. When given (non-empty), only these names are served; others get 404 DeploymentNotFound. */
  deployments?: Record<string, Backend>;
  /** When set, API routes need `api-key: <key>` or `Authorization: Bearer <key>`; otherwise Azure's 401. */
  apiKey?: string;
  /** SSE `: keep-alive` comment interval while nothing else is sent, ms. Default 15000. */
  heartbeatMs?: number;
  /** Request body limit, bytes. Default 1 MiB (1048576); larger bodies get 413. */
  maxBodyBytes?: number;
  /** Called for GET/HEAD requests no API route matches (e.g. `/` for the web UI). */
  staticHandler?: StaticHandler;
  /** CORS headers on every answer; default `{ origin: '*' }`. `false` sends none. */
  cors?: CorsOptions | false;
  /** One line per request: method, path (no query), status, duration, request id. Never keys. */
  log?: (line: string) => void;
}

/** Default SSE heartbeat interval: 15 s, under the 30-60 s idle cut of common proxies. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

export interface App {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  metrics: ServerMetrics;
  /** Aborts every running generation (used on shutdown). */
  abortAll(reason?: unknown): void;
}

/**
 * Builds the request handler.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * const app = createApp({ backend });
 * createServer(app.handler).listen(8080);
 * ```
 */
export function createApp(options: ServerOptions): App {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!(heartbeatMs > 0 && Number.isFinite(heartbeatMs))) {
    throw new ConfigError(`heartbeatMs must be a positive number of milliseconds; got ${heartbeatMs}.`, 'heartbeatMs');
  }
  if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0)) {
    throw new ConfigError(`maxBodyBytes must be a positive integer; got ${maxBodyBytes}.`, 'maxBodyBytes');
  }
  const deployments =
    options.deployments && Object.keys(options.deployments).length > 0
      ? new Map(Object.entries(options.deployments))
      : undefined;
  const fallback = options.backend;
  if (!deployments && !fallback) {
    throw new ConfigError('createServer needs a `backend` or a non-empty `deployments` map.', 'backend');
  }
  const backends: StatsBackend[] = deployments ? [...new Set(deployments.values())] : [fallback!];
  const metrics = new ServerMetrics();
  const checkKey = createKeyCheck(options.apiKey);
  const cors = options.cors === false ? undefined : (options.cors ?? {});
  const live = new Set<AbortController>();
  const log = options.log;

  /** The backend for a name; undefined = not served. */
  const resolve = (name: string | undefined): Backend | undefined =>
    deployments ? (name === undefined ? undefined : deployments.get(name)) : fallback;

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = performance.now();
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    res.setHeader('apim-request-id', requestId);
    if (cors) applyCors(res, cors);
    const state: { label: RouteLabel } = { label: 'unmatched' };
    res.once('close', () => {
      // 499 (nginx's "client closed request"): the client left before any status was sent.
      const status = res.headersSent ? res.statusCode : 499;
      metrics.countRequest(state.label, status);
      if (log) {
        const url = req.url ?? '';
        const q = url.indexOf('?');
        const path = q === -1 ? url : url.slice(0, q);
        const ms = (performance.now() - startedAt).toFixed(1);
        const cut = res.writableFinished ? '' : ' (client closed)';
        log(`${req.method} ${path} ${status} ${ms}ms ${requestId}${cut}`);
      }
    });
    dispatch(req, res, state, startedAt).catch((error: unknown) => {
      // Last resort: a bug or a throwing static handler. Never a stack trace on the wire.
      if (!res.headersSent) sendReply(res, replyForError(error, 'ChatCompletions_Create', undefined));
      else res.destroy();
    });
  }

  async function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    state: { label: RouteLabel },
    startedAt: number,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const match = matchRoute(method, req.url ?? '/');
    if ('error' in match) {
      if (match.notFound && options.staticHandler && (method === 'GET' || method === 'HEAD')) {
        state.label = 'static';
        if (await options.staticHandler(req, res)) return;
      }
      state.label = match.label;
      return sendReply(res, match.error);
    }
    const route = match.route;
    state.label = route.label;
    switch (route.type) {
      case 'preflight':
        if (cors) return answerPreflight(req, res, cors);
        res.writeHead(204, { allow: 'GET, HEAD, POST, OPTIONS', 'content-length': '0' });
        return void res.end();
      case 'healthz':
        return sendJson(res, 200, { status: 'ok' });
      case 'metrics': {
        const text = metrics.render(backends);
        res.writeHead(200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        return void res.end(text);
      }
      case 'models':
        if (checkKey && !checkKey(req.headers)) return sendReply(res, UNAUTHORIZED);
        return sendJson(res, 200, { object: 'list', data: await listModels() });
      case 'generate':
        return generate(req, res, route, startedAt);
    }
  }

  async function generate(
    req: IncomingMessage,
    res: ServerResponse,
    route: Extract<Route, { type: 'generate' }>,
    startedAt: number,
  ): Promise<void> {
    if (checkKey && !checkKey(req.headers)) return sendReply(res, UNAUTHORIZED);
    let backend = route.deployment === undefined ? undefined : resolve(route.deployment);
    if (route.deployment !== undefined && !backend) return sendReply(res, DEPLOYMENT_NOT_FOUND);

    const read = await readBody(req, maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'aborted') return void res.destroy();
      // We stopped reading: close the connection after answering rather than drain the rest.
      res.setHeader('connection', 'close');
      return sendReply(res, payloadTooLarge(maxBodyBytes));
    }
    const validated = parseRequest(route.kind, read.text, { apiVersion: route.apiVersion });
    if (!validated.ok) return sendReply(res, validated.error);
    const body = validated.body;

    let deployment = route.deployment;
    if (!backend) {
      deployment = body.model ?? undefined;
      backend = resolve(deployment);
      if (!backend) return sendReply(res, unknownModel(route, deployment));
    }
    const g: Generation = {
      kind: route.kind,
      dialect: route.dialect,
      apiVersion: route.apiVersion,
      deployment,
      body,
      backend,
      metrics,
      heartbeatMs,
      startedAt,
      live,
    };
    return validated.stream ? streamGeneration(res, g) : completeGeneration(res, g);
  }

  async function listModels() {
    if (deployments) {
      return [...deployments.entries()].map(([id, backend]) => ({
        id,
        object: 'model' as const,
        created: 0,
        owned_by: backend.name,
      }));
    }
    const models = await fallback!.models?.();
    return models ?? [{ id: fallback!.name, object: 'model' as const, created: 0, owned_by: 'sluice' }];
  }

  return {
    handler,
    metrics,
    abortAll(reason = new AbortError('The server is shutting down')) {
      for (const controller of live) controller.abort(reason);
    },
  };
}

function unknownModel(route: Extract<Route, { type: 'generate' }>, model: string | undefined): ErrorReply {
  if (model === undefined) {
    return invalidRequest(
      "Missing required parameter: 'model' (this server serves named deployments only).",
      'model',
      'missing_required_parameter',
    );
  }
  return route.dialect === 'azure' ? DEPLOYMENT_NOT_FOUND : modelNotFound(model);
}
