/**
 * The server's log lines: one per request, as plain text (the default) or as one JSON
 * object per line (`logFormat: 'json'`, for log shippers). A line holds what the server
 * decided and measured, never a header value, a body or a query string: no key and no
 * prompt can reach a log through here.
 * @module
 */
import { type GenerationReport, roundMs } from './observer.js';
import type { RouteLabel } from './routes.js';

export type LogFormat = 'text' | 'json';

/** One answered request. */
export interface RequestLogRecord {
  requestId: string;
  method: string;
  /** The path without its query. */
  path: string;
  route: RouteLabel;
  status: number;
  durationMs: number;
  /** The client left before the answer was complete. */
  clientClosed: boolean;
  /** The caller's key name (per-key access), never the key. */
  key?: string | undefined;
  /** Set when the request ran a generation. */
  generation?: Readonly<GenerationReport> | undefined;
}

/**
 * One JSON log line: time, level, event, then the fields (undefined ones left out).
 *
 * @example
 * jsonLogLine('attempt', { target: 'gpt-4o/0:azure:east.openai.azure.com', outcome: 'served' })
 * // '{"time":"2026-…Z","level":"info","event":"attempt","target":"gpt-4o/0:azure:…","outcome":"served"}'
 */
export function jsonLogLine(event: string, fields: Record<string, unknown>, level: 'info' | 'warn' = 'info'): string {
  return JSON.stringify({ time: new Date().toISOString(), level, event, ...fields });
}

/**
 * A request's log line in the chosen format.
 *
 * @example
 * formatRequestLog({ requestId: 'r1', method: 'GET', path: '/healthz', route: 'healthz', status: 200,
 *   durationMs: 0.4, clientClosed: false }, 'text') // 'GET /healthz 200 0.4ms r1'
 */
export function formatRequestLog(record: RequestLogRecord, format: LogFormat): string {
  const ms = record.durationMs.toFixed(1);
  if (format === 'text') {
    const cut = record.clientClosed ? ' (client closed)' : '';
    const key = record.key === undefined ? '' : ` key=${record.key}`;
    return `${record.method} ${record.path} ${record.status} ${ms}ms ${record.requestId}${key}${cut}`;
  }
  const g = record.generation;
  return jsonLogLine(
    'request',
    {
      request_id: record.requestId,
      method: record.method,
      path: record.path,
      route: record.route,
      status: record.status,
      duration_ms: Number(ms),
      client_closed: record.clientClosed || undefined,
      key: record.key,
      ...(g ? generationFields(g) : {}),
    },
    record.status >= 500 ? 'warn' : 'info',
  );
}

// --- internal ---

function generationFields(g: Readonly<GenerationReport>): Record<string, unknown> {
  return {
    model: g.model,
    target: g.target,
    attempts: g.attempts,
    outcome: g.outcome,
    error: g.error,
    gateway_ms: roundMs(g.gatewayMs),
    upstream_ms: roundMs(g.upstreamMs),
    first_token_ms: roundMs(g.firstTokenMs),
    chunks: g.chunks,
    prompt_tokens: g.usage?.prompt_tokens,
    completion_tokens: g.usage?.completion_tokens,
    tokens_source: g.tokensSource,
  };
}
