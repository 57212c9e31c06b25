/**
 * The request handler: a plain `(req, res)` function for node:http. Routing, Host and
 * Origin checks, auth (before a byte of the body is read), content type, body limits,
 * validation against the backend's capabilities, deployment lookup, then a generation
 * (generation.ts). Every answer is in the dialect of its route; nothing thrown here reaches
 * the client as a stack trace.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Backend } from '../backend.js';
import { AbortError, ConfigError } from '../errors.js';
import { embeddingInputs } from '../protocol/embeddings.js';
import { retryHeaders } from '../protocol/error-body.js';
import {
  parseEmbeddingsRequest,
  parseJsonBody,
  parseRequest,
  validateEmbeddingsRequest,
  validateRequest,
} from '../protocol/request.js';
import type { ResponseCreateRequest } from '../protocol/responses/types.js';
import { createMemoryStreamLog } from '../streams/memory.js';
import { keyHashOf, type ResumableStreams } from '../streams/producer.js';
import { handOver } from '../util/hand-over.js';
import type { AccessControl, AccessRefusal, Caller, GenerationLease } from './access.js';
import { createKeyCheck } from './auth.js';
import { DEFAULT_MAX_BODY_BYTES, readBody } from './body.js';
import { answerPreflight, type CorsOptions, corsHeaders, hostName, originAllowed } from './cors.js';
import { serveEmbeddings } from './embeddings.js';
import {
  DEPLOYMENT_NOT_FOUND,
  type ErrorReply,
  forbidden,
  hostNotAllowed,
  invalidRequest,
  modelNotFound,
  notFound,
  originNotAllowed,
  payloadTooLarge,
  replyForError,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
  usageNotKept,
} from './error-replies.js';
import { completeGeneration, type Generation, streamGeneration } from './generation.js';
import { ServerMetrics, type StatsBackend } from './metrics.js';
import type { GenerationObserver, GenerationReport, GenerationStart } from './observer.js';
import { formatRequestLog, type LogFormat } from './request-log.js';
import { createResponseStore, type ResponseStoreOptions } from './response-store.js';
import {
  checkResponsesBody,
  type KeptResponses,
  type ResponsesCall,
  serveResponses,
  serveStoredResponse,
} from './responses.js';
import { type Dialect, dialectOf, matchRoute, type Route, type RouteLabel } from './routes.js';
import { sendJson, sendReply, setTaggedHeaders, tagRequest, writeHead } from './send.js';
import { resumeStream, stopStream } from './stream-routes.js';
import { takeoverPlan } from './stream-takeover.js';

/** Serves non-API paths (the web UI's assets). Return true when it answered, false to let the server 404. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface AppOptions {
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
  /**
   * Which web pages may call the API. Default: the same origin and loopback pages only;
   * `{ origins: ['https://app.example'] }` adds some, `{ origins: '*' }` allows all.
   * `false` sends no CORS headers (other origins are still refused).
   */
  cors?: CorsOptions | false;
  /**
   * Host names (`Host` header, without port) this server answers to; others get 421.
   * Default: any, except that `listen()` on a loopback address restricts it to
   * localhost, 127.0.0.1, [::1] and the bound address (DNS-rebinding protection).
   */
  allowedHosts?: readonly string[];
  /** One line per request: method, path (no query), status, duration, request id. Never keys. */
  log?: (line: string) => void;
  /**
   * `text` (default): the plain line above. `json`: one JSON object per line, with what a
   * generation did (model, target, attempts, timings, tokens). Never keys or prompts.
   */
  logFormat?: LogFormat;
  /** Watches each generation (traces, a gateway's logs) and adds to `/metrics`. */
  observer?: GenerationObserver;
  /**
   * Resumable streams (docs/server.md): every streamed answer gets an `x-sluice-stream-id`
   * and `id:` lines, is logged in `log`, and can be read again at `GET /sluice/v1/streams/{id}`;
   * after a hang-up the generation goes on for `keepGoingMs` while no reader is there.
   * Default: off (a hang-up stops the generation at once).
   */
  streams?: ResumableStreams;
  /**
   * Bounds on the Responses API answers this server keeps itself (local backends; upstreams
   * keep their own): default 256 responses for 1 hour, 64 MiB of input and output in all.
   */
  responseStore?: ResponseStoreOptions;
  /**
   * Per-key access (a gateway's `keys:`): names each request's caller, admits generations
   * against the key's limits, books what they used, serves `GET /sluice/v1/usage`. With it,
   * every API route needs a key it knows, or `apiKey` (the caller `default`, an admin).
   */
  access?: AccessControl;
}

