/**
 * The remote backend: Azure OpenAI, OpenAI or any OpenAI-compatible server behind the
 * Backend seam, with the Sluice client (retries, time-outs, abort, end states): streamed
 * requests with `stream()`, non-streaming ones with `create()`, embeddings with `embed()`, so
 * each is forwarded as the caller asked. The server's upstream (gateway) mode uses it. Every error leaving it has
 * been scrubbed by the client of this backend's own credential and of anything that looks
 * like one (protocol/secrets.ts): an upstream or a proxy that echoes the key must not hand
 * it to the gateway's clients.
 * @module
 */

import {
  type Backend,
  type BackendRequest,
  type EmbeddingsBackendRequest,
  failedIterator,
  type ModelInfo,
  type ResponsesBackendRequest,
} from '../../backend.js';
import { createClient, type SluiceClient } from '../../client/client.js';
import { createHttpFetch, nodeHttpCanStandIn } from '../../client/http-fetch.js';
import type { ClientOptions, Timeouts } from '../../client/options.js';
import type { EmbeddingsResponse } from '../../protocol/embeddings.js';
import { isTerminalEvent } from '../../protocol/responses/events.js';
import type { ResponseObject, ResponseStreamEvent } from '../../protocol/responses/types.js';
import type { ApiKind, ApiTypes } from '../../types.js';

export interface RemoteBackendOptions extends ClientOptions {
  /** Shown in logs and `/v1/models`; default `azure:<endpoint>` or `openai:<baseURL>`. */
  name?: string;
  /** What `models()` lists; default the configured deployment, if any. */
  models?: string[];
  /**
   * Time-outs of `stream()` calls over the client's own (`timeouts`), e.g. `{ headersMs: 0 }`
   * when the caller times each stream's headers itself (a gateway's router): one timer, and
   * no extra abort signal, per request.
   */
  streamTimeouts?: Timeouts;
}

/**
 * A Backend that forwards each request upstream and yields the upstream chunks unchanged
 * (Azure filter chunks included). Errors are the client's typed errors; aborting the
 * signal closes the upstream connection at once and ends the iterator with AbortError.
 *
 * The request's `deployment` (what the caller addressed) overrides the configured one.
 *
 * @example
 * const upstream = createRemoteBackend({ endpoint: 'https://x.openai.azure.com', apiKey, deployment: 'gpt-4o' });
 * for await (const chunk of upstream.stream({ kind: 'chat', body: { messages } }, signal)) console.log(chunk);
 */
export function createRemoteBackend(options: RemoteBackendOptions): Backend & { readonly client: SluiceClient } {
  // Unless a fetch is given (or the global one must be honoured: client/http-fetch.ts),
  // node:http with this backend's own pools, closed with it: the global fetch costs more per
  // relayed chunk than the rest of the relay (bench/gateway.bench.ts).
  const http = options.fetch || !nodeHttpCanStandIn() ? undefined : createHttpFetch();
  const client = createClient(http ? { ...options, fetch: http.fetch } : options);
  const name =
    options.name ?? (client.target.kind === 'openai' ? `openai:${client.target.base}` : `azure:${client.target.base}`);
  const models = options.models ?? (options.deployment ? [options.deployment] : []);
  const streamCall = options.streamTimeouts ? { timeouts: options.streamTimeouts } : {};
  return {
    name,
    client,
    stream<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): AsyncIterable<ApiTypes[K]['chunk']> {
      try {
        // The server relays these chunks: read for forwarding (each chunk's text kept, so it
        // forwards the upstream's bytes), with none of what only a reader of the whole answer needs.
        return client.relay(request.kind, request.body, { signal, ...streamCall, ...addressOf(request) });
      } catch (err) {
        // A request that cannot be addressed (no deployment) fails when iterated, like any other.
        return failing(err);
      }
    },
    async create<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): Promise<ApiTypes[K]['response']> {
      const body = { ...request.body, stream: false };
      delete body.stream_options;
      return client.create(request.kind, body, { signal, ...addressOf(request) });
    },
    responses(request: ResponsesBackendRequest, signal: AbortSignal): AsyncIterable<ResponseStreamEvent> {
      try {
        // Relayed too: keep each event's text so the server forwards the upstream's bytes.
        return relayedEvents(client.responses.stream(request.body, { signal, relay: true, ...addressOf(request) }));
      } catch (err) {
        return failing(err);
      }
    },
    async createResponse(request: ResponsesBackendRequest, signal: AbortSignal): Promise<ResponseObject> {
      return client.responses.create({ ...request.body, stream: false }, { signal, ...addressOf(request) });
    },
    /**
     * Relayed in the encoding the caller asked for. `float` when it named none (the API's
     * default), so the upstream's numbers pass as they are rather than through float32.
     */
    async embed(request: EmbeddingsBackendRequest, signal: AbortSignal): Promise<EmbeddingsResponse> {
      const body = { ...request.body, encoding_format: request.body.encoding_format ?? 'float' };
      return client.embeddings.create(body, { signal, ...addressOf(request) });
    },
    async models(): Promise<ModelInfo[]> {
      return models.map((id) => ({ id, object: 'model', created: 0, owned_by: name }));
    },
    async close(): Promise<void> {
      http?.close();
    },
  };
}

function addressOf(request: BackendRequest | ResponsesBackendRequest | EmbeddingsBackendRequest): {
  deployment?: string;
} {
  return request.deployment !== undefined ? { deployment: request.deployment } : {};
}

/**
 * The upstream's events as they came. The client's stream throws after a `response.failed`
 * or `error` event it yielded; that event already says how the response ended, so the
 * relay ends there instead of throwing it again.
 */
async function* relayedEvents(events: AsyncIterable<ResponseStreamEvent>): AsyncGenerator<ResponseStreamEvent> {
  let terminal = false;
  try {
    for await (const event of events) {
      terminal = isTerminalEvent(event);
      yield event;
    }
  } catch (err) {
    if (!terminal) throw err;
  }
}

function failing(err: unknown): AsyncIterable<never> {
  return {
    [Symbol.asyncIterator]: () => failedIterator(err),
  };
}
