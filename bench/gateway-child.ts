/**
 * The gateway bench's server processes, each in its own process so that none shares an event
 * loop with the load generator or another contender:
 *
 *   mock             the mock Azure upstream (bench/gateway-mock.ts); sends its streams' times when sent `times`
 *   bare <mockPort>  a bare node:http pass-through proxy: the floor for any relay in Node (bench/proxies.ts)
 *   reader <mockPort>  the reading proxy: the least a gateway must read, and no more (bench/proxies.ts)
 *   sluice <mockPort> [gateway|remote]  Sluice's server in front of the mock (see `sluiceDeployments`)
 *
 * Started with `fork` by bench/gateway.bench.ts; each sends `{ port }` over IPC once it
 * listens on 127.0.0.1, and exits when the parent goes away.
 * @module
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../src/backend.js';
import { createRemoteBackend } from '../src/backends/remote/index.js';
import { openGateway } from '../src/cli/serve-backends.js';
import { parseGatewayConfig } from '../src/gateway/config.js';
import { createServer as createSluiceServer } from '../src/server/index.js';
import { DEPLOYMENT, type MockTimes, startMock } from './gateway-mock.js';
import { bareProxy, readingProxy } from './proxies.js';

/**
 * The Sluice contender's deployments. `gateway` (default): what `sluice serve --config` serves
 * for a file naming the mock as one Azure target (a router over a one-attempt remote
 * backend). `remote`: the remote backend alone, with no retries (the router's target).
 */
async function sluiceDeployments(mockUrl: string, kind: string): Promise<Record<string, Backend>> {
  if (kind === 'remote') {
    return {
      [DEPLOYMENT]: createRemoteBackend({
        endpoint: mockUrl,
        apiKey: 'bench-key',
        deployment: DEPLOYMENT,
        maxRetries: 0,
      }),
    };
  }
  const yaml = `models:\n  ${DEPLOYMENT}:\n    - azure: ${mockUrl}\n      deployment: ${DEPLOYMENT}\n      api_key: bench-key\n`;
  const loaded = parseGatewayConfig(yaml, { file: 'bench.yaml', env: {} });
  const { deployments } = await openGateway(loaded, { threads: 1 });
  if (!deployments) throw new Error('The gateway plan has no deployments.');
  return deployments;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  const [role, mockPort] = process.argv.slice(2);
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  let port: number;
  if (role === 'mock') {
    // Each stream's times, until the bench asks for them (`times`, after each turn): then sent and forgotten.
    const times = new Map<number, MockTimes>();
    port = ((await startMock(0, (seed, t) => times.set(seed, t))).address() as AddressInfo).port;
    process.on('message', (message) => {
      if (message !== 'times') return;
      process.send?.({ times: [...times] });
      times.clear();
    });
  } else if (role === 'bare') port = await listen(bareProxy(Number(mockPort)));
  else if (role === 'reader') port = await listen(readingProxy(Number(mockPort)));
  else if (role === 'sluice') {
    const deployments = await sluiceDeployments(mockUrl, process.argv[4] ?? 'gateway');
    port = (await createSluiceServer({ deployments }).listen(0)).port;
  } else
    throw new Error(
      `Unknown role ${role}: use mock, bare <mockPort>, reader <mockPort> or sluice <mockPort> [gateway|remote].`,
    );
  process.on('disconnect', () => process.exit(0));
  process.send?.({ port });
}

await main();
