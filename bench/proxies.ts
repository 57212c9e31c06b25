/**
 * The gateway bench's two baseline relays, each in front of an upstream on 127.0.0.1:
 *
 * - `bareProxy`: pipes bytes both ways; the floor for any relay in Node;
 * - `readingProxy`: reads what a gateway must read (the request's JSON, every chunk) and
 *   forwards the upstream's own bytes; the floor for a relay that knows what it relays.
 *
 * Neither is Sluice: they show what a relay costs before any of its features.
 * @module
 */
import {
  Agent,
  type ClientRequest,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';

// Connection-level headers are the proxy's own business on each hop (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** Pipes each request to the upstream and the answer back, byte for byte; a hang-up closes the upstream request. */
export function bareProxy(upstreamPort: number): Server {
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  return createServer({ noDelay: true }, (req, res) => {
    const upstream = request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        method: req.method,
        path: req.url,
        headers: endToEnd(req.headers),
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(res);
      },
    );
    tieToAnswer(upstream, res);
    req.pipe(upstream);
  });
}

/**
 * The least a gateway must do with a stream, as a second floor beside the bare proxy: read the
 * request's JSON (a gateway routes on it, bounds it and sends a body of its own upstream) and
 * every chunk of the answer (it must tell a cut or malformed stream from a finished one, count
 * usage and keep the text), while forwarding the upstream's own bytes. No keys, limits, routing,
 * failover, time-outs, logs or metrics. It reads the mock's framing only (`data: ` events ending
 * in a blank line, LF only); Sluice's decoder reads every framing the SSE spec allows.
 */
export function readingProxy(upstreamPort: number): Server {
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  return createServer({ noDelay: true }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      } catch {
        body = undefined;
      }
      if (body === null || typeof body !== 'object' || !Array.isArray((body as { messages?: unknown }).messages)) {
        res.writeHead(400).end();
        return;
      }
      const payload = JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } });
      const upstream = request(
        {
          host: '127.0.0.1',
          port: upstreamPort,
          method: 'POST',
          path: req.url,
          headers: {
            'api-key': req.headers['api-key'],
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
          if (answer.statusCode !== 200) {
            answer.pipe(res);
            return;
          }
          const decoder = new TextDecoder();
          let pending = '';
          let text = ''; // what a gateway keeps: the partial answer
          let sawDone = false;
          // A broken stream must not end cleanly (no chunked terminator), yet what was relayed
          // reaches the client first: the connection closes once the writes before it are out.
          let unflushed = 0;
          let cutting = false;
          const closeAnswer = () => res.destroy(new Error(`The upstream stream broke after ${text.length} characters`));
          const flushed = () => {
            if (--unflushed === 0 && cutting) closeAnswer();
          };
          const cut = () => {
            answer.destroy();
            if (unflushed === 0) closeAnswer();
            else cutting = true;
          };
          answer.on('data', (bytes: Buffer) => {
            pending += decoder.decode(bytes, { stream: true });
            for (let end = pending.indexOf('\n\n'); end !== -1; end = pending.indexOf('\n\n')) {
              const event = pending.slice(0, end);
              pending = pending.slice(end + 2);
              if (event === 'data: [DONE]') sawDone = true;
              else if (event.startsWith('data: ')) {
                try {
                  const delta = JSON.parse(event.slice(6))?.choices?.[0]?.delta?.content;
                  if (typeof delta === 'string') text += delta;
                } catch {
                  cut();
                  return;
                }
              }
            }
            unflushed++;
            res.write(bytes, flushed);
          });
          // A stream that ends without [DONE] was cut.
          answer.on('end', () => (sawDone ? res.end() : cut()));
          answer.on('error', cut);
        },
      );
      tieToAnswer(upstream, res);
      upstream.end(payload);
    });
  });
}

/** The upstream's failure ends the answer (502 before its headers); a client hang-up closes the upstream request. */
function tieToAnswer(upstream: ClientRequest, res: ServerResponse): void {
  upstream.on('error', () => {
    if (res.headersSent) res.destroy();
    else res.writeHead(502).end();
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
}
