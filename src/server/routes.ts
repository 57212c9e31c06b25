/**
 * The route table: method + raw request URL -> what to do. Pure (no I/O), so it is tested
 * without sockets. The path is split by hand rather than with `new URL`, which would read
 * `//host/...` as a host and resolve `..` segments. Runs of slashes count as one, as Azure
 * routes them: an endpoint copied from the portal ends with `/`, and SDKs then ask for
 * `//openai/deployments/...`.
 * @module
 */
import type { ApiKind } from '../types.js';
import {
  type ErrorReply,
  invalidApiVersion,
  invalidRequest,
  MISSING_API_VERSION,
  methodNotAllowed,
  notFound,
} from './error-replies.js';

/** `azure`: the `/openai/...` routes (prompt-filter chunk, content_filter_results); `openai`: `/v1/...`. */
export type Dialect = 'azure' | 'openai';

/** Low-cardinality route labels for metrics and logs (never a deployment name). */
export type RouteLabel =
  | 'azure_chat'
  | 'azure_completions'
  | 'azure_v1_chat'
  | 'azure_v1_completions'
  | 'openai_chat'
  | 'openai_completions'
  | 'azure_responses'
  | 'azure_v1_responses'
  | 'openai_responses'
  | 'responses_get'
  | 'azure_embeddings'
  | 'azure_v1_embeddings'
  | 'openai_embeddings'
  | 'models'
  | 'healthz'
  | 'metrics'
  | 'usage'
  | 'preflight'
  | 'static'
  | 'stream_resume'
  | 'stream_stop'
  | 'unmatched';

export type Route =
  | {
      type: 'generate';
      label: RouteLabel;
      kind: ApiKind;
      dialect: Dialect;
      /** From the path on dated Azure routes; otherwise the body's `model` names it. */
      deployment?: string;
      /** Dated Azure routes only (validated). */
      apiVersion?: string;
    }
  | {
      /**
       * `POST /v1/responses`, `/openai/v1/responses`: the body's `model` names the deployment;
       * `/openai/deployments/{d}/responses` (LangChain's AzureChatOpenAI asks there): the path does.
       */
      type: 'responses';
      label: 'azure_responses' | 'azure_v1_responses' | 'openai_responses';
      dialect: Dialect;
      deployment?: string;
    }
  | {
      /** `GET /v1/responses/{id}`, `/openai/v1/responses/{id}` (`?stream=true&starting_after=N` resumes). */
      type: 'response';
      label: 'responses_get';
      dialect: Dialect;
      id: string;
      stream: boolean;
      /** Events up to this sequence number are not sent again; -1: all. */
      startingAfter: number;
    }
  | {
      /** `/embeddings` (protocol/embeddings.ts): one JSON answer, never a stream. */
      type: 'embeddings';
      label: 'azure_embeddings' | 'azure_v1_embeddings' | 'openai_embeddings';
      dialect: Dialect;
      /** From the path on dated Azure routes; otherwise the body's `model` names it. */
      deployment?: string;
      /** Dated Azure routes only (validated). */
      apiVersion?: string;
    }
  | { type: 'models'; label: 'models'; dialect: Dialect }
  | { type: 'healthz'; label: 'healthz' }
  | { type: 'metrics'; label: 'metrics' }
  | { type: 'usage'; label: 'usage'; query: URLSearchParams }
  | { type: 'preflight'; label: 'preflight' }
  /** `GET /sluice/v1/streams/{id}` (resume) and `POST …/{id}/stop` (stream-routes.ts). */
  | { type: 'stream'; label: 'stream_resume' | 'stream_stop'; id: string };

export type RouteMatch = { route: Route } | { error: ErrorReply; label: RouteLabel; notFound?: true };

/** `YYYY-MM-DD` or `YYYY-MM-DD-preview`: any well-formed Azure api-version. */
const API_VERSION = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(-preview)?$/;

/**
 * Matches a request. Errors come back ready to send: 404 (unknown route), 405 (known route,
 * wrong method), 400 (missing or malformed api-version on a dated route).
 *
 * @example
 * ```ts
 * matchRoute('POST', '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21');
 * // { route: { type: 'generate', kind: 'chat', dialect: 'azure', deployment: 'gpt-4o', apiVersion: '2024-10-21', ... } }
 * ```
 */
