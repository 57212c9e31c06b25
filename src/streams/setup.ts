/**
 * Picks the stream log `sluice serve` uses from its configuration: Redis when a URL is
 * given (`redis:` in the gateway file or `SLUICE_REDIS_URL`), memory otherwise, none when
 * resumability is off. Resumability defaults to on with Redis (several instances: the
 * reconnect may land elsewhere) and off without it (one instance: a hang-up stops the
 * generation at once, so a client that really left costs nothing more).
 * @module
 */
import { createMemoryStreamLog } from './memory.js';
import { DEFAULT_KEEP_GOING_MS, type ResumableStreams } from './producer.js';
import { createRedisStreamLog } from './redis.js';

/** Resumable streams (docs/gateway.md "Scale-out and resumable streams"). */
export interface StreamsConfig {
  /** Default: on when `redis` is set, off otherwise. */
  resumable?: boolean;
  /** After a hang-up, generation goes on until this long passes with no reader, ms. */
  keepGoingMs?: number;
  /** How long a finished stream stays readable, ms. */
  retentionMs?: number;
}

/**
 * The resumable-streams setting for a server, or undefined when off.
 *
 * @example
 * ```ts
 * const streams = openStreams({ redis: 'redis://127.0.0.1:6379', streams: {} }, console.error);
 * createServer({ backend, ...(streams ? { streams } : {}) });
 * ```
 */
export function openStreams(
  config: { redis?: string | undefined; streams: StreamsConfig },
  log: (line: string) => void,
): ResumableStreams | undefined {
  const { redis, streams } = config;
  if (!(streams.resumable ?? redis !== undefined)) return undefined;
  const retention = streams.retentionMs !== undefined ? { retentionMs: streams.retentionMs } : {};
  return {
    log:
      redis !== undefined ? createRedisStreamLog({ url: redis, ...retention, log }) : createMemoryStreamLog(retention),
    keepGoingMs: streams.keepGoingMs ?? DEFAULT_KEEP_GOING_MS,
  };
}
