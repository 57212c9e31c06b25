/**
 * SSE decoding benchmark: bytes of realistic Azure chat streams -> parsed chunk objects.
 *
 * Contenders, all in one run, rounds interleaved (the order rotates each round) so machine
 * noise falls on all of them alike:
 *   - sluice: createDecoder + JSON.parse (synchronous core)
 *   - sluice iterateSse: the async wrapper over a ReadableStream, as a fetch body is read
 *   - sluice chunk reader: createDecoder + readStreamEvent with the stream's ChunkTemplate, what
 *     the client does per event (a chunk that repeats the one before but for its text is not
 *     parsed again; its object is checked deep-equal to JSON.parse's before the rounds)
 *   - eventsource-parser: TextDecoder (stream mode) + createParser + JSON.parse
 *   - openai 6.49.0: Stream.fromSSEResponse over a Response, as the SDK reads a body
 *   - floor: JSON.parse alone on the payloads, extracted beforehand; no decoder can beat it
 * Every contender must produce the expected chunk count and content checksum, or the bench
 * exits non-zero. Then peak memory is measured in fresh processes for a 10 MB and a 50 MB
 * stream generated lazily, to show it does not grow with stream length.
 *
 * Run: npm run bench -- sse   (SSE_BENCH_ROUNDS=n to change the round count, default 9)
 */
import { deepStrictEqual } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createParser } from 'eventsource-parser';
import { Stream } from 'openai/streaming';
import { ChunkTemplate } from '../src/protocol/chunk-template.js';
import { readStreamEvent, STREAM_DONE } from '../src/protocol/events.js';
import { createDecoder, iterateSse } from '../src/sse/index.js';
import {
  azureNetworkChunks,
  buildCorpus,
  type CorpusExpectation,
  type CorpusResponse,
  contentLengthOf,
} from './fixtures.js';
import { bodyOf, collectGarbage, marginOfErrorPercent, median, mib, table } from './util.js';

const SEED = 0x5105ce;
const TARGET_BYTES = 50 * 1024 * 1024;
const ROUNDS = Number(process.env.SSE_BENCH_ROUNDS ?? 9);
const BATCH_BYTES = 4 * 1024 * 1024;

interface Tally {
  chunks: number;
  dones: number;
  contentLength: number;
}

function newTally(): Tally {
  return { chunks: 0, dones: 0, contentLength: 0 };
}

/** What every contender does with one event's data: `[DONE]` counted, anything else parsed. */
function consume(t: Tally, data: string): void {
  if (data === '[DONE]') {
    t.dones++;
    return;
  }
  t.chunks++;
  t.contentLength += contentLengthOf(JSON.parse(data));
}

interface Contender {
  name: string;
  /** openai hides `[DONE]`, so its done count cannot be checked. */
  seesDone: boolean;
  /** Decodes and parses every response of a batch into `t`. */
  run(batch: readonly CorpusResponse[], t: Tally): void | Promise<void>;
}

const contenders: Contender[] = [
  {
    name: 'floor: JSON.parse alone',
    seesDone: false,
    run(batch, t) {
      for (const r of batch) for (const p of r.payloads) consume(t, p);
    },
  },
  {
    name: 'sluice createDecoder',
    seesDone: true,
    run(batch, t) {
      for (const r of batch) {
        const decoder = createDecoder({ onEvent: (e) => consume(t, e.data) });
        for (const chunk of r.chunks) decoder.feed(chunk);
        decoder.end();
      }
    },
  },
  {
    name: 'sluice chunk reader',
    seesDone: true,
    run(batch, t) {
      for (const r of batch) {
        const template = new ChunkTemplate();
        const decoder = createDecoder({
          onEvent: (e) => {
            const read = readStreamEvent(e, undefined, template);
            if (read === STREAM_DONE) t.dones++;
            else {
              t.chunks++;
              t.contentLength += contentLengthOf(read);
            }
          },
        });
        for (const chunk of r.chunks) decoder.feed(chunk);
        decoder.end();
      }
    },
  },
  {
    name: 'sluice iterateSse (async)',
    seesDone: true,
    async run(batch, t) {
      for (const r of batch) {
        for await (const e of iterateSse(bodyOf(r.chunks))) consume(t, e.data);
      }
    },
  },
  {
    name: 'eventsource-parser 4.1.3',
    seesDone: true,
    run(batch, t) {
      for (const r of batch) {
        const text = new TextDecoder();
        const parser = createParser({ onEvent: (e) => consume(t, e.data) });
        for (const chunk of r.chunks) parser.feed(text.decode(chunk, { stream: true }));
        parser.feed(text.decode());
      }
    },
  },
  {
    name: 'openai 6.49.0 Stream',
    seesDone: false,
    async run(batch, t) {
      for (const r of batch) {
        // As the SDK does (internal/parse.mjs): Stream.fromSSEResponse(response, controller).
        const stream = Stream.fromSSEResponse<unknown>(new Response(bodyOf(r.chunks)), new AbortController());
        for await (const chunk of stream) {
          t.chunks++;
          t.contentLength += contentLengthOf(chunk);
        }
      }
    },
  },
];

