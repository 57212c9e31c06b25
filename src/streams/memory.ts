/**
 * The in-memory stream log: one instance's streams, readable again on that instance (the
 * default when no Redis is configured). A finished stream is forgotten `retentionMs` after
 * its end; a stream longer than `maxFrames` stops being logged (its readers then get an
 * incomplete end rather than a gap). Memory: at most `maxFrames` frame strings per stream,
 * the strings the writer already built (no copies).
 * @module
 */
import {
  DEFAULT_MAX_FRAMES,
  DEFAULT_RETENTION_MS,
  type FollowItem,
  type StreamEnd,
  type StreamInfo,
  type StreamLog,
} from './log.js';

export interface MemoryStreamLogOptions {
  /** How long a finished stream stays readable, ms. Default 600000 (10 min). */
  retentionMs?: number;
  /** Most frames logged per stream. Default 10000. */
  maxFrames?: number;
}

interface MemoryStream {
  info: StreamInfo;
  frames: string[];
  end?: StreamEnd;
  /** Logging stopped (too long): readers get an incomplete end after the last logged frame. */
  broken: boolean;
  /** Wakes the followers when a frame arrives. */
  waiters: Set<() => void>;
  stopListeners: Set<() => void>;
  readers: number;
  lastReadAt: number;
}

/**
 * Creates an in-memory stream log.
 *
 * @example
 * ```ts
 * const log = createMemoryStreamLog({ retentionMs: 60_000 });
 * createServer({ backend, streams: { log } });
 * ```
 */
export function createMemoryStreamLog(options: MemoryStreamLogOptions = {}): StreamLog {
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const streams = new Map<string, MemoryStream>();
  const timers = new Set<NodeJS.Timeout>();

  const wake = (s: MemoryStream) => {
    for (const w of s.waiters) w();
    s.waiters.clear();
  };

  return {
    degraded: false,
    open(id, info) {
      streams.set(id, {
        // Not the takeover plan: no other instance reads this log, so nothing could use it.
        info: { keyHash: info.keyHash },
        frames: [],
        broken: false,
        waiters: new Set(),
        stopListeners: new Set(),
        readers: 0,
        lastReadAt: 0,
      });
    },
    append(id, position, frame, end) {
      const s = streams.get(id);
      if (!s || s.end !== undefined || s.broken) return;
      if (position !== s.frames.length + 1 || s.frames.length >= maxFrames) s.broken = true;
      else s.frames.push(frame);
      if (end !== undefined || s.broken) {
        if (end !== undefined) s.end = end;
        s.stopListeners.clear();
        const timer = setTimeout(() => {
          timers.delete(timer);
          streams.delete(id);
        }, retentionMs);
        timer.unref();
        timers.add(timer);
      }
      wake(s);
    },
    async info(id) {
      return streams.get(id)?.info;
    },
    async *follow(id, after, signal): AsyncGenerator<FollowItem> {
      const s = streams.get(id);
      if (!s) return;
      s.readers++;
      try {
        let next = Math.max(0, after);
        for (;;) {
          while (next < s.frames.length) {
            const position = next + 1;
            const frame = s.frames[next]!;
            next++;
            const last = position === s.frames.length && s.end !== undefined;
            yield last ? { position, frame, end: s.end! } : { position, frame };
            if (last) return;
          }
          if (s.end !== undefined || s.broken) {
            if (s.broken) yield { incomplete: true };
            return;
          }
          if (signal.aborted) return;
          await new Promise<void>((resolve) => {
            const done = () => {
              signal.removeEventListener('abort', done);
              s.waiters.delete(done);
              resolve();
            };
            s.waiters.add(done);
            signal.addEventListener('abort', done, { once: true });
          });
          if (signal.aborted) return;
        }
      } finally {
        s.readers--;
        s.lastReadAt = Date.now();
      }
    },
    async claim() {
      // The log lives in its producer's process: no instance outlives a producer to take over.
      return undefined;
    },
    async hasReader(id, withinMs) {
      const s = streams.get(id);
      return s !== undefined && (s.readers > 0 || Date.now() - s.lastReadAt < withinMs);
    },
    async requestStop(id) {
      const s = streams.get(id);
      if (!s) return;
      for (const listener of [...s.stopListeners]) listener();
    },
    onStop(id, listener) {
      const s = streams.get(id);
      if (!s) return () => {};
      s.stopListeners.add(listener);
      return () => s.stopListeners.delete(listener);
    },
    metrics() {
      return `# HELP sluice_stream_logs Streams whose log is held (live or within retention).\n# TYPE sluice_stream_logs gauge\nsluice_stream_logs{store="memory"} ${streams.size}\n`;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const s of streams.values()) {
        s.broken = true;
        wake(s);
      }
      streams.clear();
    },
  };
}
