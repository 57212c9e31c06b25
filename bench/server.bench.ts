// Server overhead: tokens/s and time to first token through HTTP versus the same local
// backend called in-process (and raw node-llama-cpp), same model, same threads, one run.
//
// Setup: the server runs in a CHILD process (this file re-run with --serve), so the client's
// SSE parsing does not share the server's event loop. The in-process baselines and the HTTP
// client (node:http, keep-alive) run in this process; rounds are interleaved (in-process,
// HTTP, raw, in-process, ...) so that machine drift hits all alike. Each round uses the same
// prompt, seed and max_tokens on both sides, so both generate the very same tokens
// (checked: the texts must match, else exit 1). The child serves two deployments: `local`
// (the model) and `scripted` (256 chunks, no model) to isolate the server's own cost.
//
//   node --import tsx bench/server.bench.ts [--tokens 256] [--rounds 9]
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import type { Backend } from '../src/backends/backend.js';
import { createLocalBackend, DEFAULT_MODEL_PATH } from '../src/backends/local/index.js';
import { createScriptedBackend, textScript } from '../src/backends/scripted/index.js';
import type { CompletionChunk } from '../src/protocol/types.js';
import { createServer } from '../src/server/index.js';

const THREADS = 1;
const SEQUENCES = 4;
const QUEUE = 16;
const PROMPT = 'Once upon a time';
/** 256 word pieces: the scripted stream has as many chunks as a 256-token generation. */
const SCRIPTED_TEXT = Array.from({ length: 256 }, (_, i) => `w${i}`).join(' ');
/** Keep-alive, like any real client: no connection setup inside the timings. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};

if (args[0] === '--serve') await serve();
else await main();

/** Child: the server on 127.0.0.1:0, its URL on stdout; exits when stdin closes. */
async function serve(): Promise<void> {
  const backend = createLocalBackend({ threads: THREADS, sequences: SEQUENCES, queueSize: QUEUE });
  await backend.load();
  const scripted = createScriptedBackend(textScript('completions', SCRIPTED_TEXT));
  const server = createServer({ deployments: { local: backend, scripted } });
  const { url } = await server.listen(0, '127.0.0.1');
  process.stdout.write(`${url}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await server.close(100);
    await backend.close?.();
    process.exit(0);
  });
}

interface Run {
  text: string;
  tokens: number;
  chunks: number;
  ttftMs: number;
  totalMs: number;
  finish: string | null;
}

async function main(): Promise<void> {
  const maxTokens = arg('--tokens', 256);
  const rounds = arg('--rounds', 9);
  console.log(
    `model ${DEFAULT_MODEL_PATH.split('/').pop()}, threads ${THREADS}, sequences ${SEQUENCES}, queue ${QUEUE}, ` +
      `max_tokens ${maxTokens}, ${rounds} rounds; server in a child process; client (node:http keep-alive) and ` +
      'in-process baselines in this one',
  );

  const backend = createLocalBackend({ threads: THREADS, sequences: SEQUENCES, queueSize: QUEUE });
  await backend.load();
  const scripted = createScriptedBackend(textScript('completions', SCRIPTED_TEXT));
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let failed = false;
  try {
    const base = new URL(await firstLine(child));
    const port = Number(base.port);
    const body = (seed: number) => ({
      prompt: PROMPT,
      max_tokens: maxTokens,
      seed,
      stream: true,
      stream_options: { include_usage: true },
    });

    // Warm-up: JIT, sockets, samplers.
    for (let i = 0; i < 3; i++) {
      await inProcess(backend, body(1000 + i));
      await overHttp(port, 'local', body(1000 + i));
      await inProcess(scripted, body(0));
      await overHttp(port, 'scripted', body(0));
    }

    // --- the server's own cost per chunk, without a model ---
    const sDirect: Run[] = [];
    const sHttp: Run[] = [];
    for (let r = 0; r < rounds * 3; r++) {
      sDirect.push(await inProcess(scripted, body(0)));
      sHttp.push(await overHttp(port, 'scripted', body(0)));
    }
    const chunks = sHttp[0]!.chunks;
    const perChunkUs = ((median(sHttp.map((x) => x.totalMs)) - median(sDirect.map((x) => x.totalMs))) / chunks) * 1000;
    console.log(
      `\nserver cost without a model (scripted backend, ${chunks} chunks): direct ${fmt(median(sDirect.map((x) => x.totalMs)), 2)} ms, ` +
        `HTTP ${fmt(median(sHttp.map((x) => x.totalMs)), 2)} ms -> ${fmt(perChunkUs, 1)} µs per chunk (server + client parse); ` +
        `first chunk ${fmt(median(sHttp.map((x) => x.ttftMs)), 2)} ms after the request was sent`,
    );

    // --- one stream on the model: tokens/s and time to first token ---
    const local: Run[] = [];
    const http: Run[] = [];
    const raw: Run[] = [];
    const rawRunner = await rawLlama(maxTokens);
    for (let r = 0; r < rounds; r++) {
      const seed = 1 + r;
      const a = await inProcess(backend, body(seed));
      const b = await overHttp(port, 'local', body(seed));
      raw.push(await rawRunner.run(seed));
      if (a.text !== b.text || a.tokens !== b.tokens) {
        failed = true;
        console.log(`✖ seed ${seed}: HTTP text differs from in-process (${b.tokens} vs ${a.tokens} tokens)`);
      }
      local.push(a);
      http.push(b);
    }
    await rawRunner.dispose();
    const tps = (runs: Run[]) => median(runs.map((x) => x.tokens / (x.totalMs / 1000)));
    const ttft = (runs: Run[]) => median(runs.map((x) => x.ttftMs));
    const lengths = local.map((x) => `${x.tokens}${x.finish === 'length' ? '' : `(${x.finish})`}`).join(' ');
    console.log(`\ncompletion tokens per round (identical on both sides): ${lengths}`);
    console.log('\n| one stream | tok/s (median) | time to first token (median) |');
    console.log('|---|---:|---:|');
    console.log(`| raw node-llama-cpp (sequence.evaluate) | ${fmt(tps(raw))} | ${fmt(ttft(raw), 2)} ms |`);
    console.log(`| local backend, in-process | ${fmt(tps(local))} | ${fmt(ttft(local), 2)} ms |`);
    console.log(`| through HTTP (child process) | ${fmt(tps(http))} | ${fmt(ttft(http), 2)} ms |`);
    const ratios = http.map((h, i) => local[i]!.totalMs / h.totalMs);
    const added = http.map((h, i) => h.ttftMs - local[i]!.ttftMs);
    const ratio = median(ratios);
    console.log(
      `\nHTTP / in-process tokens/s, median of per-round ratios: ${(ratio * 100).toFixed(1)}% ` +
        `(target >= 90%: ${ratio >= 0.9 ? 'met' : 'MISSED'}); rounds: ${ratios.map((x) => `${(x * 100).toFixed(0)}%`).join(' ')}`,
    );
    console.log(
      `added to first token, median: ${median(added).toFixed(2)} ms (target < 2 ms: ${median(added) < 2 ? 'met' : 'MISSED'}); ` +
        `rounds: ${added.map((x) => x.toFixed(2)).join(' ')}`,
    );

    // --- concurrency: aggregate tokens/s ---
    console.log('\n| concurrent streams | in-process tok/s | HTTP tok/s | HTTP/in-process | 429s |');
    console.log('|---:|---:|---:|---:|---:|');
    for (const n of [1, 4, 16]) {
      const seeds = Array.from({ length: n }, (_, i) => 100 + i);
      const t0 = performance.now();
      const a = await Promise.all(seeds.map((s) => inProcess(backend, body(s))));
      const localTps = sum(a.map((x) => x.tokens)) / ((performance.now() - t0) / 1000);
      const t1 = performance.now();
      const b = await Promise.allSettled(seeds.map((s) => overHttp(port, 'local', body(s))));
      const httpMs = performance.now() - t1;
      const ok = b.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
      const rejected = b.filter((x) => x.status === 'rejected' && /HTTP 429/.test(String(x.reason))).length;
      const httpTps = sum(ok.map((x) => x.tokens)) / (httpMs / 1000);
      console.log(
        `| ${n} | ${fmt(localTps)} | ${fmt(httpTps)} | ${((httpTps / localTps) * 100).toFixed(1)}% | ${rejected} |`,
      );
      if (ok.length + rejected !== n) {
        failed = true;
        console.log('✖ a stream failed for another reason than 429');
      } else if (rejected === 0 && sum(ok.map((x) => x.tokens)) !== sum(a.map((x) => x.tokens))) {
        failed = true;
        console.log('✖ HTTP and in-process streams generated different token counts');
      }
    }
  } finally {
    child.stdin?.end();
    await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null) child.kill();
    agent.destroy();
    await backend.close?.();
  }
  if (failed) {
    console.log('\n✖ output check failed');
    process.exitCode = 1;
  }
}

/** A backend called directly: the in-process baseline. */
async function inProcess(backend: Backend, body: Record<string, unknown>): Promise<Run> {
  const t0 = performance.now();
  let ttftMs = -1;
  let text = '';
  let tokens = 0;
  let chunks = 0;
  let finish: string | null = null;
  const stream = backend.stream({ kind: 'completions', body: body as never }, new AbortController().signal);
  for await (const chunk of stream as AsyncIterable<CompletionChunk>) {
    chunks++;
    for (const c of chunk.choices) {
      if (c.text) {
        if (ttftMs < 0) ttftMs = performance.now() - t0;
        text += c.text;
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  return { text, tokens, chunks, ttftMs, totalMs: performance.now() - t0, finish };
}

/** POST + SSE parse, as a client sees it: from sending the request to `[DONE]`. */
function overHttp(port: number, deployment: string, body: Record<string, unknown>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const t0 = performance.now();
    let ttftMs = -1;
    let text = '';
    let tokens = 0;
    let chunks = 0;
    let finish: string | null = null;
    let buffer = '';
    const req = request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: 'POST',
        path: `/openai/deployments/${deployment}/completions?api-version=2024-10-21`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let error = '';
          res.on('data', (d: string) => {
            error += d;
          });
          res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${error}`)));
          return;
        }
        res.on('data', (d: string) => {
          buffer += d;
          let cut = buffer.indexOf('\n\n');
          while (cut !== -1) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            cut = buffer.indexOf('\n\n');
            if (!frame.startsWith('data: {')) continue;
            const chunk = JSON.parse(frame.slice(6)) as CompletionChunk;
            if (chunk.id === '') continue; // Azure's prompt-filter chunk
            chunks++;
            for (const c of chunk.choices) {
              if (c.text) {
                if (ttftMs < 0) ttftMs = performance.now() - t0;
                text += c.text;
              }
              if (c.finish_reason) finish = c.finish_reason;
            }
            if (chunk.usage) tokens = chunk.usage.completion_tokens;
          }
        });
        res.on('end', () => resolve({ text, tokens, chunks, ttftMs, totalMs: performance.now() - t0, finish }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Raw node-llama-cpp: one sequence, sequence.evaluate, the same sampling, stopped at maxTokens. */
async function rawLlama(maxTokens: number) {
  const lib = await import('node-llama-cpp');
  const llama = await lib.getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    logLevel: lib.LlamaLogLevel.warn,
  });
  const model = await llama.loadModel({ modelPath: DEFAULT_MODEL_PATH, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 512, sequences: 1, threads: THREADS });
  const sequence = context.getSequence();
  const prompt = [model.tokens.bos!, ...model.tokenize(PROMPT)];
  return {
    async run(seed: number): Promise<Run> {
      await sequence.clearHistory();
      const t0 = performance.now();
      let ttftMs = -1;
      let tokens = 0;
      const it = sequence.evaluate(prompt, { temperature: 1, topP: 1, topK: 0, minP: 0, seed });
      for await (const _token of it) {
        if (ttftMs < 0) ttftMs = performance.now() - t0;
        if (++tokens >= maxTokens) break;
      }
      return { text: '', tokens, chunks: tokens, ttftMs, totalMs: performance.now() - t0, finish: null };
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return line.trim();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function fmt(x: number, digits = 0): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