function check(name: string, seesDone: boolean, got: Tally, expected: CorpusExpectation): string | undefined {
  const problems: string[] = [];
  if (got.chunks !== expected.chunks) problems.push(`chunks ${got.chunks} != ${expected.chunks}`);
  if (got.contentLength !== expected.contentLength) {
    problems.push(`content checksum ${got.contentLength} != ${expected.contentLength}`);
  }
  if (seesDone && got.dones !== expected.dones) problems.push(`[DONE] ${got.dones} != ${expected.dones}`);
  return problems.length > 0 ? `${name}: ${problems.join(', ')}` : undefined;
}

/** The chunk reader's objects are JSON.parse's, deep-equal (prototypes and own keys), or the bench stops. */
function sameObjectsAsJsonParse(responses: readonly CorpusResponse[]): void {
  let matched = 0;
  for (const r of responses) {
    const template = new ChunkTemplate();
    for (const data of r.payloads) {
      if (data === '[DONE]') continue;
      const before = template.match(data);
      if (before !== undefined) matched++;
      const read = readStreamEvent({ type: 'message', data, id: '' }, undefined, template);
      deepStrictEqual(read, JSON.parse(data));
    }
  }
  console.log(
    `Chunk reader checked: ${matched} chunks of ${responses.length} streams read from a template, each deep-equal to JSON.parse's`,
  );
}

