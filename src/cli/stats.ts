/**
 * `--stats` lines and the `--json` summary line. Pure.
 * @module
 */
import type { StreamMetrics } from '../client/metrics.js';
import type { LengthLimitReason } from '../errors.js';
import type { EndState } from '../protocol/end-state.js';
import type { Usage } from '../types.js';
import { scrub } from './describe.js';

export interface AnswerFacts {
  end: EndState;
  metrics?: StreamMetrics;
  usage?: Usage;
  /** Per choice, by index. */
  finishReasons: Array<string | null>;
  /** For a `length` finish: which limit stopped the answer. */
  lengthLimit?: LengthLimitReason;
  requestId?: string;
}

/**
 * Human-readable statistics for stderr.
 * @example
 * formatStats({ end: { state: 'completed' }, finishReasons: ['stop'] })[0] // 'time to first token  n/a'
 */
export function formatStats(f: AnswerFacts): string[] {
  const m = f.metrics;
  const ms = (v: number | undefined) => (v === undefined ? 'n/a' : `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`);
  const usage = f.usage ?? m?.usage;
  const rows: Array<[string, string]> = [
    ['time to first token', ms(m?.timeToFirstTokenMs)],
    ['tokens/s', m?.tokensPerSecond === undefined ? 'n/a' : m.tokensPerSecond.toFixed(1)],
    ['chunks', m ? String(m.chunks) : 'n/a'],
    ['chunk gaps', m ? `p50 ${ms(m.gapsMs.p50)}, p95 ${ms(m.gapsMs.p95)}, max ${ms(m.gapsMs.max)}` : 'n/a'],
    ['duration', m?.durationMs === undefined ? 'n/a' : `${(m.durationMs / 1000).toFixed(2)} s`],
    [
      'usage',
      usage
        ? `${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion = ${usage.total_tokens} tokens`
        : 'not reported',
    ],
    [
      'finish reason',
      (f.finishReasons.length ? f.finishReasons.map((r) => r ?? 'none').join(', ') : 'none') +
        (f.lengthLimit
          ? ` (${f.lengthLimit === 'context-length' ? 'the context is full' : 'max tokens reached'})`
          : ''),
    ],
    ['request id', f.requestId ?? 'n/a'],
    ['end', f.end.state],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

/**
 * The last `--json` line: `{"type":"summary", end, usage, metrics, finish_reasons, request_id}`,
 * then the `extra` fields (the log id and conversation id, when the exchange was logged).
 * A failed end carries the error's code, name and (scrubbed) message, never the object.
 * @example
 * JSON.parse(summaryLine({ end: { state: 'completed' }, finishReasons: ['stop'] }, [])).type // 'summary'
 */
export function summaryLine(
  f: AnswerFacts,
  secrets: readonly string[],
  extra: Readonly<Record<string, unknown>> = {},
): string {
  const end =
    f.end.state === 'failed'
      ? {
          state: 'failed',
          error: { code: f.end.error.code, name: f.end.error.name, message: scrub(f.end.error.message, secrets) },
        }
      : f.end.state === 'aborted'
        ? { state: 'aborted' }
        : f.end;
  const metrics = f.metrics
    ? {
        timeToHeadersMs: f.metrics.timeToHeadersMs,
        timeToFirstTokenMs: f.metrics.timeToFirstTokenMs,
        tokensPerSecond: f.metrics.tokensPerSecond,
        durationMs: f.metrics.durationMs,
        chunks: f.metrics.chunks,
        gapsMs: f.metrics.gapsMs,
      }
    : null;
  return `${JSON.stringify({
    type: 'summary',
    end,
    usage: f.usage ?? f.metrics?.usage ?? null,
    metrics,
    finish_reasons: f.finishReasons,
    ...(f.lengthLimit ? { length_limit: f.lengthLimit } : {}),
    request_id: f.requestId ?? null,
    ...extra,
  })}\n`;
}
