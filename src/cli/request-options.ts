/**
 * Request flags, validated: each bad value is a UsageError naming the flag and the values
 * it accepts. The limits are the request validator's (protocol/request.ts), so a flag
 * accepts exactly what a request body may carry. Pure.
 * @module
 */
import { MAX_CHOICES, MAX_STOP, MAX_TOKENS_LIMIT, RANGES } from '../protocol/request.js';
import type { CommonRequestFields } from '../types.js';
import type { ParsedValues } from './args.js';
import { UsageError } from './usage-error.js';

export interface RequestOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  /** Number of choices; 1 unless `-n` says otherwise. */
  n: number;
  /** `--timeout`: the whole request, ms. */
  totalTimeoutMs?: number;
  /** `--idle-timeout`: the longest gap between chunks, ms. */
  idleTimeoutMs?: number;
  retries?: number;
  stream: boolean;
}

/** Azure accepts at most four stop sequences. */
export const MAX_STOP_SEQUENCES = MAX_STOP;

/**
 * @example
 * readRequestOptions({ temperature: '0.5', n: '2' }, 'chat') // { temperature: 0.5, n: 2, stream: true }
 */
export function readRequestOptions(values: ParsedValues, command: string): RequestOptions {
  const flag = { command };
  const options: RequestOptions = { n: 1, stream: values['no-stream'] !== true };
  options.maxTokens = int(values['max-tokens'], '--max-tokens', 1, MAX_TOKENS_LIMIT, flag);
  options.temperature = num(values.temperature, '--temperature', ...RANGES.temperature, flag);
  options.topP = num(values['top-p'], '--top-p', ...RANGES.top_p, flag);
  options.seed = int(values.seed, '--seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, flag);
  options.n = int(values.n, '-n', 1, MAX_CHOICES, flag) ?? 1;
  options.retries = int(values.retries, '--retries', 0, 10, flag);
  const timeout = num(values.timeout, '--timeout', 0, 86_400, flag);
  const idle = num(values['idle-timeout'], '--idle-timeout', 0, 86_400, flag);
  // 0 switches a limit off, as in the client.
  if (timeout !== undefined) options.totalTimeoutMs = Math.round(timeout * 1000);
  if (idle !== undefined) options.idleTimeoutMs = Math.round(idle * 1000);
  const stop = values.stop;
  if (Array.isArray(stop) && stop.length > 0) {
    if (stop.length > MAX_STOP_SEQUENCES) {
      throw new UsageError(`--stop can be given at most ${MAX_STOP_SEQUENCES} times, got ${stop.length}`, {
        setting: '--stop',
        command,
      });
    }
    options.stop = stop.map((s) => {
      const value = unescapeStop(s);
      if (value === '') throw new UsageError('--stop must not be empty', { setting: '--stop', command });
      return value;
    });
  }
  return options;
}

/**
 * The wire fields for these options (only the ones set, so the server's defaults apply).
 * @example
 * requestFields({ n: 1, stream: true, temperature: 0 }) // { temperature: 0 }
 */
export function requestFields(o: RequestOptions): Partial<CommonRequestFields> {
  const out: Partial<CommonRequestFields> = {};
  if (o.maxTokens !== undefined) out.max_tokens = o.maxTokens;
  if (o.temperature !== undefined) out.temperature = o.temperature;
  if (o.topP !== undefined) out.top_p = o.topP;
  if (o.stop !== undefined) out.stop = o.stop;
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.n !== 1) out.n = o.n;
  return out;
}

/** One rule for `stream_options` by api-version, the validator's. */
export { acceptsStreamOptions } from '../protocol/request.js';

/**
 * An integer flag's value, from `min` to `max`, or a UsageError naming the flag.
 * @example
 * integerFlag('3', '-n', 0, 1000, 'logs') // 3
 */
export function integerFlag(raw: unknown, name: string, min: number, max: number, command: string): number | undefined {
  return int(raw, name, min, max, { command });
}

// --- internal ---

function unescapeStop(s: string): string {
  return s.replace(/\\(n|t|r|\\)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);
}

function num(raw: unknown, name: string, min: number, max: number, ctx: { command: string }): number | undefined {
  if (raw === undefined) return undefined;
  const s = String(raw).trim();
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(String(raw))}`, {
      setting: name,
      command: ctx.command,
    });
  }
  return n;
}

function int(raw: unknown, name: string, min: number, max: number, ctx: { command: string }): number | undefined {
  if (raw === undefined) return undefined;
  const s = String(raw).trim();
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || n < min || n > max) {
    const range =
      max > 1e12 ? (min < 0 ? 'an integer' : `an integer of at least ${min}`) : `an integer from ${min} to ${max}`;
    throw new UsageError(`${name} must be ${range}, got ${JSON.stringify(String(raw))}`, {
      setting: name,
      command: ctx.command,
    });
  }
  return n;
}