/** Splits the responses into batches of about `bytes` each. */
function batches(responses: readonly CorpusResponse[], bytes: number): CorpusResponse[][] {
  const out: CorpusResponse[][] = [];
  let current: CorpusResponse[] = [];
  let size = 0;
  for (const r of responses) {
    current.push(r);
    size += r.chunks.reduce((n, c) => n + c.length, 0);
    if (size >= bytes) {
      out.push(current);
      current = [];
      size = 0;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function speed(): Promise<boolean> {
  const corpus = buildCorpus({ seed: SEED, targetBytes: TARGET_BYTES });
  const { expected } = corpus;
  const chunkCount = corpus.responses.reduce((n, r) => n + r.chunks.length, 0);
  // Contenders take turns batch by batch (a few MB each), so a burst of load on a shared
  // machine hits all of them alike instead of whichever ran during it.
  const work = batches(corpus.responses, BATCH_BYTES);
  console.log(
    `Corpus: ${mib(expected.bytes)} (${expected.bytes} bytes), ${expected.streams} Azure chat streams, ` +
      `${chunkCount} network chunks of 1-16 KiB, ${expected.chunks} JSON chunks + ${expected.dones} [DONE]; ` +
      `${ROUNDS} rounds after 1 warm-up, contenders interleaved in ${work.length} batches of ~${mib(BATCH_BYTES)}`,
  );

  sameObjectsAsJsonParse(corpus.responses.slice(0, 200));
  const seconds = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const failures: string[] = [];
  for (let round = -1; round < ROUNDS; round++) {
    const elapsed = new Map<string, number>();
    const tallies = new Map<string, Tally>(contenders.map((c) => [c.name, newTally()]));
    for (const [i, batch] of work.entries()) {
      // Rotate the order so no contender always runs first (or right after a heavy one).
      const start = (i + round + 1) % contenders.length;
      for (const c of [...contenders.slice(start), ...contenders.slice(0, start)]) {
        collectGarbage();
        const t0 = performance.now();
        await c.run(batch, tallies.get(c.name) ?? newTally());
        elapsed.set(c.name, (elapsed.get(c.name) ?? 0) + (performance.now() - t0) / 1000);
      }
    }
    for (const c of contenders) {
      const problem = check(c.name, c.seesDone, tallies.get(c.name) ?? newTally(), expected);
      if (problem !== undefined && !failures.includes(problem)) failures.push(problem);
      if (round >= 0) seconds.get(c.name)?.push(elapsed.get(c.name) ?? Number.NaN);
    }
  }

  const mbps = (s: number) => expected.bytes / 1e6 / s;
  const floor = seconds.get('floor: JSON.parse alone') ?? [];
  const openai = seconds.get('openai 6.49.0 Stream') ?? [];
  // Ratios are paired per round (same round, same machine state), then the median is taken.
  const pairedRatio = (mine: number[], other: number[]) => median(mine.map((s, i) => (other[i] ?? Number.NaN) / s));
  const rows: string[][] = [['contender', 'MB/s (median)', '±%', 'x floor', 'x openai', 'output']];
  const ratios = new Map<string, { floor: number; openai: number }>();
  for (const c of contenders) {
    const s = seconds.get(c.name) ?? [];
    const speeds = s.map(mbps);
    const r = { floor: pairedRatio(s, floor), openai: pairedRatio(s, openai) };
    ratios.set(c.name, r);
    rows.push([
      c.name,
      median(speeds).toFixed(1),
      speeds.length > 1 ? `±${marginOfErrorPercent(speeds).toFixed(1)}` : 'n/a',
      r.floor.toFixed(2),
      r.openai.toFixed(2),
      failures.some((f) => f.startsWith(`${c.name}:`)) ? 'WRONG' : 'ok',
    ]);
  }
  console.log(`\n${table(rows)}`);
  console.log('MB = 10^6 bytes of SSE input. x floor / x openai: median over rounds of the per-round speed ratio.');

  const meets = (v: number, target: number) => (v >= target ? 'met' : 'NOT met');
  for (const name of ['sluice createDecoder', 'sluice chunk reader']) {
    const sluice = ratios.get(name);
    if (sluice === undefined) continue;
    console.log(
      `Targets for ${name}: >= 3x openai (${sluice.openai.toFixed(2)}x, ${meets(sluice.openai, 3)}), ` +
        `>= 0.9 of floor (${sluice.floor.toFixed(2)}, ${meets(sluice.floor, 0.9)})`,
    );
  }
  for (const f of failures) console.error(`✖ wrong output: ${f}`);
  return failures.length === 0;
}

// --- memory: one lazily generated stream, decoded in a fresh process per size ---

interface MemoryReport {
  bytes: number;
  peakHeapUsed: number;
  peakRss: number;
  ok: boolean;
}

/** Child-process side: decode `targetBytes` of one long stream through iterateSse, sampling memory. */
async function memoryChild(targetBytes: number, decode: boolean): Promise<void> {
  let peakHeapUsed = 0;
  let peakRss = 0;
  let n = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeapUsed = Math.max(peakHeapUsed, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  const gen = azureNetworkChunks({ seed: SEED, targetBytes });
  let expected: CorpusExpectation | undefined;
  async function* source(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const r = gen.next();
      if (r.done) {
        expected = r.value;
        return;
      }
      if (++n % 64 === 0) sample();
      yield r.value;
    }
  }
  const t = newTally();
  if (decode) {
    for await (const e of iterateSse(source())) consume(t, e.data);
  } else {
    for await (const _ of source()) t.chunks = 0;
  }
  sample();
  const ok = !decode || (expected !== undefined && check('memory', true, t, expected) === undefined);
  const report: MemoryReport = {
    bytes: expected?.bytes ?? 0,
    peakHeapUsed,
    peakRss,
    ok,
  };
  process.stdout.write(JSON.stringify(report));
}

function runMemoryChild(targetBytes: number, decode: boolean): MemoryReport {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--memory', String(targetBytes), decode ? 'decode' : 'generate'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`memory child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as MemoryReport;
}

function memory(): boolean {
  const sizes = [10 * 1024 * 1024, TARGET_BYTES];
  const rows: string[][] = [['run', 'input', 'peak heapUsed', 'peak RSS']];
  const reports: MemoryReport[] = [];
  for (const decode of [false, true]) {
    for (const size of sizes) {
      const r = runMemoryChild(size, decode);
      if (decode) reports.push(r);
      rows.push([
        decode ? 'generate + sluice iterateSse + JSON.parse' : 'generate only (baseline)',
        mib(r.bytes),
        mib(r.peakHeapUsed),
        mib(r.peakRss),
      ]);
    }
  }
  console.log(
    `\nPeak memory (sampled every 64 chunks), one long stream generated lazily, fresh process per run:\n${table(rows)}`,
  );
  const [small, large] = reports;
  if (small === undefined || large === undefined) return false;
  if (!small.ok || !large.ok) {
    console.error('✖ wrong output in the memory run');
    return false;
  }
  // Holding the input or the events would add tens of MiB between 10 and 50 MiB of input.
  const growth = large.peakHeapUsed - small.peakHeapUsed;
  const bounded = growth < 16 * 1024 * 1024;
  console.log(
    `Peak heap growth from ${mib(small.bytes)} to ${mib(large.bytes)} of input: ${mib(growth)} ` +
      `(${bounded ? 'independent of stream length' : 'GROWS with stream length'})`,
  );
  return bounded;
}

const memoryArg = process.argv.indexOf('--memory');
if (memoryArg !== -1) {
  await memoryChild(Number(process.argv[memoryArg + 1]), process.argv[memoryArg + 2] === 'decode');
} else {
  const speedOk = await speed();
  const memoryOk = memory();
  process.exitCode = speedOk && memoryOk ? 0 : 1;
}