export function matchRoute(method: string, url: string): RouteMatch {
  const q = url.indexOf('?');
  const raw = q === -1 ? url : url.slice(0, q);
  const path = raw.includes('//') ? raw.replace(/\/{2,}/g, '/') : raw;
  const query = q === -1 ? '' : url.slice(q + 1);

  if (method === 'OPTIONS') return { route: { type: 'preflight', label: 'preflight' } };
  const dialect = dialectOf(path);
  const post = (route: Route): RouteMatch =>
    method === 'POST' ? { route } : { error: methodNotAllowed(dialect, method, 'POST, OPTIONS'), label: route.label };
  const get = (route: Route): RouteMatch =>
    method === 'GET' || method === 'HEAD'
      ? { route }
      : { error: methodNotAllowed(dialect, method, 'GET, HEAD, OPTIONS'), label: route.label };

  const responses = responsesPath(path);
  if (responses !== undefined) {
    if (responses === '') {
      const label = dialect === 'openai' ? 'openai_responses' : 'azure_v1_responses';
      return post({ type: 'responses', label, dialect });
    }
    const id = decodeSegment(responses);
    if (id === undefined || id.includes('/')) {
      return { error: notFound(dialect, method, path), label: 'unmatched', notFound: true };
    }
    const params = new URLSearchParams(query);
    const after = params.get('starting_after');
    const startingAfter = after === null || after === '' ? -1 : Number(after);
    if (!Number.isSafeInteger(startingAfter) || startingAfter < -1) {
      return {
        error: invalidRequest(dialect, {
          message: `starting_after must be a whole number (the sequence number of the last event received); got ${JSON.stringify(String(after).slice(0, 40))}.`,
          param: 'starting_after',
          code: 'invalid_value',
        }),
        label: 'responses_get',
      };
    }
    return get({
      type: 'response',
      label: 'responses_get',
      dialect,
      id,
      stream: params.get('stream') === 'true',
      startingAfter,
    });
  }

  switch (path) {
    case '/v1/chat/completions':
      return post({ type: 'generate', label: 'openai_chat', kind: 'chat', dialect: 'openai' });
    case '/v1/completions':
      return post({ type: 'generate', label: 'openai_completions', kind: 'completions', dialect: 'openai' });
    case '/openai/v1/chat/completions':
      return post({ type: 'generate', label: 'azure_v1_chat', kind: 'chat', dialect: 'azure' });
    case '/openai/v1/completions':
      return post({ type: 'generate', label: 'azure_v1_completions', kind: 'completions', dialect: 'azure' });
    case '/v1/embeddings':
      return post({ type: 'embeddings', label: 'openai_embeddings', dialect: 'openai' });
    case '/openai/v1/embeddings':
      return post({ type: 'embeddings', label: 'azure_v1_embeddings', dialect: 'azure' });
    case '/v1/models':
      return get({ type: 'models', label: 'models', dialect: 'openai' });
    case '/openai/v1/models':
      return get({ type: 'models', label: 'models', dialect: 'azure' });
    case '/openai/models': {
      const m = get({ type: 'models', label: 'models', dialect: 'azure' });
      if ('error' in m) return m;
      const version = checkApiVersion(query);
      return typeof version === 'string' ? m : { error: version, label: 'models' };
    }
    case '/healthz':
      return get({ type: 'healthz', label: 'healthz' });
    case '/metrics':
      return get({ type: 'metrics', label: 'metrics' });
    case '/sluice/v1/usage':
      return get({ type: 'usage', label: 'usage', query: new URLSearchParams(query) });
  }

  // /sluice/v1/streams/{id} and /sluice/v1/streams/{id}/stop
  const streams = '/sluice/v1/streams/';
  if (path.startsWith(streams)) {
    const [id, action, extra] = path.slice(streams.length).split('/');
    if (id && extra === undefined) {
      if (action === undefined) return get({ type: 'stream', label: 'stream_resume', id });
      if (action === 'stop') return post({ type: 'stream', label: 'stream_stop', id });
    }
  }

  // /openai/deployments/{deployment}/((chat/)?completions|embeddings)
  const prefix = '/openai/deployments/';
  if (path.startsWith(prefix)) {
    const slash = path.indexOf('/', prefix.length);
    if (slash > prefix.length) {
      const rest = path.slice(slash);
      if (rest === '/responses') {
        const deployment = decodeSegment(path.slice(prefix.length, slash));
        if (deployment === undefined)
          return { error: notFound(dialect, method, path), label: 'unmatched', notFound: true };
        return post({ type: 'responses', label: 'azure_responses', dialect: 'azure', deployment });
      }
      const kind: ApiKind | undefined =
        rest === '/chat/completions' ? 'chat' : rest === '/completions' ? 'completions' : undefined;
      const embeddings = rest === '/embeddings';
      if (kind !== undefined || embeddings) {
        const label =
          kind === 'chat' ? 'azure_chat' : kind === 'completions' ? 'azure_completions' : 'azure_embeddings';
        if (method !== 'POST') return { error: methodNotAllowed(dialect, method, 'POST, OPTIONS'), label };
        const deployment = decodeSegment(path.slice(prefix.length, slash));
        if (deployment === undefined)
          return { error: notFound(dialect, method, path), label: 'unmatched', notFound: true };
        const version = checkApiVersion(query);
        if (typeof version !== 'string') return { error: version, label };
        if (kind === undefined) {
          return {
            route: { type: 'embeddings', label: 'azure_embeddings', dialect: 'azure', deployment, apiVersion: version },
          };
        }
        return { route: { type: 'generate', label, kind, dialect: 'azure', deployment, apiVersion: version } };
      }
    }
  }
  return { error: notFound(dialect, method, path), label: 'unmatched', notFound: true };
}

