// A node:http server on 127.0.0.1 for one test, with the client's node:http fetch
// (`createHttpFetch`) to reach it: both closed when the test ends.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { createHttpFetch } from '../../src/client/http-fetch.js';

/** Starts a server answering with `handler`; `connections()` counts the connections it accepted. */
export async function serveNodeHttp(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; fetch: typeof fetch; connections: () => number }> {
  const server = createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const http = createHttpFetch();
  t.after(() => {
    http.close();
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, fetch: http.fetch, connections: () => connections };
}
