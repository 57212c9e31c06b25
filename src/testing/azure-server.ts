/**
 * A fault-injecting, Azure-shaped OpenAI test server (node:http on 127.0.0.1, port 0).
 *
 * It answers the routes real clients call —
 *   POST /openai/deployments/{deployment}/{chat/completions|completions}?api-version=V
 *   POST /openai/v1/{chat/completions|completions}          (deployment = body.model)
 *   POST /v1/{chat/completions|completions}, /{chat/completions|completions}  (OpenAI-compatible)
 *   POST /openai/v1/responses, /v1/responses, /responses   (the Responses API; deployment = body.model)
 *   POST /openai/deployments/{deployment}/embeddings?api-version=V, /openai/v1/embeddings,
 *        /v1/embeddings, /embeddings                       (embeddings; `embeddingsReply` answers them)
 * — by replaying a scripted *reply* chosen per deployment name, and records every request.
 *
 * ```ts
 * const server = await startAzureServer({
 *   apiKey: 'k',                                   // optional: 401 unless api-key / Bearer match
 *   scenarios: {
 *     ok: stream(chatChunks(['Hel', 'lo'])),       // one reply for every request
 *     flaky: [reply(429, rateLimitBody, { 'retry-after-ms': '10' }), stream(chatChunks(['ok']))],
 *     gated: stream([...chatChunks(['a']).slice(0, 3), { wait: 'go' }, ...rest]),
 *   },
 * });
 * // server.url, server.requests[i].headers, await server.requests[0].disconnected,
 * // server.release('go'), await server.close()
 * ```
 *
 * A scenario is a reply, a list of replies (request n of that deployment gets element n; the
 * last repeats) or a function `(request, n) => Reply`. Unknown deployments get 404
 * DeploymentNotFound. Reply kinds:
 * - `stream(items, opts)`: 200 text/event-stream; items are written one per write, in order:
 *   `{chunk}` a `data:` event, `{done: true}` `data: [DONE]\n\n` (or `{done: 'unterminated'}`:
 *   no blank line), `{raw}` bytes as is, `{error}` an error frame, `{comment}` a heartbeat,
 *   `{event}` a Responses event (`event: <its type>` + `data:`), `{delay: ms}`, `{wait: 'gate'}` (until `server.release('gate')`), `{stall: true}` (stop
 *   writing, keep the socket), `{cut: true}` (destroy the socket). After the last item the
 *   response ends, unless `opts.keepOpen` (keep-alive after [DONE]: nothing more is sent,
 *   the socket stays open until the client leaves).
 * - `reply(status, jsonBody, headers)`: an ordinary JSON answer (errors, JSON 200 to a
 *   stream request, non-streaming completions).
 * - `redirect(location, status = 307)`.
 * - `reset()`: the connection is reset before any header (a crashed upstream, a proxy cut).
 * - Every reply takes `headersDelayMs` (slow headers; `Infinity` = never answer) and extra
 *   `headers`. Azure's `apim-request-id`, `x-request-id`, `x-ms-region` and rate-limit
 *   headers are always sent.
 *
 * `responsesEvents` / `responseObject` (responses-events.ts) script the Responses API.
 * Builders `chatChunks` / `completionChunks` produce Azure's real sequence: prompt-filter
 * chunk, role chunk (chat), content chunks with per-choice filter results, finish chunk,
 * optional usage chunk, `[DONE]`; `annotation()` an asynchronous-filter annotation chunk.
 * Each recorded request exposes `disconnected` (resolves when the client closed the
 * connection before the reply finished) so tests can prove cancellation reaches the server.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { chunkBuilder, safeFilterResults } from '../protocol/chunks.js';
import { type EmbeddingsInput, embeddingInputs, encodeEmbedding } from '../protocol/embeddings.js';
import type { ApiErrorBody, ApiKind, ContentFilterResults, FinishReason, Usage } from '../types.js';

// --- replies -------------------------------------------------------------------------

export type StreamItem =
  | { chunk: unknown }
  | { event: { type: string; [k: string]: unknown } }
  | { done: true | 'unterminated' }
  | { raw: string | Uint8Array }
  | { error: ApiErrorBody }
  | { comment: string }
  | { delay: number }
  | { wait: string }
  | { stall: true }
  | { cut: true };

interface ReplyCommon {
  headersDelayMs?: number;
  headers?: Record<string, string>;
}
export type Reply =
  | (ReplyCommon & { type: 'stream'; items: StreamItem[]; keepOpen?: boolean; contentType?: string })
  | (ReplyCommon & { type: 'json'; status: number; body: unknown })
  | (ReplyCommon & { type: 'redirect'; status: number; location: string })
  | (ReplyCommon & { type: 'reset' });

export type Scenario = Reply | Reply[] | ((request: RecordedRequest, n: number) => Reply);

/** 200 text/event-stream replaying `items`. */
export function stream(
  items: StreamItem[],
  opts: { keepOpen?: boolean; headersDelayMs?: number; headers?: Record<string, string>; contentType?: string } = {},
): Reply {
  return { type: 'stream', items, ...opts };
}

