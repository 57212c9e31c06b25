/**
 * A `fetch` built on node:http / node:https: the same contract the client relies on (a POST
 * with a string body, manual redirects, an AbortSignal, a Response whose body is a web
 * ReadableStream), for less CPU per chunk than the global fetch. It is the client's default
 * transport in Node (`defaultFetch`) and the remote backend's, whose gateway reads every
 * upstream chunk: reading 128 of the gateway bench's mock streams at once, the global fetch
 * cost 40-50 µs of CPU per read here, node:http 15-17 µs, and node:http behind a web stream
 * 20-23 µs. So the web stream is made only when someone reads `response.body`; the client's
 * SSE source takes the node:http message itself (`offerNodeBody`, client/body-feed.ts) and
 * takes its bytes from the HTTP parser (the message's `push`), with no `data` event each.
 * @module
 */
import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { HeaderLookup } from '../protocol/retry-after.js';
import { flattenHead } from '../util/flatten-head.js';
import { claimNodeBody, offerNodeBody, offersNodeBody } from './body-feed.js';

/** A fetch with its own keep-alive connection pools; `close()` drops them. */
export interface HttpFetch {
  fetch: typeof fetch;
  close(): void;
}

/**
 * Whether node:http may stand in for the global fetch: only when the global fetch is Node's
 * own and no dispatcher of another kind was installed for it (`setGlobalDispatcher` with a
 * `ProxyAgent`, `EnvHttpProxyAgent`, `MockAgent`...), so that a user's stub, polyfill, proxy
 * or mock is never bypassed. Node's own dispatcher is a plain undici `Agent`.
 */
export function nodeHttpCanStandIn(): boolean {
  const own = globalThis.fetch;
  if (typeof own !== 'function' || !Function.prototype.toString.call(own).includes(NODE_FETCH_SOURCE)) return false;
  const dispatcher = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER];
  return dispatcher === undefined || (dispatcher as { constructor?: { name?: string } }).constructor?.name === 'Agent';
}

/**
 * The fetch a client uses when given none: node:http over one shared keep-alive pool when it
 * may stand in for the global fetch (`nodeHttpCanStandIn`), else the global fetch. Idle
 * pooled sockets do not keep the process alive (node:http unrefs them).
 *
 * @example
 * const client = createClient({ endpoint, apiKey, deployment, fetch: defaultFetch() }); // what leaving `fetch` out does
 */
export function defaultFetch(): typeof fetch {
  if (!nodeHttpCanStandIn()) return globalThis.fetch;
  shared ??= createHttpFetch();
  return shared.fetch;
}

/** What Node's own global fetch has in its source: it loads the undici bundled with Node. */
const NODE_FETCH_SOURCE = "require('internal/deps/undici/undici')";
/** Where undici (Node's and npm's) keeps the global dispatcher. */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
let shared: HttpFetch | undefined;

/** Statuses whose Response may not have a body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * Creates a fetch over node:http(s) with keep-alive pools. Only what the client sends is
 * supported: string bodies, `redirect: 'manual'` (redirects are returned, never followed),
 * plain header records. Failures reject as the global fetch does: a TypeError whose `cause`
 * carries the system error (`code`), or the signal's reason once aborted.
 *
 * @example
 * const http = createHttpFetch();
 * const client = createClient({ endpoint, apiKey, deployment, fetch: http.fetch });
 * // ...
 * http.close();
 */