/** The caller of a request made with the server's own `apiKey` when per-key access is on. */
export const SERVER_KEY_CALLER: Caller = { name: 'default', admin: true };

/** Default SSE heartbeat interval: 15 s, under the 30-60 s idle cut of common proxies. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

export interface App {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  metrics: ServerMetrics;
  /** Aborts every running generation (used on shutdown). */
  abortAll(reason?: unknown): void;
  /** Sets the host names answered to (see `allowedHosts`); undefined: any. */
  allowHosts(hosts: readonly string[] | undefined): void;
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
export function createApp(options: AppOptions): App {
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
  const originPolicy: CorsOptions = cors ?? {};
  let allowedHosts = options.allowedHosts ? new Set(options.allowedHosts.map(hostName)) : undefined;
  /** The `Host` header last found allowed, as sent: a client sends the same one every time. */
  let lastAllowedHost: string | undefined;
  const live = new Set<AbortController>();
  const log = options.log;
  const logFormat = options.logFormat ?? 'text';
  const observer = options.observer;
  const streams = options.streams;
  // A kept response's events go to the resumable streams' log when there is one (Redis: any
  // instance can resume them), else to a memory log of their own.
  const kept: KeptResponses = {
    store: createResponseStore(options.responseStore),
    log: streams?.log ?? createMemoryStreamLog(),
  };
  const access = options.access;

  /** The request's caller; null when no key is needed; undefined when its key is wrong (401). */
  const callerOf = (req: IncomingMessage): Caller | null | undefined => {
    const caller = access?.identify(req.headers);
    if (caller) return caller;
    if (checkKey) return checkKey(req.headers) ? (access ? SERVER_KEY_CALLER : null) : undefined;
    return access ? undefined : null;
  };

  /** The backend for a name; undefined = not served. */
  const resolve = (name: string | undefined): Backend | undefined =>
    deployments ? (name === undefined ? undefined : deployments.get(name)) : fallback;

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = performance.now();
    const requestId = randomUUID();
    // In every head, not set now: see send.ts.
    tagRequest(res, requestId, cors ? corsHeaders(req, cors) : undefined);
    const state: RequestState = { label: 'unmatched', requestId };
    res.once('close', () => {
      // 499 (nginx's "client closed request"): the client left before any status was sent.
      const status = res.headersSent ? res.statusCode : 499;
      metrics.countRequest(state.label, status);
      if (log) {
        const url = req.url ?? '';
        const q = url.indexOf('?');
        const record = {
          requestId,
          method: req.method ?? 'GET',
          path: q === -1 ? url : url.slice(0, q),
          route: state.label,
          status,
          durationMs: performance.now() - startedAt,
          clientClosed: !res.writableFinished,
          key: state.key,
          generation: state.generation,
        };
        log(formatRequestLog(record, logFormat));
      }
    });
    dispatch(req, res, state, startedAt).catch((error: unknown) => {
      // Last resort: a bug or a throwing static handler. Never a stack trace on the wire.
      if (!res.headersSent) {
        sendReply(res, replyForError(error, dialectOf(req.url ?? '/'), 'ChatCompletions_Create', undefined));
      } else res.destroy();
    });
  }

  async function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    state: RequestState,
    startedAt: number,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const refused = checkHostAndOrigin(req);
    if (refused) return sendReply(res, refused);
    const match = matchRoute(method, req.url ?? '/');
    if ('error' in match) {
      if (match.notFound && options.staticHandler && (method === 'GET' || method === 'HEAD')) {
        state.label = 'static';
        setTaggedHeaders(res);
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
        writeHead(res, 204, { allow: 'GET, HEAD, POST, OPTIONS', 'content-length': '0' });
        return void res.end();
      case 'healthz':
        return sendJson(res, 200, { status: 'ok' });
      case 'metrics': {
        const text =
          metrics.render(backends) +
          (observer?.metrics?.() ?? '') +
          (streams?.log.metrics() ?? '') +
          (access?.metrics?.() ?? '');
        writeHead(res, 200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        return void res.end(text);
      }
      case 'models': {
        const caller = callerOf(req);
        if (caller === undefined) return sendReply(res, unauthorized(route.dialect));
        if (caller) state.key = caller.name;
        return sendJson(res, 200, { object: 'list', data: await listModels() });
      }
      case 'usage': {
        const caller = callerOf(req);
        if (caller === undefined) return sendReply(res, unauthorized('azure'));
        if (caller) state.key = caller.name;
        if (!access) return sendReply(res, usageNotKept());
        if (!caller?.admin) {
          return sendReply(
            res,
            forbidden('azure', 'NotAdmin', `The key "${caller?.name}" may not read usage: use a key with admin: true.`),
          );
        }
        return sendJson(res, 200, await access.usage(route.query));
      }
      case 'generate':
        return generate(req, res, route, state, startedAt);
      case 'embeddings':
        return embeddings(req, res, route, state, startedAt);
      case 'stream':
        if (!streams) return sendReply(res, notFound('azure', method, req.url?.split('?')[0] ?? '/'));
        if (callerOf(req) === undefined) return sendReply(res, unauthorized('azure'));
        if (route.label === 'stream_stop') return stopStream(req, res, route.id, streams.log);
        return resumeStream(req, res, route.id, streams.log, heartbeatMs, { streams, backendFor: resolve, live });
      case 'responses':
        return responses(req, res, route, state, startedAt);
      case 'response': {
        if (callerOf(req) === undefined) return sendReply(res, unauthorized(route.dialect));
        const report: GenerationReport = {};
        state.generation = report;
        return serveStoredResponse(res, route, {
          keyHash: keyHashOf(req.headers),
          dialect: route.dialect,
          metrics,
          heartbeatMs,
          startedAt,
          live,
          report,
          kept,
        });
      }
    }
  }

  /** `POST /responses`: the body's `model` names the deployment on both dialects. */
  async function responses(
    req: IncomingMessage,
    res: ServerResponse,
    route: Extract<Route, { type: 'responses' }>,
    state: RequestState,
    startedAt: number,
  ): Promise<void> {
    const dialect = route.dialect;
    // The deployment on the path is resolved after the body (a 404 either way).
    const admitted = await admit(req, res, { dialect }, state);
    if (!admitted) return;
    const caller = admitted.caller;
    const parsed = parseJsonBody(admitted.text);
    if ('problem' in parsed) return sendReply(res, invalidRequest(dialect, parsed.problem));
    const body = parsed.value;
    const problem = checkResponsesBody(body);
    if (problem) return sendReply(res, invalidRequest(dialect, problem));
    const request = body as ResponseCreateRequest;
    const deployment = route.deployment ?? request.model;
    const backend = resolve(deployment);
    if (!backend)
      return sendReply(res, route.deployment === undefined ? unknownModel(route, deployment) : DEPLOYMENT_NOT_FOUND);
    const report: GenerationReport = deployment === undefined ? {} : { model: deployment };
    if (caller) report.key = caller.name;
    state.generation = report;
    // Per-key limits hold here too: reserved from the input's size and max_output_tokens,
    // settled to the usage the response reports (or to the reservation, if it reports none).
    let lease: GenerationLease | undefined;
    if (access && caller) {
      const maxTokens = typeof request.max_output_tokens === 'number' ? { max_tokens: request.max_output_tokens } : {};
      const decision = await access.admit(caller, {
        kind: 'chat',
        model: deployment,
        body: { messages: [{ role: 'user', content: JSON.stringify(request.input ?? '') }], ...maxTokens },
        apiVersion: undefined,
        stream: false,
      });
      if (!decision.ok)
        return sendReply(res, refusalReply(decision.refusal, { type: 'generate', kind: 'chat', dialect }));
      lease = decision.lease;
    }
    const start: GenerationStart = {
      requestId: state.requestId,
      route: route.label,
      kind: 'responses',
      model: deployment,
      stream: request.stream === true,
      startedAt,
      params: samplingParams({
        max_tokens: request.max_output_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
      }),
    };
    const call: ResponsesCall = {
      keyHash: keyHashOf(req.headers),
      dialect,
      deployment,
      backend,
      metrics,
      heartbeatMs,
      startedAt,
      live,
      report,
      kept,
    };
    // The body is handed over once: neither the observer's wrapper nor, with a key's lease, a
    // function waiting for the end holds it while the answer streams.
    const handed = handOver(request);
    const served = observed(start, res, report, () => serveResponses(res, call, handed()));
    return lease ? endingLease(served, lease, report) : served;
  }

  /** `served`, then the lease ended (however it ended), with the report as it stands then. */
  async function endingLease(served: Promise<void>, lease: GenerationLease, report: GenerationReport): Promise<void> {
    try {
      return await served;
    } finally {
      lease.end({ ...report, chunks: report.chunks ?? 1 });
    }
  }

  /**
   * The checks before a body is parsed (key, deployment on the path, content type, size),
   * then the body's text and the caller. Refusals come before a byte of the body is read, and
   * close the connection: an unread body must not hold the socket. Undefined: answered.
   */
  async function admit(
    req: IncomingMessage,
    res: ServerResponse,
    route: { dialect: Dialect; deployment?: string },
    state: RequestState,
  ): Promise<{ text: string; backend: Backend | undefined; caller: Caller | null } | undefined> {
    const dialect = route.dialect;
    const refuse = (reply: ErrorReply): undefined => {
      res.setHeader('connection', 'close');
      sendReply(res, reply);
      return undefined;
    };
    const caller = callerOf(req);
    if (caller === undefined) return refuse(unauthorized(dialect));
    if (caller) state.key = caller.name;
    const backend = route.deployment === undefined ? undefined : resolve(route.deployment);
    if (route.deployment !== undefined && !backend) return refuse(DEPLOYMENT_NOT_FOUND);
    const type = req.headers['content-type'];
    if (!isJson(type)) return refuse(unsupportedMediaType(dialect, type));
    const read = await readBody(req, maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'aborted') {
        res.destroy();
        return undefined;
      }
      // We stopped reading: close the connection after answering rather than drain the rest.
      return refuse(payloadTooLarge(dialect, maxBodyBytes));
    }
    return { text: read.text, backend, caller };
  }

  /**
   * `/embeddings`: one JSON answer from the backend's `embed()` (server/embeddings.ts). Under
   * per-key access it is admitted as the prompt-only request it is (its inputs as a
   * Completions prompt with `max_tokens: 0`): the key's models, rates and budget apply.
   */
  async function embeddings(
    req: IncomingMessage,
    res: ServerResponse,
    route: Extract<Route, { type: 'embeddings' }>,
    state: RequestState,
    startedAt: number,
  ): Promise<void> {
    const admitted = await admit(req, res, route, state);
    if (!admitted) return;
    const { caller } = admitted;
    const dialect = route.dialect;
    const parsed = parseEmbeddingsRequest(admitted.text);
    if (!parsed.ok) return sendReply(res, invalidRequest(dialect, parsed.problem));
    let { backend } = admitted;
    let deployment = route.deployment;
    if (!backend) {
      deployment = parsed.body.model;
      backend = resolve(deployment);
      if (!backend) return sendReply(res, unknownModel(route, deployment));
    }
    const validated = backend.capabilities
      ? validateEmbeddingsRequest(parsed.body, { capabilities: backend.capabilities })
      : parsed;
    if (!validated.ok) return sendReply(res, invalidRequest(dialect, validated.problem));
    let lease: GenerationLease | undefined;
    if (access && caller) {
      const prompt = embeddingInputs(validated.body.input);
      const decision = await access.admit(caller, {
        kind: 'completions',
        model: deployment,
        body: { prompt, max_tokens: 0 },
        apiVersion: route.apiVersion,
        stream: false,
      });
      if (!decision.ok) return sendReply(res, refusalReply(decision.refusal, route));
      lease = decision.lease;
    }
    const report: GenerationReport = deployment === undefined ? {} : { model: deployment };
    if (caller) report.key = caller.name;
    state.generation = report;
    const start: GenerationStart = {
      requestId: state.requestId,
      route: route.label,
      kind: 'embeddings',
      model: deployment,
      stream: false,
      startedAt,
      params: {},
    };
    return observed(start, res, report, () =>
      serveEmbeddings(res, {
        dialect,
        apiVersion: route.apiVersion,
        deployment,
        body: validated.body,
        backend,
        metrics,
        startedAt,
        live,
        report,
        lease,
      }),
    );
  }

  /**
   * Runs `serve` as one observed generation, ended here with the status sent (499: none):
   * the Responses API and embeddings fill `report` themselves and know nothing of observers.
   */
  function observed(
    start: GenerationStart,
    res: ServerResponse,
    report: GenerationReport,
    serve: () => Promise<void>,
  ): Promise<void> {
    if (!observer?.observe) return serve();
    return observer.observe(start, async (observation) => {
      try {
        await serve();
      } finally {
        observation.end(report, res.headersSent ? res.statusCode : 499);
      }
    });
  }

  async function generate(
    req: IncomingMessage,
    res: ServerResponse,
    route: Extract<Route, { type: 'generate' }>,
    state: RequestState,
    startedAt: number,
  ): Promise<void> {
    const dialect = route.dialect;
    const admitted = await admit(req, res, route, state);
    if (!admitted) return;
    const { caller } = admitted;
    let backend = admitted.backend;
    const parsed = parseRequest(route.kind, admitted.text, { apiVersion: route.apiVersion });
    if (!parsed.ok) return sendReply(res, invalidRequest(dialect, parsed.problem));

    let deployment = route.deployment;
    if (!backend) {
      deployment = parsed.body.model ?? undefined;
      backend = resolve(deployment);
      if (!backend) return sendReply(res, unknownModel(route, deployment));
    }
    // Again with what this backend can honour (tools, images, max_tokens): refused, never ignored.
    const validated = backend.capabilities
      ? validateRequest(route.kind, parsed.body, { apiVersion: route.apiVersion, capabilities: backend.capabilities })
      : parsed;
    if (!validated.ok) return sendReply(res, invalidRequest(dialect, validated.problem));
    let body = validated.body;
    let lease: GenerationLease | undefined;
    if (access && caller) {
      const decision = await access.admit(caller, {
        kind: route.kind,
        model: deployment,
        body: body as Record<string, unknown>,
        apiVersion: route.apiVersion,
        stream: validated.stream,
      });
      if (!decision.ok) return sendReply(res, refusalReply(decision.refusal, route));
      lease = decision.lease;
      body = decision.body as typeof body;
    }
    const report: GenerationReport = deployment === undefined ? {} : { model: deployment };
    if (caller) report.key = caller.name;
    state.generation = report;
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
      report,
      streams: streams && {
        ...streams,
        keyHash: keyHashOf(req.headers),
        takeover: takeoverPlan(backend, { kind: route.kind, dialect, deployment, apiVersion: route.apiVersion, body }),
      },
      lease,
    };
    const run = validated.stream ? streamGeneration : completeGeneration;
    if (!observer?.observe) return run(res, g);
    const start: GenerationStart = {
      requestId: state.requestId,
      route: route.label,
      kind: route.kind,
      model: deployment,
      stream: validated.stream,
      startedAt,
      params: samplingParams(body),
    };
    return observer.observe(start, (observation) => {
      g.observation = observation;
      return run(res, g);
    });
  }

  async function listModels() {
    if (deployments) {
      return [...deployments.entries()].map(([id, backend]) =>
        withContextLength({ id, object: 'model' as const, created: 0, owned_by: backend.name }, backend),
      );
    }
    const models = await fallback!.models?.();
    const list = models ?? [{ id: fallback!.name, object: 'model' as const, created: 0, owned_by: 'sluice' }];
    return list.map((model) => withContextLength(model, fallback!));
  }

  /** 421 for a Host this server must not answer to, 403 for a page on a foreign origin. */
  function checkHostAndOrigin(req: IncomingMessage): ErrorReply | undefined {
    const host = req.headers.host;
    if (allowedHosts && host !== undefined && host !== lastAllowedHost) {
      if (!allowedHosts.has(hostName(host))) return hostNotAllowed(dialectOf(req.url ?? '/'), host);
      lastAllowedHost = host;
    }
    const origin = req.headers.origin;
    if (typeof origin === 'string' && !originAllowed(origin, host, originPolicy)) {
      return originNotAllowed(dialectOf(req.url ?? '/'), origin);
    }
    return undefined;
  }

  return {
    handler,
    metrics,
    abortAll(reason = new AbortError('The server is shutting down')) {
      for (const controller of live) controller.abort(reason);
    },
    allowHosts(hosts) {
      allowedHosts = hosts ? new Set(hosts.map(hostName)) : undefined;
      lastAllowedHost = undefined;
    },
  };
}

