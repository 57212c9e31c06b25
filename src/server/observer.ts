/**
 * What the server tells observers (traces, JSON logs, a gateway's per-target series) about
 * each generation, and the `server-timing` it sends. The server stays free of any telemetry
 * library: an observer is an optional object given to `createServer`, and without one the
 * server does no more than count and time what it already did.
 * @module
 */
import type { BackendRequest } from '../backend.js';
import type { AnyChunk, AnyResponse, ApiKind, Usage } from '../types.js';
import type { RouteLabel } from './routes.js';

/** Every API the server generates for: Chat Completions, Completions, Responses, embeddings. */
export type GenerationKind = ApiKind | 'responses' | 'embeddings';

/** A generation as it begins. Never the prompt: only what may be recorded. */
export interface GenerationStart {
  requestId: string;
  route: RouteLabel;
  kind: GenerationKind;
  /** The deployment or model name the client asked for. */
  model: string | undefined;
  stream: boolean;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** Sampling parameters (numbers only). */
  params: { maxTokens?: number; temperature?: number; topP?: number };
}

/** What one generation did, filled as it goes; the request's log line and observers read it. */
export interface GenerationReport {
  model?: string;
  /** The caller's key name (per-key access), never the key. */
  key?: string;
  /** `counted`: usage counted by the gateway's tokenizer (the upstream reported none). */
  tokensSource?: 'reported' | 'counted';
  /** The routing backend's target that served (or whose error was answered). */
  target?: string;
  attempts?: number;
  /** The gateway's own time before the response headers, ms (`server-timing: gateway`). */
  gatewayMs?: number;
  /** The serving upstream's time to its response headers, ms (`server-timing: upstream`). */
  upstreamMs?: number;
  /** Request arrival to the first text chunk written, ms. */
  firstTokenMs?: number;
  /** Chunks relayed (streams). */
  chunks?: number;
  usage?: Usage;
  outcome?: 'completed' | 'error' | 'client-closed';
  /** The error's stable code (never its message, which may quote an upstream). */
  error?: string;
}

/** One generation, as an observer follows it. Every method must be cheap and must not throw. */
export interface GenerationObservation {
  /** Each chunk relayed on a stream (after it was written); Chat Completions and Completions only. */
  chunk?(chunk: AnyChunk): void;
  /** The whole answer of a non-streaming Chat Completions or Completions request. */
  response?(response: AnyResponse): void;
  /** The generation ended, however it ended; `status` is the HTTP status sent (499: none). */
  end(report: Readonly<GenerationReport>, status: number): void;
}

/**
 * Watches generations. `observe` wraps each one: whatever the backend reports while `run`
 * runs belongs to that generation (a gateway correlates its routers' attempts this way).
 *
 * @example
 * ```ts
 * const observer: GenerationObserver = {
 *   observe: (start, run) => run({ end: (report, status) => console.log(start.requestId, status, report) }),
 * };
 * createServer({ backend, observer });
 * ```
 */
export interface GenerationObserver {
  observe?<T>(start: GenerationStart, run: (observation: GenerationObservation) => Promise<T>): Promise<T>;
  /** Prometheus text appended to `/metrics` (e.g. per-target series). */
  metrics?(): string;
}

/**
 * The `server-timing` value: the gateway's own time and, when known, the upstream's time
 * to headers (ms, two decimals), e.g. `gateway;dur=0.42, upstream;dur=212.3`.
 *
 * @example
 * serverTiming({ gatewayMs: 0.4213, upstreamMs: 212.3 }) // 'gateway;dur=0.42, upstream;dur=212.3'
 */
export function serverTiming(report: Pick<GenerationReport, 'gatewayMs' | 'upstreamMs'>): string {
  const gateway = `gateway;dur=${roundMs(report.gatewayMs ?? 0)}`;
  return report.upstreamMs === undefined ? gateway : `${gateway}, upstream;dur=${roundMs(report.upstreamMs)}`;
}

/**
 * The `server-timing` header of a generation's answer, once its headers are due; records
 * the target, attempts and upstream time a routing backend put in the request's `meta`.
 */
export function timingHeaders(
  report: GenerationReport,
  request: Pick<BackendRequest, 'meta'>,
): { 'server-timing': string } {
  reportMeta(report, request);
  return { 'server-timing': serverTiming(report) };
}

/** Copies what a routing backend said in the request's `meta` into the report. */
export function reportMeta(report: GenerationReport, request: Pick<BackendRequest, 'meta'>): void {
  const meta = request.meta;
  if (!meta) return;
  if (meta.target !== undefined) report.target = meta.target;
  if (meta.attempts !== undefined) report.attempts = meta.attempts;
  if (meta.headersMs !== undefined) report.upstreamMs = meta.headersMs;
}

/** A duration for a header or a log: ms to two decimals, never negative. */
export function roundMs(ms: number): number;
export function roundMs(ms: number | undefined): number | undefined;
export function roundMs(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.max(0, Math.round(ms * 100) / 100);
}