export function createHttpFetch(): HttpFetch {
  const agents = {
    http: new HttpAgent({ keepAlive: true }),
    https: new HttpsAgent({ keepAlive: true }),
  };
  const targets = new TargetCache();
  const fetchImpl = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const target = targets.get(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (typeof target === 'string') {
      return Promise.reject(new TypeError(`fetch failed: ${target} URLs are not supported`));
    }
    if (init.body != null && typeof init.body !== 'string') {
      return Promise.reject(new TypeError('This fetch sends string bodies only'));
    }
    // The request is made and sent here, not in the answer's promise: what its listeners can
    // reach stays in memory as long as the answer's body is read, and the body sent (a whole
    // conversation) must not be part of it.
    const body = init.body ?? undefined;
    const headers = headerRecord(init.headers);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    let req: ClientRequest;
    try {
      req = (target.secure ? httpsRequest : httpRequest)({
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        path: target.path,
        ...(target.auth !== undefined ? { auth: target.auth } : {}),
        method: init.method ?? 'GET',
        headers,
        agent: target.secure ? agents.https : agents.http,
      });
    } catch (error) {
      return Promise.reject(error);
    }
    const answered = answerOf(req, signal);
    req.end(body);
    return answered;
  };
  return {
    fetch: fetchImpl as typeof fetch,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** Where a URL sends a request: parsed once per URL, not once per request. */
interface Target {
  secure: boolean;
  protocol: string;
  hostname: string;
  port: string;
  path: string;
  /** `user:password` from the URL, as node:http's own URL handling passes it. */
  auth?: string;
}

/** URLs seen, parsed; a URL that is not http(s) maps to its protocol. Bounded: cleared when full. */
class TargetCache {
  static readonly MAX = 256;
  readonly #parsed = new Map<string, Target | string>();

  get(href: string): Target | string {
    let target = this.#parsed.get(href);
    if (target === undefined) {
      target = parseTarget(href);
      if (this.#parsed.size >= TargetCache.MAX) this.#parsed.clear();
      this.#parsed.set(href, target);
    }
    return target;
  }
}

function parseTarget(href: string): Target | string {
  const url = new URL(href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return url.protocol;
  const target: Target = {
    secure: url.protocol === 'https:',
    protocol: url.protocol,
    // node:http wants an IPv6 literal without its brackets.
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
  };
  if (url.username !== '' || url.password !== '') {
    target.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  }
  return target;
}

/** The answer to `req` as fetch gives it: a Response once its headers came, or the failure. */
function answerOf(req: ClientRequest, signal: AbortSignal | undefined): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    // The request's listeners live as long as the answer's body is read. They reach the
    // promise only until it settles: through its resolvers the settled promise would keep
    // the Response (and its headers) for a whole stream.
    let settle: { resolve: (response: Response) => void; reject: (reason: unknown) => void } | undefined = {
      resolve,
      reject,
    };
    // One listener for the whole exchange: before the answer an abort rejects the fetch;
    // after it, it ends the body (the reader sees the signal's reason).
    let answer: IncomingMessage | undefined;
    const onAbort = () => {
      if (answer !== undefined) {
        answer.destroy(signal?.reason);
        return;
      }
      req.destroy(signal?.reason);
      settle?.reject(signal?.reason);
      settle = undefined;
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: Error) => {
      if (answer !== undefined) return;
      signal?.removeEventListener('abort', onAbort);
      settle?.reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
      settle = undefined;
    });
    req.on('response', (res: IncomingMessage) => {
      // The request's head is kept as long as the answer is read: flattened now, once it was
      // sent, rather than before, where it would hold up the request's first write.
      flattenHead(req);
      answer = res;
      const resolved = settle?.resolve;
      settle = undefined;
      if (resolved === undefined) {
        res.destroy(); // the fetch already failed (aborted): nobody reads this answer
        return;
      }
      const status = res.statusCode ?? 0;
      if (NULL_BODY.has(status) || status < 200 || status > 599) {
        res.resume();
        resolved(withRawHeaders(new Response(null, { status: NULL_BODY.has(status) ? status : 502 }), res.rawHeaders));
        return;
      }
      const response = new NodeBodyResponse(res, {
        status,
        statusText: res.statusMessage ?? '',
      }) as unknown as Response;
      // The client's SSE source reads `res` itself (client/body-feed.ts): no web stream at all.
      offerNodeBody(response, res);
      resolved(response);
    });
  });
}

/**
 * `response` with node:http's raw header list appended to its own `headers` (a Response made
 * with a `headers` init would copy them from a second Headers object).
 */
function withRawHeaders(response: Response, raw: readonly string[]): Response {
  appendRawHeaders(response.headers, raw);
  (response as Response & { [RAW_HEADERS]?: readonly string[] })[RAW_HEADERS] = raw;
  return response;
}

/**
 * Appends node:http's raw header list (`[name, value, ...]`) to `headers`: the one way an
 * answer's `Headers` is made from it, whenever it is made.
 *
 * @example
 * const headers = appendRawHeaders(new Headers(), message.rawHeaders);
 */
export function appendRawHeaders(headers: Headers, raw: readonly string[]): Headers {
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

/** Where an answer of this fetch keeps node:http's raw header list. */
const RAW_HEADERS = Symbol('sluice.rawHeaders');

/**
 * What an answer says in its headers, read as `response.headers.get` would read it: from
 * node:http's raw list when the answer came through this fetch (a streamed answer's client reads
 * a dozen headers and never needs the `Headers` object, which costs more to fill than the
 * readings), else from `response.headers`.
 *
 * @example
 * const region = headerLookupOf(response).get('x-ms-region');
 */
export function headerLookupOf(response: Response): HeaderLookup {
  const raw = rawHeadersOf(response);
  return raw === undefined ? response.headers : new RawHeaderLookup(raw);
}

/** `Headers.get` over node:http's raw list: any case, repeats joined with ", " (node:http's parser has trimmed the values). */
class RawHeaderLookup implements HeaderLookup {
  readonly #raw: readonly string[];

  constructor(raw: readonly string[]) {
    this.#raw = raw;
  }

  get(name: string): string | null {
    const wanted = name.toLowerCase();
    const raw = this.#raw;
    let value: string | null = null;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i]!;
      if (key.length !== wanted.length || (key !== wanted && key.toLowerCase() !== wanted)) continue;
      const one = raw[i + 1]!;
      value = value === null ? one : `${value}, ${one}`;
    }
    return value;
  }
}

