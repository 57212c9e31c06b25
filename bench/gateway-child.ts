/**
 * The gateway bench's server processes, each in its own process so that none shares an event
 * loop with the load generator or another contender:
 *
 *   mock             the mock Azure upstream (bench/gateway-mock.ts)
 *   bare <mockPort>  a bare node:http pass-through proxy: the floor for any relay in Node
 *   sluice <mockPort> Sluice's server in front of the mock (see `sluiceBackend`)
 *
 * Started with `fork` by bench/gateway.bench.ts; each sends `{ port }` over IPC once it
 * listens on 127.0.0.1, and exits when the parent goes away.
 * @module
 */
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  request,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../src/backend.js';
import { createRemoteBackend } from '../src/backends/remote/index.js';
import { createServer as createSluiceServer } from '../src/server/index.js';
import { DEPLOYMENT, startMock } from './gateway-mock.js';

/**
 * The backend behind the Sluice contender: the remote backend against the mock, with no
 * retries (as a gateway target has). When the gateway router lands, return
 * `createRouterBackend(...)` over this one target here; nothing else in the bench changes.
 */
function sluiceBackend(mockUrl: string): Backend {
  return createRemoteBackend({ endpoint: mockUrl, apiKey: 'bench-key', deployment: DEPLOYMENT, maxRetries: 0 });
}

// Connection-level headers are the proxy's own business on each hop (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** Pipes each request to the upstream and the answer back, byte for byte; a hang-up closes the upstream request. */
function bareProxy(upstreamPort: number): Server {
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
    upstream.on('error', () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  const [role, mockPort] = process.argv.slice(2);
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  let port: number;
  if (role === 'mock') port = ((await startMock()).address() as AddressInfo).port;
  else if (role === 'bare') port = await listen(bareProxy(Number(mockPort)));
  else if (role === 'sluice')
    port = (await createSluiceServer({ deployments: { [DEPLOYMENT]: sluiceBackend(mockUrl) } }).listen(0)).port;
  else throw new Error(`Unknown role ${role}: use mock, bare <mockPort> or sluice <mockPort>.`);
  process.on('disconnect', () => process.exit(0));
  process.send?.({ port });
}

await main();