/** What the request's log line needs from the handling of one request. */
interface RequestState {
  label: RouteLabel;
  requestId: string;
  /** The caller's key name, once known. */
  key?: string;
  generation?: GenerationReport;
}

/** The sampling numbers of a request body (nothing else of it: never the prompt). */
function samplingParams(body: { max_tokens?: unknown; temperature?: unknown; top_p?: unknown }) {
  const params: GenerationStart['params'] = {};
  if (typeof body.max_tokens === 'number') params.maxTokens = body.max_tokens;
  if (typeof body.temperature === 'number') params.temperature = body.temperature;
  if (typeof body.top_p === 'number') params.topP = body.top_p;
  return params;
}

/** `application/json` or any `+json` type, parameters (charset) ignored. */
function isJson(type: string | undefined): boolean {
  if (type === undefined) return false;
  const semi = type.indexOf(';');
  const bare = (semi === -1 ? type : type.slice(0, semi)).trim().toLowerCase();
  return bare === 'application/json' || (bare.startsWith('application/') && bare.endsWith('+json'));
}

/**
 * A `/v1/models` entry with `context_length` when the backend knows its context size (the
 * local model once loaded): the web page's context meter reads it. Upstreams state none.
 */
function withContextLength<M extends object>(model: M, backend: Backend): M | (M & { context_length: number }) {
  const size = backend.capabilities?.maxTokens;
  return size === undefined ? model : { ...model, context_length: size };
}