/**
 * node:http's raw header list (`[name, value, ...]`) behind an answer of this fetch; undefined
 * for any other Response. The list lives as long as the answer's body, so what must outlast
 * the Response (a stream's `meta`) can keep it instead of a `Headers`.
 *
 * @example
 * const raw = rawHeadersOf(response); // ['content-type', 'text/event-stream', ...]
 */
export function rawHeadersOf(response: Response): readonly string[] | undefined {
  return (response as Response & { [RAW_HEADERS]?: readonly string[] })[RAW_HEADERS];
}

/**
 * The request's headers as node:http takes them, names lower-cased. A plain record (what the
 * client sends) is copied as it is; anything else goes through `Headers`.
 */
function headerRecord(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (init === undefined) return out;
  if (init instanceof Headers || Array.isArray(init)) {
    for (const [name, value] of new Headers(init)) out[name] = value;
    return out;
  }
  for (const name of Object.keys(init)) {
    const value = init[name];
    if (value !== undefined) out[name.toLowerCase()] = String(value);
  }
  return out;
}

/**
 * A Response whose body is `message`, as a web stream made only when someone asks for
 * `body` (or reads it with `text()` and the like): the client's SSE source takes the message
 * itself (`offerNodeBody`), and a web stream per request costs as much CPU as a dozen
 * relayed chunks. Until then it is a Response with no body underneath. Its `headers` are
 * filled from the message's raw list when first read: the client reads a streamed answer's
 * headers through `headerLookupOf`, and then never.
 */
class NodeBodyResponse extends (Response as unknown as new (
  body: null,
  init: ResponseInit,
) => { get headers(): Headers }) {
  readonly #message: IncomingMessage;
  #web: ReadableStream<Uint8Array> | undefined;
  #headersFilled = false;

  constructor(message: IncomingMessage, init: ResponseInit) {
    super(null, init);
    this.#message = message;
    (this as { [RAW_HEADERS]?: readonly string[] })[RAW_HEADERS] = message.rawHeaders;
  }

  override get headers(): Headers {
    const headers = super.headers;
    if (!this.#headersFilled) {
      this.#headersFilled = true;
      appendRawHeaders(headers, this.#message.rawHeaders);
    }
    return headers;
  }

  get body(): ReadableStream<Uint8Array> {
    this.#web ??= lazyBody(this.#message, () => claimNodeBody(this.#self));
    return this.#web;
  }

  /** Read through `body`, or taken by the SSE source. */
  get bodyUsed(): boolean {
    return this.#web !== undefined ? this.#web.locked : !offersNodeBody(this.#self);
  }

  text(): Promise<string> {
    return this.#whole((whole) => whole.text());
  }

  json(): Promise<unknown> {
    return this.#whole((whole) => whole.json());
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#whole((whole) => whole.arrayBuffer());
  }

  blob(): Promise<Blob> {
    return this.#whole((whole) => whole.blob());
  }

  formData(): Promise<FormData> {
    return this.#whole((whole) => whole.formData());
  }

  clone(): Response {
    throw new TypeError('This response cannot be cloned: read its body once');
  }

  /** Reads the body as a plain Response does (the methods above); a body already read rejects, as fetch's. */
  #whole<T>(read: (whole: Response) => Promise<T>): Promise<T> {
    if (this.bodyUsed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    return read(new Response(this.body, { headers: this.#self.headers }));
  }

  /** This object as the Response it is (the base class is typed loosely, to override its body). */
  get #self(): Response {
    return this as unknown as Response;
  }
}

/**
 * A web stream over `res` that starts reading only when first pulled, and only if the SSE
 * source did not take `res` first (`claim` returns it once).
 */
function lazyBody(res: IncomingMessage, claim: () => Readable | undefined): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (reader === undefined) {
          const own = claim();
          if (own === undefined) {
            controller.error(new TypeError('This body is already being read'));
            return;
          }
          reader = (Readable.toWeb(own) as ReadableStream<Uint8Array>).getReader();
        }
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        if (reader !== undefined) await reader.cancel(reason);
        else if (claim() !== undefined) res.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
