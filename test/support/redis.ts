/**
 * A private redis-server for one test file: Debian's `redis-server` on a free loopback port,
 * no persistence (`--save '' --appendonly no`), a temporary working directory, stopped by
 * its pid. `kill9()` and `restart()` on the same port let a test simulate a Redis outage.
 * `scripts/test.mjs` installs redis-server when it is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const REDIS_SERVER = process.env.SLUICE_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The running server's pid (undefined while it is down). */
  readonly pid: number | undefined;
  /** SIGKILL, as a crash would: no clean shutdown. Resolves once the process is gone. */
  kill9(): Promise<void>;
  /** Starts it again on the same port (after `kill9()`). */
  restart(): Promise<void>;
  /** Stops it for good and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server, stopped when the test (or suite) ends.
 *
 * @example
 * ```ts
 * const redis = await startRedis(t);
 * const server = createServer({ backend, redis: redis.url });
 * ```
 */
export async function startRedis(t?: Pick<TestContext, 'after'>): Promise<PrivateRedis> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`redis-server not found at ${REDIS_SERVER}: run "sudo apt-get install -y redis-server".`);
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  let child: ChildProcess | undefined = await launch(port, dir);
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    async kill9() {
      const c = child;
      child = undefined;
      if (c) await killAndWait(c, 'SIGKILL');
    },
    async restart() {
      if (child) return;
      child = await launch(port, dir);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (c) await killAndWait(c, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  t?.after(() => redis.stop());
  return redis;
}

/**
 * Resolves once the `sluice serve` at `baseUrl` has reached Redis (its /metrics says the
 * stream log is not degraded): a stream begun before that is not logged.
 */
export async function streamLogReady(baseUrl: string): Promise<void> {
  for (let i = 0; ; i++) {
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    if (metrics.includes('sluice_stream_log_degraded{store="redis"} 0')) return;
    if (i === 100) throw new Error(`${baseUrl} did not reach Redis within 5 s:\n${metrics}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// --- internal ---

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Spawns redis-server and resolves once it says it accepts connections (or rejects with its output). */
function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
  });
}

function killAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
