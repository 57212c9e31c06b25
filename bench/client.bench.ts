// Client overhead, HTTP on loopback included.
//
// 1. Per-chunk cost: Sluice's client vs `openai` 6.49.0's AzureOpenAI, both streaming the
//    same Azure-shaped bytes (N chat chunks with content-filter results) from the same
//    local server, plus raw fetch reading the bytes without parsing them (the floor). The
//    client runs as created with no `fetch` (in Node: node:http, client/http-fetch.ts
//    `defaultFetch`, as the remote backend does) and over the global fetch, with node:http
//    reading bytes only beside them, to show what the transport costs.
// 2. Time to first token: Sluice vs a raw fetch + reader.read() until the first data line.
// 3. Large reads, in process (no network): the same body handed over in 64 KiB reads by a
//    fetch stub, so what is measured is the client's own work per chunk, against the least
//    work that yields chunk objects (split on blank lines + JSON.parse; the floor).
//
// The server (src/testing/azure-server.ts) runs in a child process, so its work is not
// counted in this process; openai uses Node's global fetch, Sluice its default transport; all keep connections alive.
// Runs alternate between contestants so drift hits all alike. Output is verified (chunk and
// text counts equal for every contestant); a mismatch exits non-zero.
//
//   node --import tsx --expose-gc bench/client.bench.ts [--chunks 20000] [--runs 15] [--large-runs 15] [--ttft 300]
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { AzureOpenAI } from 'openai';
import { createHttpFetch } from '../src/client/http-fetch.js';
import { createClient } from '../src/index.js';
import { chatChunks, encodeItem, type StreamItem, startAzureServer, stream } from '../src/testing/azure-server.js';
import { bodyOf, halfIqrPercent, median, percentile, startBenchChild, timeInterleaved } from './util.js';

const KEY = 'bench-key';
const args = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    chunks: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '15' },
    'large-runs': { type: 'string', default: '15' },
    ttft: { type: 'string', default: '300' },
  },
});
const CHUNKS = Number(args.values.chunks);
const RUNS = Number(args.values.runs);
const LARGE_RUNS = Number(args.values['large-runs']);
/** Bytes per read in the in-process part. */
const LARGE_READ = 64 * 1024;
const TTFT_RUNS = Number(args.values.ttft);

if (args.values.serve) {
  await serve();
} else {
  await main();
}

/** Child mode: the Azure-shaped server, its URL on stdout. */
async function serve(): Promise<void> {
  const items: StreamItem[] = benchItems();
  const server = await startAzureServer({
    apiKey: KEY,
    scenarios: {
      long: stream(items),
      // First token at once: one content chunk, finish, [DONE].
      first: stream(chatChunks(['Hi'], { promptFilter: false })),
    },
  });
  process.stdout.write(`${server.url}\n`);
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
  process.stdin.resume();
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
}

/** The long stream: prompt filter, role, CHUNKS content chunks, finish, [DONE]. */
function benchItems(): StreamItem[] {
  return chatChunks(Array.from({ length: CHUNKS }, (_, i) => ` w${i % 1000}`));
}

interface ChatChunkLike {
  choices: Array<{ delta?: { content?: string | null } }>;
}

/** Reads a chunk stream to its end, counting chunks and the text of choice 0. */
async function readAll(chunks: AsyncIterable<ChatChunkLike>): Promise<Result> {
  const r: Result = { chunks: 0, text: 0 };
  for await (const c of chunks) {
    r.chunks++;
    const t = c.choices[0]?.delta?.content;
    if (t) r.text += t.length;
  }
  return r;
}

interface Result {
  chunks: number;
  text: number;
}

