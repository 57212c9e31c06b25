// The local backend in-process: tokens/s and time to first chunk against raw node-llama-cpp
// (`sequence.evaluate`, the floor) and `LlamaCompletion`, same model, prompt, seed and
// sampling; plus threads 1 vs 2, read-ahead 0/1/8 and 1/4 concurrent streams; and
// grammar-constrained generation (a JSON-schema grammar) as a ratio of unconstrained: raw
// `evaluate` with and without a grammar state for the same token count, and the backend's
// chat with `response_format: json_schema` against plain chat (tokens/s from usage).
//
// Output check: the backend and the raw loop must produce the very same text for the same
// seed, and every backend run exactly --tokens completion tokens; else exit 1.
//
//   node --import tsx bench/local.bench.ts [--tokens 256] [--rounds 7]
import { LlamaCompletion, type LlamaGrammar, LlamaGrammarEvaluationState, type Token } from 'node-llama-cpp';
import { startRuntime } from '../src/backends/local/engine.js';
import { createLocalBackend, DEFAULT_MODEL_PATH, type LocalBackend } from '../src/backends/local/index.js';
import type { ChatCompletionChunk, CompletionChunk } from '../src/types.js';
import { marginOfErrorPercent, median, table } from './util.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const TOKENS = arg('--tokens', 256);
const ROUNDS = arg('--rounds', 7);
const PROMPT = 'Once upon a time';
const SAMPLING = { temperature: 1, topP: 1, topK: 0, minP: 0 };

interface Sample {
  tokPerS: number;
  /** Process CPU time (all threads) per token, in µs: steadier than wall time on a busy machine. */
  cpuUs?: number;
  firstMs: number;
  text: string;
  tokens: number;
}

// --- raw node-llama-cpp, the floor ------------------------------------------------------

const { llama } = await startRuntime();
const model = await llama.loadModel({ modelPath: DEFAULT_MODEL_PATH, gpuLayers: 0 });

/** One warm context per thread count, like the backend's (created once, cleared per run). */
const rawContexts = new Map<number, Awaited<ReturnType<typeof model.createContext>>>();

/** A JSON grammar the model can follow for any length: an array of strings, no end required. */
const STORY_SCHEMA = { type: 'object', properties: { lines: { type: 'array', items: { type: 'string' } } } } as const;
const storyGrammar: LlamaGrammar = await llama.createGrammarForJsonSchema(STORY_SCHEMA);

async function rawRun(threads: number, seed: number, tokens = TOKENS, grammar?: LlamaGrammar): Promise<Sample> {
  let context = rawContexts.get(threads);
  if (!context) {
    context = await model.createContext({ contextSize: 512, sequences: 1, threads });
    rawContexts.set(threads, context);
  }
  const sequence = context.getSequence();
  const prompt = [model.tokens.bos as Token, ...model.tokenize(PROMPT)];
  const start = performance.now();
  let firstMs = 0;
  const out: Token[] = [];
  let text = '';
  const grammarEvaluationState = grammar ? new LlamaGrammarEvaluationState({ model, grammar }) : undefined;
  for await (const token of sequence.evaluate(prompt, {
    ...SAMPLING,
    seed,
    ...(grammar ? { grammarEvaluationState } : {}),
  })) {
    if (out.length === 0) firstMs = performance.now() - start;
    text += model.detokenize([token], false, out.length > 0 ? out : prompt);
    out.push(token);
    if (out.length >= tokens) break;
  }
  const ms = performance.now() - start;
  await sequence.dispose();
  return { tokPerS: (out.length / ms) * 1000, firstMs, text, tokens: out.length };
}

const completionContext = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });

