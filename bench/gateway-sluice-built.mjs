/**
 * The gateway bench's Sluice contender as people run it: the built package (dist/, what
 * `sluice serve --config` runs), in plain Node with no TypeScript loader, so the figures carry
 * no cost of running from source. Forked by bench/gateway.bench.ts, which builds dist/ first
 * when it is missing or older than src/; sends `{ port }` over IPC once it listens.
 *
 *   node bench/gateway-sluice-built.mjs <mockPort> <deployment> [gateway|remote]
 * @module
 */
import { createRemoteBackend } from '../dist/backends/remote/index.js';
import { openGateway } from '../dist/cli/serve-backends.js';
import { parseGatewayConfig } from '../dist/gateway/config.js';
import { createServer } from '../dist/server/index.js';

const [mockPort, deployment, kind = 'gateway'] = process.argv.slice(2);
const mockUrl = `http://127.0.0.1:${mockPort}`;
let deployments;
if (kind === 'remote') {
  deployments = {
    [deployment]: createRemoteBackend({ endpoint: mockUrl, apiKey: 'bench-key', deployment, maxRetries: 0 }),
  };
} else {
  // The same one-target file gateway-child.ts serves from source.
  const yaml = `models:\n  ${deployment}:\n    - azure: ${mockUrl}\n      deployment: ${deployment}\n      api_key: bench-key\n`;
  ({ deployments } = await openGateway(parseGatewayConfig(yaml, { file: 'bench.yaml', env: {} }), { threads: 1 }));
}
const { port } = await createServer({ deployments }).listen(0);
process.on('disconnect', () => process.exit(0));
process.send?.({ port });