async function main(): Promise<void> {
  const { url, child } = await startChild();
  try {
    const body = { messages: [{ role: 'user' as const, content: 'Tell me a long story' }] };
    const sluice = createClient({ endpoint: url, apiKey: KEY, deployment: 'long', maxRetries: 0 });
    const nodeHttp = createHttpFetch();
    const sluiceGlobalFetch = createClient({
      endpoint: url,
      apiKey: KEY,
      deployment: 'long',
      maxRetries: 0,
      fetch: globalThis.fetch,
    });
    const longUrl = `${url}/openai/deployments/long/chat/completions?api-version=2024-10-21`;
    // Body pieces per stream of each bytes-only reader (its last run): fetch reads the body in
    // larger pieces than one per chunk, node:http (and so Sluice's client) one per server write.
    const pieces = new Map<string, number>();
    const bytesOnly = async (name: string, fetchImpl: typeof fetch): Promise<Result> => {
      const res = await fetchImpl(longUrl, {
        method: 'POST',
        headers: { 'api-key': KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream: true }),
      });
      let bytes = 0;
      let count = 0;
      for await (const b of res.body!) {
        bytes += b.byteLength;
        count++;
      }
      pieces.set(name, count);
      return { chunks: -1, text: bytes };
    };
    const sdk = new AzureOpenAI({ endpoint: url, apiKey: KEY, apiVersion: '2024-10-21', maxRetries: 0 });

    const contestants: Record<string, () => Promise<Result>> = {
      'sluice client': () => readAll(sluice.chat.stream(body)),
      'openai AzureOpenAI': async () =>
        readAll(await sdk.chat.completions.create({ model: 'long', ...body, stream: true })),
      'sluice client, global fetch': () => readAll(sluiceGlobalFetch.chat.stream(body)),
      'fetch, bytes only (floor)': () => bytesOnly('fetch', fetch),
      'node:http, bytes only': () => bytesOnly('node:http', nodeHttp.fetch),
    };

    // Verify first: every parsing contestant must see every chunk and all the text.
    const expected = await contestants['sluice client']!();
    const theirs = await contestants['openai AzureOpenAI']!();
    const chunkTotal = CHUNKS + 3; // prompt filter, role, content..., finish
    if (expected.chunks !== chunkTotal || theirs.chunks !== chunkTotal || expected.text !== theirs.text) {
      console.error(
        `✖ output mismatch: sluice ${JSON.stringify(expected)}, openai ${JSON.stringify(theirs)}, expected ${chunkTotal} chunks`,
      );
      process.exitCode = 1;
      return;
    }

    const times = await timeInterleaved(contestants, RUNS, (r) =>
      r.chunks !== -1 && r.chunks !== chunkTotal ? `saw ${r.chunks} chunks, expected ${chunkTotal}` : undefined,
    );
    if (times === undefined) return;

    console.log(`Streaming ${chunkTotal} Azure chat chunks (${RUNS} runs each, median; server in a child process)`);
    const sluiceMedian = median(times.get('sluice client')!);
    const floorTimes = times.get('fetch, bytes only (floor)')!;
    const rows = [...times].map(([name, ts]) => {
      const m = median(ts);
      return {
        contestant: name,
        'chunks/s': Math.round(chunkTotal / (m / 1000)).toLocaleString('en-US'),
        'ms per 1k chunks': ((m / chunkTotal) * 1000).toFixed(3),
        '±%': halfIqrPercent(ts).toFixed(1),
        'vs sluice': (m / sluiceMedian).toFixed(2),
        'x fetch floor': pairedRatio(ts, floorTimes).toFixed(2),
      };
    });
    console.table(rows);
    console.log('x fetch floor: speed as a fraction of fetch reading the bytes only; median of the per-run ratios.');
    const perPiece = (name: string) =>
      `${pieces.get(name)} (${(chunkTotal / (pieces.get(name) ?? 1)).toFixed(1)} chunks each)`;
    console.log(
      `Body pieces per stream: fetch ${perPiece('fetch')}, node:http ${perPiece('node:http')}; Sluice's client reads through node:http.`,
    );
    for (const name of ['sluice client', 'sluice client, global fetch']) {
      const r = pairedRatio(times.get(name)!, floorTimes);
      const target = name === 'sluice client' ? ` (target 0.7: ${r >= 0.7 ? 'met' : 'NOT met'})` : '';
      console.log(`${name}: ${r.toFixed(2)} of the fetch floor${target}`);
    }
    const openaiMedian = median(times.get('openai AzureOpenAI')!);
    const ratio = openaiMedian / sluiceMedian;
    console.log(
      `Sluice per chunk: ${ratio.toFixed(2)}x the speed of openai (${ratio >= 1 ? 'target met: no slower' : 'TARGET MISSED: slower than openai'})`,
    );
    nodeHttp.close();

    // Time to first token.
    const first = createClient({ endpoint: url, apiKey: KEY, deployment: 'first', maxRetries: 0 });
    const firstUrl = `${url}/openai/deployments/first/chat/completions?api-version=2024-10-21`;
    const ttft: Record<string, () => Promise<number>> = {
      'raw fetch + reader.read()': async () => {
        const t0 = performance.now();
        const res = await fetch(firstUrl, {
          method: 'POST',
          headers: { 'api-key': KEY, 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ ...body, stream: true }),
        });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        let seen = '';
        let at = -1;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (at < 0) {
            seen += decoder.decode(value, { stream: true });
            if (seen.includes('data: ') && seen.includes('\n')) at = performance.now() - t0;
          }
        }
        return at;
      },
      'sluice client': async () => {
        const t0 = performance.now();
        let at = -1;
        for await (const c of first.chat.stream(body)) {
          if (at < 0 && c.choices[0]?.delta?.content) at = performance.now() - t0;
        }
        return at;
      },
      'openai AzureOpenAI': async () => {
        const t0 = performance.now();
        let at = -1;
        for await (const c of await sdk.chat.completions.create({ model: 'first', ...body, stream: true })) {
          if (at < 0 && c.choices[0]?.delta?.content) at = performance.now() - t0;
        }
        return at;
      },
    };
    const firstTimes = new Map<string, number[]>(Object.keys(ttft).map((k) => [k, []]));
    for (let run = 0; run < TTFT_RUNS + 20; run++) {
      for (const [name, fn] of Object.entries(ttft)) {
        const ms = await fn();
        if (ms < 0) {
          console.error(`✖ ${name}: no first token`);
          process.exitCode = 1;
          return;
        }
        if (run >= 20) firstTimes.get(name)!.push(ms);
      }
    }
    console.log(`\nTime to first token (${TTFT_RUNS} runs each, loopback)`);
    const rawMedian = median(firstTimes.get('raw fetch + reader.read()')!);
    console.table(
      [...firstTimes].map(([name, ts]) => ({
        contestant: name,
        'median ms': median(ts).toFixed(3),
        'p90 ms': percentile(ts, 90).toFixed(3),
        'vs raw fetch, ms': (median(ts) - rawMedian).toFixed(3),
      })),
    );
    const diff = median(firstTimes.get('sluice client')!) - rawMedian;
    console.log(
      `Sluice time to first token: ${diff >= 0 ? '+' : ''}${diff.toFixed(3)} ms vs raw fetch (${Math.abs(diff) <= 1 ? 'target met: within 1 ms' : 'TARGET MISSED'})`,
    );

    // Last: the server's idle keep-alive connections may close meanwhile.
    await largeReads(body);
  } finally {
    child.stdin?.end();
    child.kill();
  }
}

