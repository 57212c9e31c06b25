/**
 * Deterministic, realistic Azure OpenAI chat streams for benchmarks.
 *
 * Each stream follows Azure's wire shape (as in docs/protocol.md):
 * a prompt-filter chunk, a role chunk, many content chunks with `content_filter_results` for
 * the four severity categories, a finish chunk, a usage chunk and `data: [DONE]`, each event
 * `data: <json>\n\n`. Keys are in Azure's (alphabetical) order. Text comes in multi-token
 * bursts, as with Azure's default synchronous filter, with the occasional non-ASCII word
 * (curly quotes, dashes, accents, CJK, emoji) as real model output has.
 *
 * Everything is driven by a seeded PRNG, so the same seed always gives the same bytes and the
 * same network chunking. Generation is lazy (`azureNetworkChunks` is a generator), so a memory
 * benchmark can stream 50 MB without holding it.
 * @module
 */

/** A seeded PRNG (mulberry32): returns floats in [0, 1). Small, fast, good enough for fixtures. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max], both inclusive. */
export function randomInt(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

const WORDS = (
  'the of and to in is that it for as with on was be by this are from at or an which ' +
  'stream streaming response token model request server client chunk buffer latency ' +
  'function value return error result data event content filter deployment region ' +
  'however because therefore example simple quickly carefully first second finally ' +
  'Azure OpenAI TypeScript Node JSON HTTP API SDK'
).split(' ');
const UNICODE_WORDS = ['café', 'naïve', '—', '’s', '“quoted”', 'Zürich', '日本語', '你好', '🙂', '🚀', 'über', '…'];
const SAFE = '{"filtered":false,"severity":"safe"}';
/** Azure's `content_filter_results` on a content choice: the four categories, all safe. */
export const COMPLETION_FILTER = `{"hate":${SAFE},"self_harm":${SAFE},"sexual":${SAFE},"violence":${SAFE}}`;
/** Azure's `content_filter_results` of one prompt (jailbreak included). */
export const PROMPT_FILTER =
  `{"hate":${SAFE},"jailbreak":{"filtered":false,"detected":false},` +
  `"self_harm":${SAFE},"sexual":${SAFE},"violence":${SAFE}}`;
/** The model name Azure reports in chunks. */
export const MODEL = 'gpt-4o-2024-08-06';
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** One generated stream: its SSE text and what a decoder + JSON.parse must find in it. */
export interface GeneratedStream {
  /** The complete `text/event-stream` body, `data: [DONE]` included. */
  text: string;
  /** The JSON payload of every event except `[DONE]`, in order. */
  payloads: string[];
  /** Sum of the lengths (UTF-16 units) of every `delta.content` string. */
  contentLength: number;
}

function randomId(rng: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ID_CHARS[randomInt(rng, 0, ID_CHARS.length - 1)];
  return s;
}

function burst(rng: () => number): string {
  // Azure's synchronous filter releases text in bursts of several tokens.
  const words = randomInt(rng, 1, 12);
  let s = '';
  for (let i = 0; i < words; i++) {
    const unicode = rng() < 0.03;
    const list = unicode ? UNICODE_WORDS : WORDS;
    const word = list[randomInt(rng, 0, list.length - 1)] ?? 'x';
    s += (rng() < 0.9 ? ' ' : '') + word;
    if (rng() < 0.06) s += rng() < 0.5 ? '.' : ',';
    if (rng() < 0.02) s += '\n';
    if (rng() < 0.005) s += '\t"quoted\\path"';
  }
  return s;
}

/** Generates one complete Azure chat stream. */
export function generateAzureStream(rng: () => number): GeneratedStream {
  const id = `chatcmpl-${randomId(rng, 29)}`;
  const created = 1_730_000_000 + randomInt(rng, 0, 10_000_000);
  const fingerprint = `fp_${randomId(rng, 10).toLowerCase()}`;
  const tail = `"created":${created},"id":"${id}","model":"${MODEL}","object":"chat.completion.chunk","system_fingerprint":"${fingerprint}"`;
  const payloads: string[] = [];
  let contentLength = 0;

  payloads.push(
    `{"choices":[],"created":0,"id":"","model":"","object":"",` +
      `"prompt_filter_results":[{"prompt_index":0,"content_filter_results":${PROMPT_FILTER}}]}`,
  );
  payloads.push(
    `{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},` +
      `"finish_reason":null,"index":0,"logprobs":null}],${tail}}`,
  );
  const contentChunks = randomInt(rng, 20, 400);
  let completionTokens = 0;
  for (let i = 0; i < contentChunks; i++) {
    const text = burst(rng);
    contentLength += text.length;
    completionTokens += Math.max(1, Math.round(text.length / 4));
    payloads.push(
      `{"choices":[{"content_filter_results":${COMPLETION_FILTER},"delta":{"content":${JSON.stringify(text)}},` +
        `"finish_reason":null,"index":0,"logprobs":null}],${tail}}`,
    );
  }
  const finish = rng() < 0.9 ? 'stop' : 'length';
  payloads.push(
    `{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"${finish}","index":0,"logprobs":null}],${tail}}`,
  );
  const promptTokens = randomInt(rng, 10, 4000);
  payloads.push(
    `{"choices":[],${tail},"usage":{"completion_tokens":${completionTokens},` +
      `"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":0,"rejected_prediction_tokens":0},` +
      `"prompt_tokens":${promptTokens},"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0},` +
      `"total_tokens":${promptTokens + completionTokens}}}`,
  );
  let text = '';
  for (const p of payloads) text += `data: ${p}\n\n`;
  text += 'data: [DONE]\n\n';
  return { text, payloads, contentLength };
}

export interface CorpusOptions {
  seed: number;
  /** Stop after the first stream that brings the total to at least this many bytes. */
  targetBytes: number;
  /** Network chunk sizes, inclusive, in bytes. Defaults 1024 and 16384. */
  minChunk?: number;
  maxChunk?: number;
}

/** What a correct decoder + JSON.parse must produce for a corpus. */
export interface CorpusExpectation {
  bytes: number;
  streams: number;
  /** JSON payloads (events other than `[DONE]`). */
  chunks: number;
  /** `[DONE]` events. */
  dones: number;
  /** Sum of `delta.content` lengths: a checksum of what was parsed. */
  contentLength: number;
}

const encoder = new TextEncoder();

/** Cuts `bytes` into pieces of `min`-`max` bytes (the last may be shorter), anywhere, even inside a character. */
export function splitIntoChunks(bytes: Uint8Array, rng: () => number, min: number, max: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = randomInt(rng, min, max);
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

/** Content and chunking come from two generators of one seed, so they vary independently. */
function rngs(seed: number): { content: () => number; chunking: () => number } {
  return { content: createRng(seed), chunking: createRng(seed ^ 0x9e3779b9) };
}

function count(expected: CorpusExpectation, stream: GeneratedStream, bytes: number): void {
  expected.bytes += bytes;
  expected.streams++;
  expected.chunks += stream.payloads.length;
  expected.dones++;
  expected.contentLength += stream.contentLength;
}

function emptyExpectation(): CorpusExpectation {
  return { bytes: 0, streams: 0, chunks: 0, dones: 0, contentLength: 0 };
}

/** One HTTP response of a corpus. */
export interface CorpusResponse {
  /** The body as network chunks. */
  chunks: Uint8Array[];
  /** Its JSON payloads in order (what the floor parses). */
  payloads: string[];
}

/** A corpus in memory: many separate responses. */
export interface Corpus {
  responses: CorpusResponse[];
  expected: CorpusExpectation;
}

/**
 * Generates whole responses until `targetBytes` is reached. Each response is chunked on
 * its own, as each would arrive on its own connection (and a client stops at its `[DONE]`).
 */
export function buildCorpus(options: CorpusOptions): Corpus {
  const min = options.minChunk ?? 1024;
  const max = options.maxChunk ?? 16384;
  const rng = rngs(options.seed);
  const corpus: Corpus = { responses: [], expected: emptyExpectation() };
  while (corpus.expected.bytes < options.targetBytes) {
    const stream = generateAzureStream(rng.content);
    const bytes = encoder.encode(stream.text);
    corpus.responses.push({ chunks: splitIntoChunks(bytes, rng.chunking, min, max), payloads: stream.payloads });
    count(corpus.expected, stream, bytes.length);
  }
  return corpus;
}

/**
 * Lazily yields one long body — many responses back to back — as network chunks of
 * `minChunk`-`maxChunk` bytes cut anywhere, holding at most one response at a time. For
 * memory measurements: the input itself never piles up. Returns the totals.
 */
export function* azureNetworkChunks(options: CorpusOptions): Generator<Uint8Array, CorpusExpectation> {
  const min = options.minChunk ?? 1024;
  const max = options.maxChunk ?? 16384;
  const rng = rngs(options.seed);
  const expected = emptyExpectation();
  let carry = new Uint8Array(0);
  let next = randomInt(rng.chunking, min, max);
  while (expected.bytes < options.targetBytes) {
    const stream = generateAzureStream(rng.content);
    const bytes = encoder.encode(stream.text);
    count(expected, stream, bytes.length);
    const joined = new Uint8Array(carry.length + bytes.length);
    joined.set(carry);
    joined.set(bytes, carry.length);
    let at = 0;
    while (joined.length - at >= next) {
      yield joined.slice(at, at + next);
      at += next;
      next = randomInt(rng.chunking, min, max);
    }
    carry = joined.slice(at);
  }
  if (carry.length > 0) yield carry;
  return expected;
}

/** Sum of `delta.content` lengths of one parsed chunk. */
export function contentLengthOf(chunk: unknown): number {
  const choices = (chunk as { choices?: Array<{ delta?: { content?: unknown } }> }).choices;
  if (choices === undefined) return 0;
  let n = 0;
  for (const c of choices) {
    const content = c.delta?.content;
    if (typeof content === 'string') n += content.length;
  }
  return n;
}