async function completionRun(seed: number): Promise<Sample> {
  const sequence = completionContext.getSequence();
  const completion = new LlamaCompletion({ contextSequence: sequence });
  const start = performance.now();
  let firstMs = 0;
  let text = '';
  const res = await completion.generateCompletionWithMeta(PROMPT, {
    maxTokens: TOKENS,
    ...SAMPLING,
    seed,
    onTextChunk(chunk) {
      if (!text) firstMs = performance.now() - start;
      text += chunk;
    },
  });
  const ms = performance.now() - start;
  completion.dispose({ disposeSequence: true });
  return { tokPerS: (TOKENS / ms) * 1000, firstMs, text: res.response, tokens: TOKENS };
}

// --- the backend ----------------------------------------------------------------------------

async function backendRun(backend: LocalBackend, seed: number): Promise<Sample> {
  const start = performance.now();
  let firstMs = 0;
  let text = '';
  let tokens = 0;
  const body = {
    prompt: PROMPT,
    max_tokens: TOKENS,
    temperature: 1,
    top_p: 1,
    seed,
    stream_options: { include_usage: true },
  };
  for await (const chunk of backend.stream({ kind: 'completions', body }, new AbortController().signal)) {
    const piece = (chunk as CompletionChunk).choices[0]?.text;
    if (piece && !text) firstMs = performance.now() - start;
    text += piece ?? '';
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  return { tokPerS: (tokens / (performance.now() - start)) * 1000, firstMs, text, tokens };
}

/** Chat, plain or with `response_format` (the grammar's cost included: compiled per request). */
async function chatRun(backend: LocalBackend, seed: number, json: boolean): Promise<Sample> {
  const start = performance.now();
  let firstMs = 0;
  let text = '';
  let tokens = 0;
  let finish: string | null = null;
  const body = {
    messages: [{ role: 'user' as const, content: 'Tell me a story in lines.' }],
    max_tokens: TOKENS,
    temperature: 1,
    seed,
    stream_options: { include_usage: true },
    ...(json ? { response_format: { type: 'json_schema', json_schema: { name: 'story', schema: STORY_SCHEMA } } } : {}),
  };
  for await (const chunk of backend.stream({ kind: 'chat', body }, new AbortController().signal)) {
    const choice = (chunk as ChatCompletionChunk).choices[0];
    const piece = choice?.delta?.content;
    if (piece && !text) firstMs = performance.now() - start;
    text += piece ?? '';
    finish = choice?.finish_reason ?? finish;
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  if (json && finish === 'stop') JSON.parse(text); // output check: complete JSON parses
  return { tokPerS: (tokens / (performance.now() - start)) * 1000, firstMs, text, tokens };
}

async function concurrentRun(backend: LocalBackend, streams: number, seed: number): Promise<Sample> {
  const start = performance.now();
  const runs = await Promise.all(Array.from({ length: streams }, (_, i) => backendRun(backend, seed + i)));
  const ms = performance.now() - start;
  const tokens = runs.reduce((a, r) => a + r.tokens, 0);
  return { tokPerS: (tokens / ms) * 1000, firstMs: median(runs.map((r) => r.firstMs)), text: '', tokens };
}

// --- run ------------------------------------------------------------------------------------

const backends = {
  ra0: createLocalBackend({ threads: 1, sequences: 4, readAhead: 0 }),
  ra1: createLocalBackend({ threads: 1, sequences: 4, readAhead: 1 }),
  ra8: createLocalBackend({ threads: 1, sequences: 4, readAhead: 8 }),
};
for (const b of Object.values(backends)) await b.load();

const results = new Map<string, Sample[]>();
const add = (name: string, s: Sample) => results.set(name, [...(results.get(name) ?? []), s]);
/** Runs `fn` and adds its process CPU time per token to the sample. */
async function timed(fn: () => Promise<Sample>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const s = await fn();
  const used = process.cpuUsage(cpu);
  return { ...s, cpuUs: (used.user + used.system) / Math.max(1, s.tokens) };
}
let failures = 0;
const check = (ok: boolean, what: string) => {
  if (!ok) {
    failures++;
    console.error(`✖ output check: ${what}`);
  }
};

// Warm-up, then interleaved rounds so machine drift hits every variant alike.
await rawRun(1, 0, 32);
await backendRun(backends.ra1, 0);
for (let round = 0; round < ROUNDS; round++) {
  const seed = 1000 + round;
  const raw = await timed(() => rawRun(1, seed));
  add('raw evaluate, threads 1', raw);
  add('LlamaCompletion, threads 1', await timed(() => completionRun(seed)));
  for (const [name, backend] of Object.entries(backends)) {
    const s = await timed(() => backendRun(backend, seed));
    add(`backend, readAhead ${name.slice(2)}`, s);
    check(s.tokens === TOKENS, `${name}: ${s.tokens} completion tokens, expected ${TOKENS}`);
    check(s.text === raw.text, `${name}: text differs from raw evaluate with seed ${seed}`);
  }
  const constrained = await timed(() => rawRun(1, seed, TOKENS, storyGrammar));
  add('raw evaluate + JSON grammar, threads 1', constrained);
  check(constrained.tokens === TOKENS, `grammar: ${constrained.tokens} tokens`);
  check(constrained.text.startsWith('{'), 'grammar: the output is JSON');
  add('backend chat, plain', await timed(() => chatRun(backends.ra1, seed, false)));
  add('backend chat, response_format json_schema', await timed(() => chatRun(backends.ra1, seed, true)));
  const four = await timed(() => concurrentRun(backends.ra1, 4, seed));
  add('backend, 4 concurrent streams (total)', four);
  check(four.tokens === 4 * TOKENS, `4 streams: ${four.tokens} tokens`);
}
// Two threads are ~20x slower on this machine: a short run is enough to show it.
for (let round = 0; round < 3; round++) add('raw evaluate, threads 2', await timed(() => rawRun(2, 2000 + round, 32)));

const rows: string[][] = [['variant', 'tok/s (median)', '±%', 'first chunk ms', 'vs raw', 'CPU µs/token']];
const floor = median((results.get('raw evaluate, threads 1') ?? []).map((s) => s.tokPerS));
for (const [name, samples] of results) {
  const rates = samples.map((s) => s.tokPerS);
  rows.push([
    name,
    median(rates).toFixed(0),
    marginOfErrorPercent(rates).toFixed(1),
    median(samples.map((s) => s.firstMs)).toFixed(2),
    `${((median(rates) / floor) * 100).toFixed(0)}%`,
    median(samples.map((s) => s.cpuUs ?? Number.NaN)).toFixed(0),
  ]);
}
console.log(`local backend, ${TOKENS} tokens per stream, ${ROUNDS} rounds, tiny model (${DEFAULT_MODEL_PATH})`);
console.log(table(rows));
const rate = (name: string) => median((results.get(name) ?? []).map((s) => s.tokPerS));
const cpu = (name: string) => median((results.get(name) ?? []).map((s) => s.cpuUs ?? Number.NaN));
// CPU per token is the steadier figure on a shared machine; the ratio is unconstrained / constrained cost.
console.log(
  'grammar-constrained vs unconstrained (tok/s ratio; CPU-per-token ratio): ' +
    `raw evaluate ${(rate('raw evaluate + JSON grammar, threads 1') / floor).toFixed(2)}; ` +
    `${(cpu('raw evaluate, threads 1') / cpu('raw evaluate + JSON grammar, threads 1')).toFixed(2)} — ` +
    `backend chat ${(rate('backend chat, response_format json_schema') / rate('backend chat, plain')).toFixed(2)}; ` +
    `${(cpu('backend chat, plain') / cpu('backend chat, response_format json_schema')).toFixed(2)}`,
);

for (const b of Object.values(backends)) await b.close();
for (const c of [...rawContexts.values(), completionContext]) await c.dispose();
await model.dispose();
await llama.dispose();
if (failures > 0) process.exit(1);
