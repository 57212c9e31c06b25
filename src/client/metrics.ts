/**
 * Live stream metrics. The per-chunk path stores one timestamp difference in a growing
 * Float64Array (8 bytes a chunk: 1 MB for 125 000 chunks) and nothing else; quantiles are
 * computed only when read, on a sorted copy, and cached until the next chunk.
 * @module
 */
import type { AnyChunk, Usage } from '../types.js';

/**
 * What a stream measured. Times are milliseconds from `startedAt` (the call), measured with
 * the monotonic clock.
 *
 * - `timeToFirstTokenMs`: to the first chunk carrying text, a refusal or a tool-call delta.
 * - `gapsMs`: time between consecutive chunks (all chunks, filter chunks included), from the
 *   second chunk on; zeros until there are two chunks.
 * - `tokensPerSecond`: completion tokens over the time from the first token to the end of the
 *   stream. Tokens come from `usage.completion_tokens` when the stream reported usage
 *   (`stream_options.include_usage`), else from the count of text-carrying choice deltas,
 *   which is exact when each chunk carries one token (OpenAI, Azure's asynchronous filter,
 *   local models) and an under-count when Azure's default filter sends multi-token bursts.
 *   Undefined until the stream ended with at least one token after the first.
 */
export interface StreamMetrics {
  /** Wall-clock time of the call (Date.now()). */
  readonly startedAt: number;
  readonly timeToHeadersMs?: number;
  readonly timeToFirstTokenMs?: number;
  readonly chunks: number;
  readonly gapsMs: { p50: number; p95: number; max: number };
  readonly tokensPerSecond?: number;
  readonly durationMs?: number;
  readonly usage?: Usage;
}

/** How many choices of a chunk carry generated content: text, a refusal or tool-call deltas. */
export function tokenDeltas(chunk: AnyChunk): number {
  let n = 0;
  const choices = chunk.choices;
  for (let i = 0; i < choices.length; i++) {
    const c = choices[i] as { text?: unknown; delta?: { content?: unknown; refusal?: unknown; tool_calls?: unknown } };
    if (typeof c.text === 'string') {
      if (c.text !== '') n++;
      continue;
    }
    const d = c.delta;
    if (d === undefined) continue;
    if ((typeof d.content === 'string' && d.content !== '') || (typeof d.refusal === 'string' && d.refusal !== '')) {
      n++;
    } else if (Array.isArray(d.tool_calls) && d.tool_calls.length > 0) n++;
  }
  return n;
}

export class MetricsRecorder implements StreamMetrics {
  readonly startedAt = Date.now();
  readonly #t0: number;
  timeToHeadersMs: number | undefined;
  timeToFirstTokenMs: number | undefined;
  durationMs: number | undefined;
  usage: Usage | undefined;
  chunks = 0;
  #tokenDeltas = 0;
  /**
   * When the previous chunk came; -Infinity before the first. Times are fractional: a field
   * that starts as a small integer (-1) and then holds one gives the instances a new hidden
   * class, which the kept one (client/shapes.ts) would not be.
   */
  #lastChunkAt = Number.NEGATIVE_INFINITY;
  #gaps = new Float64Array(64);
  #gapCount = 0;
  #cached: { p50: number; p95: number; max: number } | undefined;

  constructor(t0: number = performance.now()) {
    this.#t0 = t0;
  }

  headers(now: number): void {
    this.timeToHeadersMs = now - this.#t0;
  }

  /** Records one chunk arriving at `now` carrying `tokens` content deltas. Hot path. */
  chunk(now: number, tokens: number, usage: Usage | null | undefined): void {
    this.chunks++;
    if (this.#lastChunkAt >= 0) {
      if (this.#gapCount === this.#gaps.length) {
        const bigger = new Float64Array(this.#gaps.length * 2);
        bigger.set(this.#gaps);
        this.#gaps = bigger;
      }
      this.#gaps[this.#gapCount++] = now - this.#lastChunkAt;
      this.#cached = undefined;
    }
    this.#lastChunkAt = now;
    if (tokens > 0) {
      if (this.timeToFirstTokenMs === undefined) this.timeToFirstTokenMs = now - this.#t0;
      this.#tokenDeltas += tokens;
    }
    if (usage) this.usage = usage;
  }

  end(now: number): void {
    if (this.durationMs === undefined) this.durationMs = now - this.#t0;
  }

  get gapsMs(): { p50: number; p95: number; max: number } {
    if (this.#cached) return this.#cached;
    const n = this.#gapCount;
    if (n === 0) return { p50: 0, p95: 0, max: 0 };
    // Selected, not sorted: two partial partitions of a copy cost O(n) where a sort of a
    // long stream's gaps cost more than a millisecond at its end.
    const gaps = this.#gaps.slice(0, n);
    const at95 = rankIndex(n, 0.95);
    const at50 = rankIndex(n, 0.5);
    const p95 = select(gaps, at95, 0, n - 1);
    const p50 = select(gaps, at50, 0, at95); // everything left of at95 is at most p95 now
    let max = p95;
    for (let i = at95 + 1; i < n; i++) if (gaps[i]! > max) max = gaps[i]!;
    this.#cached = { p50, p95, max };
    return this.#cached;
  }

  get tokensPerSecond(): number | undefined {
    if (this.durationMs === undefined || this.timeToFirstTokenMs === undefined) return undefined;
    const tokens = this.usage?.completion_tokens ?? this.#tokenDeltas;
    const seconds = (this.durationMs - this.timeToFirstTokenMs) / 1000;
    if (!(seconds > 0) || tokens < 2) return undefined;
    return tokens / seconds;
  }

  /** A plain snapshot (for JSON output and `final()`). */
  snapshot(): StreamMetrics {
    const s: { -readonly [P in keyof StreamMetrics]: StreamMetrics[P] } = {
      startedAt: this.startedAt,
      chunks: this.chunks,
      gapsMs: this.gapsMs,
    };
    if (this.timeToHeadersMs !== undefined) s.timeToHeadersMs = this.timeToHeadersMs;
    if (this.timeToFirstTokenMs !== undefined) s.timeToFirstTokenMs = this.timeToFirstTokenMs;
    const tps = this.tokensPerSecond;
    if (tps !== undefined) s.tokensPerSecond = tps;
    if (this.durationMs !== undefined) s.durationMs = this.durationMs;
    if (this.usage !== undefined) s.usage = this.usage;
    return s;
  }

  toJSON(): StreamMetrics {
    return this.snapshot();
  }
}

/** Where the nearest-rank `q` quantile of `n` values sits once they are sorted. */
function rankIndex(n: number, q: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
}

/**
 * The value that belongs at index `k` of `values[from..to]` sorted (both ends included),
 * rearranging that range so that nothing left of `k` is larger and nothing right of it is
 * smaller (quickselect, median-of-three pivots). A range that keeps splitting badly is
 * sorted instead, so the worst case stays O(n log n).
 */
function select(values: Float64Array, k: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  let rounds = 2 * Math.ceil(Math.log2(to - from + 2)) + 8;
  while (hi > lo) {
    if (rounds-- === 0) {
      values.subarray(lo, hi + 1).sort();
      return values[k]!;
    }
    const mid = lo + ((hi - lo) >> 1);
    const pivot = medianOfThree(values[lo]!, values[mid]!, values[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

function medianOfThree(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}
