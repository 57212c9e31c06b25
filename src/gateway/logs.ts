/**
 * The gateway's JSON log lines beside the server's one per request: one per upstream
 * attempt and one per breaker change. Built only from the router's records (ids, outcomes,
 * statuses, timings): no header, body, prompt or key is ever at hand here to be logged.
 * @module
 */
import { roundMs } from '../server/observer.js';
import { jsonLogLine } from '../server/request-log.js';
import type { AttemptRecord } from './events.js';

/**
 * One attempt as a JSON line; `requestId` ties it to its request's line.
 *
 * @example
 * attemptLogLine({ model: 'gpt-4o', targetId: 'gpt-4o/0:azure:east.openai.azure.com', attempt: 1,
 *   startedAt: 10, outcome: 'failed-over', reason: 'rate-limited', status: 429, cooldownMs: 2000 }, 'r1', 52.5)
 * // '{"time":"…","level":"warn","event":"attempt","request_id":"r1","model":"gpt-4o",…,"duration_ms":42.5}'
 */
export function attemptLogLine(record: AttemptRecord, requestId: string | undefined, endedAt: number): string {
  return jsonLogLine(
    'attempt',
    {
      request_id: requestId,
      model: record.model,
      target: record.targetId,
      attempt: record.attempt,
      outcome: record.outcome,
      reason: record.reason,
      status: record.status,
      cooldown_ms: record.cooldownMs,
      headers_ms: roundMs(record.headersMs),
      first_token_ms: roundMs(record.firstTokenMs),
      duration_ms: roundMs(endedAt - record.startedAt),
    },
    record.outcome === 'served' || record.outcome === 'aborted' ? 'info' : 'warn',
  );
}

/** A breaker change as a JSON line (an opened breaker is a warning). */
export function breakerLogLine(targetId: string, state: 'closed' | 'open' | 'half-open'): string {
  return jsonLogLine('breaker', { target: targetId, state }, state === 'open' ? 'warn' : 'info');
}
