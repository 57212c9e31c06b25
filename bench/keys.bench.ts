// What per-key access adds to the first token (issue 13): the key check (hash + constant-
// time compare) and the TPM/RPM/concurrency reservation, at 256 concurrent streams, with
// the limits in memory and in Redis (a private redis-server). Two measures, in interleaved
// rounds:
// - admission alone: one identify + admit call while 256 streams hold their reservations
//   (p50, p99);
// - through the server: 256 concurrent streams on a scripted backend whose first chunk is
//   immediate; the server's own time before headers (`server-timing: gateway`, which covers
//   the admission) and the client's time to the first content chunk, with keys (memory,
//   Redis) minus without. Target: under 0.3 ms added at p50.

import { once } from 'node:events';
import { createScriptedBackend, textScript } from '../src/backends/scripted/index.js';
import { openKeyAccess } from '../src/gateway/key-access.js';
import { type ClientKeyConfig, hashKey } from '../src/gateway/keys.js';
import type { AccessControl } from '../src/server/access.js';
import { createServer } from '../src/server/index.js';
import { startRedis } from '../test/support/redis.js';
import { median, percentile, startBenchChild, table } from './util.js';

const STREAMS = 256;
const ROUNDS = 5;
const SECRET = 'sk-sluice-BENCH-0123456789abcdefghijklmnopqrstuv';
const KEYS: ClientKeyConfig[] = [
  ...Array.from({ length: 15 }, (_, i) => ({
    name: `other-${i}`,
    keyHash: hashKey(`other-key-${i}-0123456789abcdef`),
    admin: false,
    limits: {},
  })),
  // Limits that admit everything here: the cost measured is the check, not a refusal.
  {
    name: 'bench',
    keyHash: hashKey(SECRET),
    admin: false,
    limits: { rpm: 1_000_000, tpm: 1_000_000_000, concurrent: 10_000 },
  },
];
const BODY = {
  messages: [{ role: 'user', content: 'Tell me a story about a cat who sails' }],
  max_tokens: 64,
  stream: true,
};

type Mode = 'none' | 'memory' | 'redis';

/**
 * One request's key check and reservation while 256 others hold theirs: 256 leases are
 * taken first and held, then 256 more calls are timed one by one (each awaited, so a time is
 * that call's own, not a queue behind the others), then everything is settled.
 */
async function admissionRound(access: AccessControl): Promise<number[]> {
  const ask = { kind: 'chat' as const, model: 'story', body: BODY, apiVersion: '2024-10-21', stream: true };
  const caller = access.identify({ 'api-key': SECRET })!;
  const held = await Promise.all(Array.from({ length: STREAMS }, () => access.admit(caller, ask)));
  const times: number[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const t0 = performance.now();
    const decision = await access.admit(access.identify({ 'api-key': SECRET })!, ask);
    times.push(performance.now() - t0);
    held.push(decision);
  }
  for (const decision of held) if (decision.ok) decision.lease.end({ outcome: 'completed', chunks: 1 });
  return times;
}

async function serverRound(url: string): Promise<{ gateway: number[]; firstToken: number[] }> {
  const gateway: number[] = [];
  const firstToken: number[] = [];
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const t0 = performance.now();
      const res = await fetch(`${url}/openai/deployments/story/chat/completions?api-version=2024-10-21`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-key': SECRET },
        body: JSON.stringify(BODY),
      });
      const timing = /gateway;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1];
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let seen = '';
      let first: number | undefined;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += decoder.decode(value, { stream: true });
        if (first === undefined && seen.includes('"content":"Once')) first = performance.now() - t0;
      }
      if (res.status !== 200 || first === undefined || timing === undefined)
        throw new Error(`bad stream ${res.status}`);
      gateway.push(Number(timing));
      firstToken.push(first);
    }),
  );
  return { gateway, firstToken };
}

/** Server mode (a child process, so the load generator's work is not counted in the server's times). */
async function serveChild(mode: Mode, redisUrl: string): Promise<void> {
  const backend = createScriptedBackend(textScript('chat', 'Once upon a time there was a cat'));
  const keys =
    mode === 'none' ? undefined : await openKeyAccess({ keys: KEYS, ...(mode === 'redis' ? { redisUrl } : {}) });
  const server = createServer({
    deployments: { story: backend },
    ...(keys ? { access: keys.access } : { apiKey: SECRET }),
  });
  const { url } = await server.listen(0, '127.0.0.1');
  process.stdout.write(`${url}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await server.close(100);
    await keys?.close();
    process.exit(0);
  });
}

if (process.argv[2] === '--serve') {
  await serveChild(process.argv[3] as Mode, process.argv[4] ?? '');
} else {
  await main();
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const results: Record<Mode, { admit: number[]; gateway: number[]; firstToken: number[] }> = {
    none: { admit: [], gateway: [], firstToken: [] },
    memory: { admit: [], gateway: [], firstToken: [] },
    redis: { admit: [], gateway: [], firstToken: [] },
  };
  const script = new URL(import.meta.url).pathname;
  const setups = new Map<Mode, { url: string; access?: AccessControl; close(): Promise<void> }>();
  for (const mode of ['none', 'memory', 'redis'] as const) {
    // Admission alone is timed in this process; the server runs in a child.
    const keys =
      mode === 'none'
        ? undefined
        : await openKeyAccess({ keys: KEYS, ...(mode === 'redis' ? { redisUrl: redis.url } : {}) });
    const { url, child } = await startBenchChild(script, ['--serve', mode, redis.url]);
    setups.set(mode, {
      url,
      ...(keys ? { access: keys.access } : {}),
      close: async () => {
        child.stdin?.end();
        await once(child, 'exit');
        await keys?.close();
      },
    });
  }

  try {
    // One warm-up round each, then interleaved measured rounds.
    for (const [, s] of setups) {
      await serverRound(s.url);
      if (s.access) await admissionRound(s.access);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [mode, s] of setups) {
        const r = await serverRound(s.url);
        results[mode].gateway.push(...r.gateway);
        results[mode].firstToken.push(...r.firstToken);
        if (s.access) results[mode].admit.push(...(await admissionRound(s.access)));
      }
    }
  } finally {
    for (const [, s] of setups) await s.close();
    await redis.stop();
  }
  report(results);
}

function report(results: Record<Mode, { admit: number[]; gateway: number[]; firstToken: number[] }>): void {
  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
  const base = results.none;
  const rows = [
    ['limits', 'admit p50', 'admit p99', 'gateway p50', 'first token p50', 'added', 'target: admit p50 < 0.3'],
    ...(['none', 'memory', 'redis'] as const).map((mode) => {
      const r = results[mode];
      return [
        mode === 'none' ? 'none (one --api-key)' : mode,
        ms(median(r.admit)),
        ms(percentile(r.admit, 99)),
        ms(median(r.gateway)),
        ms(median(r.firstToken)),
        mode === 'none' ? '' : ms(median(r.firstToken) - median(base.firstToken)),
        mode === 'none' ? '' : median(r.admit) < 0.3 ? 'met' : 'not met',
      ];
    }),
  ];
  console.log(
    `Per-key access at ${STREAMS} concurrent streams, ${ROUNDS} interleaved rounds (ms; admit = one identify + admit call while ${STREAMS} streams hold reservations; gateway = server-timing before headers)`,
  );
  console.log(table(rows, ['left', 'right', 'right', 'right', 'right', 'right', 'left']));
  console.log(
    "gateway = the server's own time before headers (server-timing), which includes the admission and, with Redis, the wait for its reply behind the other arriving requests; first token = the client's, from a separate process.",
  );
}
