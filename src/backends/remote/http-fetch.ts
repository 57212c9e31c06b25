/**
 * A `fetch` for the remote backend built on node:http / node:https: the same contract the
 * client relies on (a POST with a string body, manual redirects, an AbortSignal, a Response
 * whose body is a web ReadableStream), for less CPU per chunk than the global fetch. A
 * gateway reads every upstream chunk, so this is its hot path: reading 128 of the gateway
 * bench's mock streams at once, the global fetch cost 40-50 µs of CPU per read here, node:http
 * 15-17 µs, and node:http behind a web stream 20-23 µs. So the web stream is made only when
 * someone reads `response.body`; the client's SSE source takes the node:http message itself
 * (`offerNodeBody`, client/body-feed.ts) and reads its `data` events directly.
 * @module
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { claimNodeBody, offerNodeBody } from '../../client/body-feed.js';

/** A fetch with its own keep-alive connection pools; `close()` drops them. */
export interface HttpFetch {
  fetch: typeof fetch;
  close(): void;
}

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
  const fetchImpl = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      if (signal?.aborted) return reject(signal.reason);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return reject(new TypeError(`fetch failed: ${url.protocol} URLs are not supported`));
      }
      if (init.body != null && typeof init.body !== 'string') {
        return reject(new TypeError('This fetch sends string bodies only'));
      }
      const secure = url.protocol === 'https:';
      const body = init.body ?? undefined;
      const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers));
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: init.method ?? 'GET',
        headers,
        agent: secure ? agents.https : agents.http,
      });
      const onAbort = () => {
        req.destroy(signal?.reason);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
      });
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const responseHeaders = new Headers();
        const raw = res.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.append(raw[i]!, raw[i + 1]!);
        // From here on an abort ends the body: the reader sees the signal's reason.
        signal?.removeEventListener('abort', onAbort);
        signal?.addEventListener('abort', () => res.destroy(signal.reason), { once: true });
        if (NULL_BODY.has(status) || status < 200 || status > 599) {
          res.resume();
          resolve(new Response(null, { status: NULL_BODY.has(status) ? status : 502, headers: responseHeaders }));
          return;
        }
        const response = new Response(
          lazyBody(res, () => claimNodeBody(response)),
          {
            status,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders,
          },
        );
        // The client's SSE source reads `res` itself (client/body-feed.ts): no web stream per read.
        offerNodeBody(response, res);
        resolve(response);
      });
      req.end(body);
    });
  };
  return {
    fetch: fetchImpl as typeof fetch,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
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