/**
 * Part 3: the client's own cost per chunk. A fetch stub answers with the whole stream in
 * 64 KiB reads from memory, so no network or server time is in the figures.
 */
async function largeReads(body: { messages: Array<{ role: 'user'; content: string }> }): Promise<boolean> {
  const sse = new TextEncoder().encode(
    benchItems()
      .map((item) => encodeItem(item))
      .join(''),
  );
  const reads: Uint8Array[] = [];
  for (let at = 0; at < sse.length; at += LARGE_READ) reads.push(sse.slice(at, at + LARGE_READ));
  const stub = (async () =>
    new Response(bodyOf(reads), { status: 200, headers: { 'content-type': 'text/event-stream' } })) as typeof fetch;
  const endpoint = 'http://127.0.0.1:9'; // never contacted: the stub answers
  const sluice = createClient({ endpoint, apiKey: KEY, deployment: 'long', maxRetries: 0, fetch: stub });
  const sdk = new AzureOpenAI({ endpoint, apiKey: KEY, apiVersion: '2024-10-21', maxRetries: 0, fetch: stub });
  const count = (r: Result, chunk: ChatChunkLike) => {
    r.chunks++;
    const t = chunk.choices[0]?.delta?.content;
    if (t) r.text += t.length;
  };
  const contestants: Record<string, () => Promise<Result>> = {
    'split + JSON.parse (floor)': async () => {
      const r: Result = { chunks: 0, text: 0 };
      const decoder = new TextDecoder();
      let rest = '';
      for await (const read of bodyOf(reads)) {
        rest += decoder.decode(read, { stream: true });
        let at = 0;
        for (let end = rest.indexOf('\n\n'); end !== -1; end = rest.indexOf('\n\n', at)) {
          const data = rest.slice(at + 6, end); // after `data: `
          if (data !== '[DONE]') count(r, JSON.parse(data));
          at = end + 2;
        }
        rest = rest.slice(at);
      }
      return r;
    },
    'sluice client': () => readAll(sluice.chat.stream(body)),
    'openai AzureOpenAI': async () =>
      readAll(await sdk.chat.completions.create({ model: 'long', ...body, stream: true })),
  };
  const chunkTotal = CHUNKS + 3;
  const names = Object.keys(contestants);
  // Two ways to time the same runs. "After a full collection" (the method of round 1) collects
  // garbage before every run, so no run pays another's garbage; but a full collection also
  // drops the hidden classes no live object holds and with them the optimized code built on
  // them, so every run starts cold and re-optimizes its path (one hot loop for the floor,
  // some twenty functions for a client). "Warm" runs back to back, interleaved, as a process
  // streaming answers does: the client's own cost per chunk once its code is optimized.
  const timings: Record<string, Map<string, number[]>> = {};
  for (const [mode, collect] of [
    ['after a full collection before each run', true],
    ['warm, no forced collection', false],
  ] as const) {
    const times = new Map<string, number[]>(names.map((k) => [k, []]));
    for (let run = 0; run < LARGE_RUNS + 2; run++) {
      // Alternate the order so neither always runs right after the other.
      for (const name of run % 2 === 0 ? names : [...names].reverse()) {
        if (collect) globalThis.gc?.();
        const t0 = performance.now();
        const r = await contestants[name]!();
        const ms = performance.now() - t0;
        if (r.chunks !== chunkTotal) {
          console.error(`✖ large reads: ${name} saw ${r.chunks} chunks, expected ${chunkTotal}`);
          process.exitCode = 1;
          return false;
        }
        if (run >= 2) times.get(name)!.push(ms);
      }
    }
    timings[mode] = times;
    const floorTimes = times.get('split + JSON.parse (floor)')!;
    const openaiTimes = times.get('openai AzureOpenAI')!;
    console.log(
      `\nLarge reads, in process, ${mode}: the same ${chunkTotal} chunks in ${reads.length} reads of 64 KiB from a fetch stub (${LARGE_RUNS} runs each)`,
    );
    console.table(
      [...times].map(([name, ts]) => ({
        contestant: name,
        'chunks/s': Math.round(chunkTotal / (median(ts) / 1000)).toLocaleString('en-US'),
        'µs per chunk': ((median(ts) / chunkTotal) * 1000).toFixed(2),
        '±%': halfIqrPercent(ts).toFixed(1),
        'x floor': pairedRatio(ts, floorTimes).toFixed(2),
        'x openai': pairedRatio(ts, openaiTimes).toFixed(2),
      })),
    );
  }
  const ratio = (mode: string) =>
    pairedRatio(timings[mode]!.get('sluice client')!, timings[mode]!.get('split + JSON.parse (floor)')!);
  const cold = ratio('after a full collection before each run');
  const warm = ratio('warm, no forced collection');
  console.log(
    `Sluice with large reads: ${warm.toFixed(2)} of the floor warm (target 0.8: ${warm >= 0.8 ? 'met' : 'NOT met'}), ` +
      `${cold.toFixed(2)} after a full collection before each run`,
  );
  return true;
}

function startChild(): Promise<{ url: string; child: ChildProcess }> {
  return startBenchChild(new URL(import.meta.url).pathname, ['--serve', '--chunks', String(CHUNKS)]);
}

/** Speed of `mine` as a fraction of `floor`'s: the median of per-run time ratios (runs are paired). */
function pairedRatio(mine: number[], floor: number[]): number {
  return median(mine.map((ms, i) => (floor[i] ?? Number.NaN) / ms));
}
