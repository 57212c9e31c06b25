/**
 * The server's own counters, rendered as Prometheus text (exposition format 0.0.4), plus
 * whatever numbers each backend reports through an optional `stats()` method. Updating a
 * counter is a field increment: cheap enough for the per-chunk path.
 * @module
 */
import type { Backend } from '../backend.js';

/** Time-to-first-token buckets, seconds: sub-millisecond to slow-model territory. */
export const TTFT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A backend that can report numbers (the local backend does: sequences in use, queue depth...). */
export type StatsBackend = Backend & { stats?: () => Record<string, unknown> };

export class ServerMetrics {
  /** `route\u0000status` -> count. */
  readonly requests = new Map<string, number>();
  activeStreams = 0;
  /** Streamed and non-streamed generations begun with a backend. */
  generations = 0;
  /** Generations stopped because the client hung up. */
  clientDisconnects = 0;
  /** Streams that ended with an error frame. */
  streamErrors = 0;
  /** 429s sent because the backend was overloaded. */
  overloaded = 0;
  /** SSE chunks written (excluding heartbeats and `[DONE]`). */
  chunksSent = 0;
  heartbeats = 0;
  /** From usage chunks, when the backend sends them. */
  promptTokens = 0;
  completionTokens = 0;
  private readonly ttftCounts = new Array<number>(TTFT_BUCKETS.length + 1).fill(0);
  private ttftSum = 0;
  private ttftCount = 0;

  countRequest(route: string, status: number): void {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  observeTimeToFirstToken(seconds: number): void {
    let i = 0;
    while (i < TTFT_BUCKETS.length && seconds > TTFT_BUCKETS[i]!) i++;
    this.ttftCounts[i]!++;
    this.ttftSum += seconds;
    this.ttftCount++;
  }

  /**
   * Prometheus text for these counters and each distinct backend's stats().
   *
   * @example
   * ```ts
   * res.end(metrics.render([backend]));
   * ```
   */
  render(backends: readonly StatsBackend[]): string {
    const out: string[] = [];
    out.push('# HELP sluice_http_requests_total HTTP requests answered, by route and status.');
    out.push('# TYPE sluice_http_requests_total counter');
    for (const [key, count] of this.requests) {
      const [route, status] = key.split('\u0000');
      out.push(`sluice_http_requests_total{route="${escapeLabel(route!)}",status="${status}"} ${count}`);
    }
    simple(out, 'sluice_active_streams', 'gauge', 'Generations currently being sent.', this.activeStreams);
    simple(out, 'sluice_generations_total', 'counter', 'Generations started on a backend.', this.generations);
    simple(
      out,
      'sluice_client_disconnects_total',
      'counter',
      'Generations aborted because the client hung up.',
      this.clientDisconnects,
    );
    simple(out, 'sluice_stream_errors_total', 'counter', 'Streams ended by an error frame.', this.streamErrors);
    simple(out, 'sluice_overloaded_total', 'counter', '429 answers: backend slots and queue full.', this.overloaded);
    simple(out, 'sluice_chunks_sent_total', 'counter', 'SSE data chunks written.', this.chunksSent);
    simple(out, 'sluice_heartbeats_total', 'counter', 'SSE keep-alive comments written.', this.heartbeats);
    simple(out, 'sluice_prompt_tokens_total', 'counter', 'Prompt tokens, from usage reports.', this.promptTokens);
    simple(
      out,
      'sluice_completion_tokens_total',
      'counter',
      'Tokens generated, from usage reports.',
      this.completionTokens,
    );

    out.push('# HELP sluice_time_to_first_token_seconds Request arrival to first text chunk written.');
    out.push('# TYPE sluice_time_to_first_token_seconds histogram');
    let cumulative = 0;
    for (let i = 0; i < TTFT_BUCKETS.length; i++) {
      cumulative += this.ttftCounts[i]!;
      out.push(`sluice_time_to_first_token_seconds_bucket{le="${TTFT_BUCKETS[i]}"} ${cumulative}`);
    }
    out.push(`sluice_time_to_first_token_seconds_bucket{le="+Inf"} ${this.ttftCount}`);
    out.push(`sluice_time_to_first_token_seconds_sum ${this.ttftSum}`);
    out.push(`sluice_time_to_first_token_seconds_count ${this.ttftCount}`);

    renderBackendStats(out, backends);
    return `${out.join('\n')}\n`;
  }
}

// --- internal ---

function simple(out: string[], name: string, type: 'gauge' | 'counter', help: string, value: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
}

/** One family per numeric stats key, one sample per backend (labelled by its name). */
function renderBackendStats(out: string[], backends: readonly StatsBackend[]): void {
  const families = new Map<string, string[]>();
  for (const backend of new Set(backends)) {
    let stats: Record<string, unknown> | undefined;
    try {
      stats = backend.stats?.();
    } catch {
      continue; // a failing stats() must not break /metrics
    }
    if (!stats) continue;
    for (const [key, value] of Object.entries(stats)) {
      const number = typeof value === 'boolean' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isFinite(number)) continue;
      const name = `sluice_backend_${snake(key)}`;
      let lines = families.get(name);
      if (!lines) {
        lines = [];
        families.set(name, lines);
      }
      lines.push(`${name}{backend="${escapeLabel(backend.name)}"} ${number}`);
    }
  }
  for (const [name, lines] of families) {
    out.push(`# HELP ${name} Reported by the backend's stats().`);
    out.push(`# TYPE ${name} ${name.endsWith('_total') ? 'counter' : 'gauge'}`);
    out.push(...lines);
  }
}

function snake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase();
}

/** A Prometheus label value, escaped (backslash, quote, newline). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
