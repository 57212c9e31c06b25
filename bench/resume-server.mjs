/**
 * The resume bench's Sluice server: the remote backend alone (no retries) in front of the
 * gateway bench's mock, resumable when a Redis URL is given. `dist`: the built package, in
 * plain Node, as `sluice serve` runs it (bench/resume.bench.ts builds dist/ first when it is
 * missing or older than src/); `src`: from source, started under tsx. Prints its URL on
 * stdout once it listens and exits when its stdin ends.
 *
 *   node bench/resume-server.mjs dist <mockPort> <deployment> [redisUrl]
 *   node --import tsx bench/resume-server.mjs src <mockPort> <deployment> [redisUrl]
 * @module
 */
const [from, mockPort, deployment, redisUrl] = process.argv.slice(2);
if (from !== 'dist' && from !== 'src') throw new Error(`The first argument is dist or src, not ${from}.`);
const { createRemoteBackend } = await import(`../${from}/backends/remote/index.js`);
const { createServer } = await import(`../${from}/server/index.js`);
const { createRedisStreamLog } = await import(`../${from}/streams/redis.js`);

const backend = createRemoteBackend({
  endpoint: `http://127.0.0.1:${mockPort}`,
  apiKey: 'bench-key',
  deployment,
  maxRetries: 0,
});
const server = createServer({
  backend,
  ...(redisUrl ? { streams: { log: createRedisStreamLog({ url: redisUrl }), keepGoingMs: 30_000 } } : {}),
});
const { url } = await server.listen(0);
process.stdout.write(`${url}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