/**
 * The dialect of a path: OpenAI's on `/v1/...`, Azure's everywhere else (errors on unknown
 * paths are worded for the API the client was trying to reach).
 *
 * @example
 * dialectOf('/v1/chat/completions'); // 'openai'
 */
export function dialectOf(path: string): Dialect {
  return path === '/v1' || path.startsWith('/v1/') ? 'openai' : 'azure';
}

// --- internal ---

/**
 * For `/v1/responses`, `/openai/v1/responses` and `/openai/responses` (Azure's preview
 * spelling): '' for the collection, the raw rest after `/responses/` for a sub-path (an
 * id, or more); undefined for any other path.
 */
function responsesPath(path: string): string | undefined {
  const rest = path.startsWith('/openai/') ? path.slice(7) : path;
  const tail = rest.startsWith('/v1/') ? rest.slice(3) : rest;
  if (tail === '/responses') return '';
  return tail.startsWith('/responses/') && tail.length > 11 ? tail.slice(11) : undefined;
}

/** The api-version from a query string, or the error to send. */
function checkApiVersion(query: string): string | ErrorReply {
  const version = queryParam(query, 'api-version');
  if (version === null || version === '') return MISSING_API_VERSION;
  return API_VERSION.test(version) ? version : invalidApiVersion(version.slice(0, 64));
}

/**
 * `new URLSearchParams(query).get(name)`, for a `name` that needs no decoding. A query with
 * nothing to decode in it (no `%`, no `+`, as an SDK's `api-version=2024-10-21`) is read as it
 * stands, which reads the same and costs a few string searches instead of a parse on every
 * request; any other goes to URLSearchParams.
 */
function queryParam(query: string, name: string): string | null {
  if (query === '') return null;
  // (URLSearchParams also drops one leading `?`.)
  if (query.includes('%') || query.includes('+') || query.startsWith('?')) return new URLSearchParams(query).get(name);
  let from = 0;
  while (from <= query.length) {
    let end = query.indexOf('&', from);
    if (end === -1) end = query.length;
    const eq = query.indexOf('=', from);
    const nameEnd = eq === -1 || eq > end ? end : eq;
    if (nameEnd - from === name.length && query.startsWith(name, from)) {
      return nameEnd === end ? '' : query.slice(nameEnd + 1, end);
    }
    from = end + 1;
  }
  return null;
}

/** A percent-decoded path segment; undefined when malformed or empty. */
function decodeSegment(raw: string): string | undefined {
  try {
    const s = decodeURIComponent(raw);
    return s === '' ? undefined : s;
  } catch {
    return undefined;
  }
}