/** A JSON answer with any status. */
export function reply(
  status: number,
  body: unknown,
  headers?: Record<string, string>,
  opts: { headersDelayMs?: number } = {},
): Reply {
  return { type: 'json', status, body, ...(headers ? { headers } : {}), ...opts };
}

/** A redirect to `location` (absolute, or relative to the request). */
export function redirect(location: string, status = 307): Reply {
  return { type: 'redirect', status, location };
}

/** No answer at all: the connection is reset before any header (after `headersDelayMs`, if set). */
export function reset(opts: { headersDelayMs?: number } = {}): Reply {
  return { type: 'reset', ...opts };
}

/**
 * A scenario answering embeddings requests with `vectors` (one per input, the last repeated),
 * in the encoding each request asks for (`base64`: OpenAI's little-endian float32).
 *
 * @example
 * const server = await startAzureServer({ scenarios: { emb: embeddingsReply([[0.6, 0.8]]) } });
 */
export function embeddingsReply(
  vectors: number[][],
  opts: { model?: string; tokensPerInput?: number } = {},
): (request: RecordedRequest) => Reply {
  return (request) => {
    const input = request.body?.input;
    const inputs =
      typeof input === 'string' || Array.isArray(input) ? embeddingInputs(input as EmbeddingsInput).length : 1;
    const base64 = request.body?.encoding_format === 'base64';
    const data = Array.from({ length: inputs }, (_, index) => {
      const vector = vectors[Math.min(index, vectors.length - 1)] ?? [];
      return { object: 'embedding', index, embedding: base64 ? encodeEmbedding(vector) : vector };
    });
    const tokens = inputs * (opts.tokensPerInput ?? 3);
    return reply(200, {
      object: 'list',
      data,
      model: opts.model ?? 'text-embedding-3-small',
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  };
}

/** Azure's error body. */
export function azureError(code: string, message: string, extra: Record<string, unknown> = {}): ApiErrorBody {
  return { error: { code, message, ...extra } };
}

// --- Azure-shaped chunks ---------------------------------------------------------------

export interface ChunkOptions {
  id?: string;
  model?: string;
  created?: number;
  finishReason?: FinishReason | null;
  /** Adds the usage chunk (as with stream_options.include_usage). */
  usage?: Usage;
  /** Azure's first prompt-filter chunk (default true). */
  promptFilter?: boolean;
  /** Append `{done: true}` (default true). */
  done?: boolean;
}

/** A Chat Completions stream as Azure sends it (n = 1). */
export function chatChunks(texts: string[], o: ChunkOptions = {}): StreamItem[] {
  return azureStream('chat', texts, { id: 'chatcmpl-test', model: 'gpt-4o-2024-08-06', fingerprint: 'fp_test' }, o);
}

/** A legacy Completions stream as Azure sends it (n = 1). */
export function completionChunks(texts: string[], o: ChunkOptions = {}): StreamItem[] {
  return azureStream('completions', texts, { id: 'cmpl-test', model: 'gpt-35-turbo-instruct' }, o);
}

/** An asynchronous-filter annotation chunk (no delta), as Azure may send after the finish chunk. */
export function annotation(
  offsets: { check_offset: number; start_offset: number; end_offset: number },
  o: { index?: number; finishReason?: FinishReason | null; results?: ContentFilterResults } = {},
): StreamItem {
  const chunks = chunkBuilder('chat', { model: '' });
  return { chunk: chunks.annotation(o.index ?? 0, o.results ?? safeFilterResults(), offsets, o.finishReason ?? null) };
}

/** The filter results of a completion Azure cut for violence. */
function violenceBlocked(): ContentFilterResults {
  return { ...safeFilterResults(), violence: { filtered: true, severity: 'high' } };
}

/** Prompt filter, role (chat), one content chunk per text, finish, usage, [DONE]: Azure's order. */
function azureStream(
  kind: ApiKind,
  texts: string[],
  defaults: { id: string; model: string; fingerprint?: string },
  o: ChunkOptions,
): StreamItem[] {
  const chunks = chunkBuilder(kind, {
    id: o.id ?? defaults.id,
    created: o.created ?? 1_700_000_000,
    model: o.model ?? defaults.model,
    ...(defaults.fingerprint !== undefined ? { systemFingerprint: defaults.fingerprint } : {}),
    contentFilterResults: safeFilterResults(),
  });
  const items: StreamItem[] = [];
  if (o.promptFilter !== false) items.push({ chunk: chunks.promptFilter(safeFilterResults()) });
  const role = chunks.role(0);
  if (role) items.push({ chunk: role });
  for (const text of texts) items.push({ chunk: chunks.content(0, text) });
  if (o.finishReason !== null) {
    const reason = o.finishReason ?? 'stop';
    items.push({ chunk: chunks.finish(0, reason, reason === 'content_filter' ? violenceBlocked() : undefined) });
  }
  if (o.usage) items.push({ chunk: chunks.usage(o.usage) });
  if (o.done !== false) items.push({ done: true });
  return items;
}

// --- the server -------------------------------------------------------------------------

export interface RecordedRequest {
  /** 0-based across the whole server. */
  seq: number;
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  apiVersion: string | null;
  /** The deployment from the path, or body.model on v1 / OpenAI-compatible routes. */
  deployment: string | undefined;
  /** `chat`, `completions`, `responses`, `embeddings`, or undefined for unknown paths. */
  kind: 'chat' | 'completions' | 'responses' | 'embeddings' | undefined;
  headers: IncomingMessage['headers'];
  /** The raw request body. */
  rawBody: string;
  /** The parsed JSON body (undefined if it was not JSON). */
  body: Record<string, unknown> | undefined;
  /** Resolves when the client closed the connection before the reply finished. */
  disconnected: Promise<void>;
  /** True once the client left early (see `disconnected`). */
  clientLeft: boolean;
  /** True once the reply was written completely. */
  finished: boolean;
  /** Stream items written so far. */
  itemsSent: number;
}

export interface AzureServerOptions {
  scenarios?: Record<string, Scenario>;
  /** The scenario for deployments not in `scenarios` (default: 404 DeploymentNotFound). */
  fallback?: Scenario;
  /** When set, requests must carry `api-key: <key>` or `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Region reported in x-ms-region (default `swedencentral`). */
  region?: string;
}

export interface AzureServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Opens a `{wait: name}` gate (now or for whoever reaches it later). */
  release(gate: string): void;
  /** Resolves when `n` requests have arrived. */
  waitForRequests(n: number): Promise<void>;
  /** Replaces or adds a scenario. */
  setScenario(deployment: string, scenario: Scenario): void;
  close(): Promise<void>;
}

const ROUTE = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;
const V1_ROUTE = /^(?:\/openai)?(?:\/v1)?\/(chat\/completions|completions|responses|embeddings)$/;

/**
 * Starts the server on 127.0.0.1 and a free port.
 * @example
 * const server = await startAzureServer({ scenarios: { d: stream(chatChunks(['Hi'])) } });
 * const client = createClient({ endpoint: server.url, apiKey: 'k', deployment: 'd' });
 */
export async function startAzureServer(opts: AzureServerOptions = {}): Promise<AzureServer> {
  const scenarios = new Map<string, Scenario>(Object.entries(opts.scenarios ?? {}));
  const perDeploymentCount = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const gates = new Map<string, { open: boolean; waiters: Array<() => void> }>();
  const requestWaiters: Array<{ n: number; resolve: () => void }> = [];
  const sockets = new Set<Socket>();
  let closing = false;

  const gate = (name: string) => {
    let g = gates.get(name);
    if (!g) {
      g = { open: false, waiters: [] };
      gates.set(name, g);
    }
    return g;
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(azureError('500', `test server: ${String(err)}`)));
      } else res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    let deployment: string | undefined;
    let kind: RecordedRequest['kind'];
    const m = ROUTE.exec(u.pathname);
    if (m) {
      deployment = decodeURIComponent(m[1]!);
      kind = m[2] === 'completions' ? 'completions' : m[2] === 'embeddings' ? 'embeddings' : 'chat';
    } else {
      const v = V1_ROUTE.exec(u.pathname);
      if (v) {
        kind = v[1] === 'chat/completions' ? 'chat' : (v[1] as 'completions' | 'responses' | 'embeddings');
        deployment = typeof body?.model === 'string' ? body.model : undefined;
      }
    }

    let resolveGone!: () => void;
    const rec: RecordedRequest = {
      seq: requests.length,
      method: req.method ?? '',
      url: req.url ?? '',
      path: u.pathname,
      apiVersion: u.searchParams.get('api-version'),
      deployment,
      kind,
      headers: req.headers,
      rawBody,
      body,
      disconnected: new Promise<void>((r) => {
        resolveGone = r;
      }),
      clientLeft: false,
      finished: false,
      itemsSent: 0,
    };
    requests.push(rec);
    // 'close' on the response before it finished = the client closed the connection.
    res.on('close', () => {
      if (!res.writableFinished) {
        rec.clientLeft = true;
        resolveGone();
      }
    });
    for (const w of requestWaiters.splice(0)) {
      if (requests.length >= w.n) w.resolve();
      else requestWaiters.push(w);
    }

    const common: Record<string, string> = {
      'apim-request-id': `apim-${rec.seq}`,
      'x-request-id': `req-${rec.seq}`,
      'x-ms-region': opts.region ?? 'swedencentral',
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-remaining-tokens': '9990',
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-limit-tokens': '10000',
    };

    if (opts.apiKey !== undefined) {
      const key = req.headers['api-key'];
      const bearer = req.headers.authorization;
      if (key !== opts.apiKey && bearer !== `Bearer ${opts.apiKey}`) {
        return sendJson(
          res,
          401,
          azureError(
            '401',
            'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
          ),
          common,
        );
      }
    }

    const key = deployment ?? '';
    const scenario = scenarios.get(key) ?? opts.fallback;
    if (!scenario || kind === undefined) {
      return sendJson(
        res,
        404,
        azureError('DeploymentNotFound', 'The API deployment for this resource does not exist.'),
        common,
      );
    }
    const n = perDeploymentCount.get(key) ?? 0;
    perDeploymentCount.set(key, n + 1);
    const r =
      typeof scenario === 'function' ? scenario(rec, n) : Array.isArray(scenario) ? pick(scenario, n) : scenario;

    if (r.headersDelayMs !== undefined) {
      if (r.headersDelayMs === Number.POSITIVE_INFINITY) return; // never answer; the client must give up
      await sleep(r.headersDelayMs);
      if (rec.clientLeft) return;
    }
    if (r.type === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    const headers = { ...common, ...r.headers };
    if (r.type === 'json') {
      sendJson(res, r.status, r.body, headers);
      rec.finished = true;
      return;
    }
    if (r.type === 'redirect') {
      res.writeHead(r.status, { ...headers, location: r.location, 'content-length': '0' });
      res.end();
      rec.finished = true;
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': r.contentType ?? 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.flushHeaders();
    for (const item of r.items) {
      if (rec.clientLeft || closing) return;
      if ('delay' in item) await sleep(item.delay);
      else if ('wait' in item) await waitGate(item.wait, rec);
      else if ('stall' in item)
        return; // socket stays open until the client gives up
      else if ('cut' in item) {
        res.socket?.destroy();
        return;
      } else res.write(encodeItem(item));
      rec.itemsSent++;
    }
    if (r.keepOpen) return; // e.g. a proxy keeping the connection after [DONE]
    res.end();
    rec.finished = true;
  }

  function waitGate(name: string, rec: RecordedRequest): Promise<void> {
    const g = gate(name);
    if (g.open) return Promise.resolve();
    return new Promise<void>((resolve) => {
      g.waiters.push(resolve);
      void rec.disconnected.then(resolve);
    });
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const url = `http://127.0.0.1:${address.port}`;

  return {
    url,
    port: address.port,
    requests,
    release(name) {
      const g = gate(name);
      g.open = true;
      for (const w of g.waiters.splice(0)) w();
    },
    waitForRequests(n) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => requestWaiters.push({ n, resolve }));
    },
    setScenario(deployment, scenario) {
      scenarios.set(deployment, scenario);
    },
    async close() {
      closing = true;
      for (const g of gates.values()) for (const w of g.waiters.splice(0)) w();
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function pick(replies: Reply[], n: number): Reply {
  const r = replies[Math.min(n, replies.length - 1)];
  if (!r) throw new Error('empty scenario list');
  return r;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** The bytes of one stream item (exported for benches that pre-encode a stream). */
export function encodeItem(item: StreamItem): string | Uint8Array {
  if ('chunk' in item) return `data: ${JSON.stringify(item.chunk)}\n\n`;
  if ('event' in item) return `event: ${item.event.type}\ndata: ${JSON.stringify(item.event)}\n\n`;
  if ('done' in item) return item.done === 'unterminated' ? 'data: [DONE]' : 'data: [DONE]\n\n';
  if ('raw' in item) return item.raw;
  if ('error' in item) return `data: ${JSON.stringify(item.error)}\n\n`;
  if ('comment' in item) return `: ${item.comment}\n\n`;
  return '';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