/** A key's refusal as the route's dialect says it: Azure's 429 with retry headers, or a 403. */
function refusalReply(
  refusal: AccessRefusal,
  route: { type: 'generate' | 'embeddings'; kind?: string; dialect: Dialect; apiVersion?: string | undefined },
): ErrorReply {
  if (refusal.status === 429) {
    const operation =
      route.type === 'embeddings'
        ? 'Embeddings_Create'
        : route.kind === 'chat'
          ? 'ChatCompletions_Create'
          : 'Completions_Create';
    return tooManyRequests(route.dialect, refusal.retryAfterMs ?? 1000, operation, route.apiVersion, refusal.message);
  }
  const reply = forbidden(route.dialect, refusal.code, refusal.message);
  return refusal.retryAfterMs === undefined ? reply : { ...reply, headers: retryHeaders(refusal.retryAfterMs) };
}

function unknownModel(route: { dialect: Dialect }, model: string | undefined): ErrorReply {
  if (model === undefined) {
    return invalidRequest(route.dialect, {
      message: "Missing required parameter: 'model' (this server serves named deployments only).",
      param: 'model',
      code: 'missing_required_parameter',
    });
  }
  return route.dialect === 'azure' ? DEPLOYMENT_NOT_FOUND : modelNotFound(model);
}
