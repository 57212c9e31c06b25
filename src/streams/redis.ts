/**
 * The Redis stream log: each response's frames in a Redis Stream, readable from every
 * instance that shares the Redis. Keys, for a stream id `ID` (prefix `sluice:stream:`):
 *
 * - `…ID`        the Redis Stream: entry `0-N` holds frame N (`f`), and `e` on the last one;
 *                appended with `XADD … MAXLEN ~ maxFrames`, one EVAL per event-loop turn for
 *                all the streams' frames (APPEND_SCRIPT), read with `XRANGE`/`XREAD BLOCK`;
 * - `…ID:info`   the key hash and, for `continue_on_failure` models, the takeover plan (JSON);
 * - `…ID:lease`  the producer's heartbeat (`PX leaseMs`, refreshed every leaseMs/3): a reader
 *                that finds no lease and no end entry reports the stream orphaned; the one
 *                instance whose `SET …:lease NX` succeeds then takes it over (`claim`);
 * - `…ID:reader` a reader's presence (the producer keeps going while one is there).
 *
 * Live keys expire after `maxLiveMs` unless refreshed; finished ones `retentionMs` after the
 * end. Stops go out on the channel `sluice:stream-stop`, which every instance listens to.
 * Redis down or slow never fails a response: writes are fire-and-forget with no offline
 * queue, a stream whose write failed stops being logged (its lease lapses, so readers get
 * an explicit incomplete end, never a gap), `degraded` shows it, and the client reconnects
 * by itself.
 * @module
 */
import { createClient } from 'redis';
import {
  DEFAULT_MAX_FRAMES,
  DEFAULT_RETENTION_MS,
  type FollowItem,
  type StreamEnd,
  type StreamEntry,
  type StreamInfo,
  type StreamLog,
  type TakeoverPlan,
} from './log.js';

export interface RedisStreamLogOptions {
  /** `redis://host:port` (or `rediss://`, with user and password if needed). */
  url: string;
  /** How long a finished stream stays readable, ms. Default 600000 (10 min). */
  retentionMs?: number;
  /** Frames kept per stream (approximately: `MAXLEN ~`). Default 10000. */
  maxFrames?: number;
  /** The producer's heartbeat lifetime, ms: a crashed producer is noticed within it. Default 3000. */
  leaseMs?: number;
  /** A live stream's keys expire after this long without a heartbeat refresh, ms. Default 3600000. */
  maxLiveMs?: number;
  /** One line when Redis becomes unavailable and one when it is back (never the URL's password). */
  log?: (line: string) => void;
}

const PREFIX = 'sluice:stream:';
const STOP_CHANNEL = 'sluice:stream-stop';
/** A follower blocks this long on XREAD before it checks the producer's lease. */
const POLL_MS = 500;
/** Commands queued or awaiting a reply, at most (a Redis that stops answering cannot grow memory). */
const MAX_QUEUED = 100_000;
/** Entries read per XRANGE/XREAD. */
const PAGE = 256;
/** Frames sent and not yet acknowledged, at most (≈ 450 B each); past it, streams stop logging. */
const MAX_UNACKNOWLEDGED = 50_000;

/**
 * One event-loop turn's appends in one round trip (KEYS: each entry's stream key; ARGV: the
 * MAXLEN, the live and the retention expiry in ms, then per entry its position, frame and
 * end, '' when it is not the last): each XADD on its own (`pcall`: one refused entry fails
 * only its stream, whose 1-based index is returned), the first entry's key given its live
 * expiry, and after an end entry, in the same atomic step, the retention expiry and the
 * lease dropped (a follower never sees the lease gone before the end is there). The
 * `…:info` and `…:lease` names are derived from the stream's key (a standalone Redis).
 */
const APPEND_SCRIPT = `local failed = {}
for i, key in ipairs(KEYS) do
  local b = 4 + (i - 1) * 3
  local id, frame, last = '0-' .. ARGV[b], ARGV[b + 1], ARGV[b + 2]
  local r
  if last == '' then
    r = redis.pcall('XADD', key, 'MAXLEN', '~', ARGV[1], id, 'f', frame)
  else
    r = redis.pcall('XADD', key, 'MAXLEN', '~', ARGV[1], id, 'f', frame, 'e', last)
  end
  if type(r) == 'table' and r.err then
    failed[#failed + 1] = i
  elseif last ~= '' then
    redis.call('PEXPIRE', key, ARGV[3])
    redis.call('PEXPIRE', key .. ':info', ARGV[3])
    redis.call('DEL', key .. ':lease')
  elseif ARGV[b] == '1' then
    redis.call('PEXPIRE', key, ARGV[2])
  end
end
return failed`;

/** Appends waiting for the end of this event-loop turn. */
interface Batch {
  keys: string[];
  /** Per entry: position, frame, end. */
  entries: string[];
  ids: string[];
}

/** A stream this instance produces and still logs. */
interface LiveStream {
  key: string;
  leaseKey: string;
  /** A write failed: stop logging it (one handler per stream, not a closure per frame). */
  failed: () => void;
}

/**
 * Creates a Redis stream log; it connects in the background (and reconnects by itself).
 *
 * @example
 * ```ts
 * const log = createRedisStreamLog({ url: 'redis://127.0.0.1:6379' });
 * createServer({ backend, streams: { log } });
 * ```
 */
export function createRedisStreamLog(options: RedisStreamLogOptions): StreamLog {
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const leaseMs = options.leaseMs ?? 3000;
  const maxLiveMs = options.maxLiveMs ?? 3_600_000;
  const log = options.log ?? (() => {});
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    // No per-command timer: node-redis's default arms an AbortSignal.timeout (a 5 s timer)
    // for every command, which per logged frame cost more CPU and garbage than the XADD
    // itself. What it guarded (commands piling up while Redis does not answer) is bounded
    // instead: frames by MAX_UNACKNOWLEDGED (past it, streams stop logging), other
    // commands by the queue's length (past it, they fail).
    commandOptions: { timeout: 0 },
    commandsQueueMaxLength: MAX_QUEUED,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2000) },
  });
  let down = false;
  let failures = 0;
  let takeovers = 0;
  const markDown = () => {
    if (!down) log('sluice: Redis is unavailable; streams keep flowing but cannot be resumed until it is back.');
    down = true;
  };
  client.on('error', markDown);
  client.on('ready', () => {
    if (down) log('sluice: Redis is back; new streams can be resumed again.');
    down = false;
  });
  client.connect().catch(markDown);
  const subscriber = client.duplicate();
  subscriber.on('error', () => {});
  const stopListeners = new Map<string, Set<() => void>>();
  const runStop = (id: string) => {
    for (const listener of [...(stopListeners.get(id) ?? [])]) listener();
  };
  let subscribed = false;
  subscriber
    .connect()
    .then(() => subscriber.subscribe(STOP_CHANNEL, runStop))
    .then(() => {
      subscribed = true;
    })
    .catch(() => {});

  /** Streams this instance produces and still logs (their leases are refreshed). */
  const live = new Map<string, LiveStream>();
  const ready = () => client.isReady;
  const send = (args: string[]) => client.sendCommand(args);
  const ignore = () => {};
  /** For reads: a just-started instance (or one reconnecting) waits up to a second for Redis. */
  const settled = (): Promise<void> =>
    ready()
      ? Promise.resolve()
      : new Promise((resolve) => {
          const done = () => {
            clearTimeout(timer);
            client.off('ready', done);
            resolve();
          };
          const timer = setTimeout(done, 1000);
          client.on('ready', done);
        });
  const broken = (id: string) => {
    if (live.delete(id)) failures++;
  };
  const produce = (id: string): LiveStream => {
    const key = `${PREFIX}${id}`;
    const stream = { key, leaseKey: `${key}:lease`, failed: () => broken(id) };
    live.set(id, stream);
    return stream;
  };
  const leaseText = String(leaseMs);
  const retentionText = String(retentionMs);
  const maxLiveText = String(maxLiveMs);
  const maxFramesText = String(maxFrames);
  // Appends are gathered per event-loop turn and sent as one EVAL (APPEND_SCRIPT): per
  // frame that is an array push, not a command with its own promise, encoding and reply.
  let batch: Batch | undefined;
  let unacknowledged = 0;
  const flush = () => {
    const sent = batch;
    batch = undefined;
    if (sent === undefined) return;
    const n = sent.ids.length;
    const args = ['EVAL', APPEND_SCRIPT, String(n), ...sent.keys, maxFramesText, maxLiveText, retentionText];
    for (const entry of sent.entries) args.push(entry);
    send(args).then(
      (failed) => {
        unacknowledged -= n;
        if (Array.isArray(failed)) for (const i of failed) broken(sent.ids[Number(i) - 1] ?? '');
      },
      () => {
        unacknowledged -= n;
        for (const id of sent.ids) broken(id);
      },
    );
  };
  const beatMs = Math.max(50, Math.floor(leaseMs / 3));
  // The keys' own expiry (maxLiveMs) needs renewing far less often than the lease: every
  // maxLiveMs / 4.
  const renewEvery = Math.max(1, Math.floor(maxLiveMs / 4 / beatMs));
  let beats = 0;
  const heartbeat = setInterval(() => {
    if (!ready()) return;
    const renew = ++beats % renewEvery === 0;
    for (const stream of live.values()) {
      send(['SET', stream.leaseKey, '1', 'PX', leaseText]).then(undefined, stream.failed);
      if (renew) {
        send(['PEXPIRE', stream.key, maxLiveText]).then(undefined, ignore);
        send(['PEXPIRE', `${stream.key}:info`, maxLiveText]).then(undefined, ignore);
      }
    }
  }, beatMs);
  heartbeat.unref();

  return {
    get degraded() {
      return !ready() || !subscribed || !subscriber.isReady;
    },
    open(id, info) {
      if (!ready()) return void failures++;
      const { key, leaseKey, failed } = produce(id);
      send(['SET', `${key}:info`, JSON.stringify(info), 'PX', maxLiveText]).then(undefined, failed);
      send(['SET', leaseKey, '1', 'PX', leaseText]).then(undefined, failed);
    },
    append(id, position, frame, end) {
      const stream = live.get(id);
      if (stream === undefined) return;
      if (!ready() || unacknowledged >= MAX_UNACKNOWLEDGED) return broken(id);
      if (batch === undefined) {
        batch = { keys: [], entries: [], ids: [] };
        setImmediate(flush);
      }
      batch.keys.push(stream.key);
      batch.entries.push(String(position), frame, end ?? '');
      batch.ids.push(id);
      unacknowledged++;
      if (end !== undefined) live.delete(id);
    },
    async info(id) {
      await settled();
      return infoOf(await send(['GET', `${PREFIX}${id}:info`]));
    },
    async claim(id) {
      await settled();
      if (!ready() || live.has(id)) return undefined;
      const key = `${PREFIX}${id}`;
      const won = await send(['SET', `${key}:lease`, '1', 'NX', 'PX', leaseText]).catch(() => null);
      if (String(won) !== 'OK') return undefined;
      const stream = produce(id);
      try {
        const entries = entryList(await send(['XRANGE', key, '-', '+']));
        if (entries.length > 0 && entries.at(-1)?.end === undefined) {
          takeovers++;
          return entries;
        }
      } catch {
        // unreadable: not taken over (its readers get an incomplete end)
      }
      live.delete(id);
      send(['DEL', stream.leaseKey]).then(undefined, ignore);
      return undefined;
    },
    async *follow(id, after, signal): AsyncGenerator<FollowItem> {
      const key = `${PREFIX}${id}`;
      const present = ['SET', `${key}:reader`, '1', 'PX', String(POLL_MS * 3)];
      // The catch-up is read on the shared connection (its first page goes out with whatever
      // else this tick sends: the route's access check); a connection of its own, for the
      // blocking reads of the live part, is opened only when the reader has caught up.
      let reader: ReturnType<typeof client.duplicate> | undefined;
      const cut = () => reader?.destroy();
      signal.addEventListener('abort', cut, { once: true });
      try {
        let last = after;
        send(present).then(undefined, ignore);
        let entries = entryList(await send(['XRANGE', key, `0-${last + 1}`, '+', 'COUNT', String(PAGE)]));
        let caughtUp = entries.length < PAGE;
        for (;;) {
          for (const entry of entries) {
            if (entry.position !== last + 1) {
              // Trimmed or lost frames: say so rather than hand out a gap.
              yield { incomplete: true };
              return;
            }
            last = entry.position;
            yield entry;
            if (entry.end !== undefined) return;
          }
          if (signal.aborted) return;
          if (!caughtUp) {
            entries = entryList(await send(['XRANGE', key, `0-${last + 1}`, '+', 'COUNT', String(PAGE)]));
            caughtUp = entries.length < PAGE;
            continue;
          }
          if (reader === undefined) {
            reader = client.duplicate();
            reader.on('error', ignore);
            await reader.connect();
            if (signal.aborted) return;
          }
          send(present).then(undefined, ignore);
          const reply = await reader.sendCommand([
            'XREAD',
            'COUNT',
            String(PAGE),
            'BLOCK',
            String(POLL_MS),
            'STREAMS',
            key,
            `0-${last}`,
          ]);
          entries = entriesOf(reply);
          if (entries.length === 0) {
            // Nothing new: is the producer still there? (Checked, then read again, so an end
            // logged just before the lease was dropped is not missed.)
            if (Number(await send(['EXISTS', `${key}:lease`])) === 1) continue;
            entries = entryList(await send(['XRANGE', key, `0-${last + 1}`, '+', 'COUNT', String(PAGE)]));
            if (entries.length === 0) {
              yield { incomplete: true, orphaned: true };
              return;
            }
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      } finally {
        signal.removeEventListener('abort', cut);
        if (reader?.isOpen) reader.destroy();
      }
    },
    async hasReader(id) {
      if (!ready()) return false;
      return Number(await send(['EXISTS', `${PREFIX}${id}:reader`])) === 1;
    },
    async requestStop(id) {
      // Ours: stop at once, even with Redis down; others hear it on the channel.
      runStop(id);
      await settled();
      if (ready()) await send(['PUBLISH', STOP_CHANNEL, id]);
    },
    onStop(id, listener) {
      const set = stopListeners.get(id) ?? new Set<() => void>();
      stopListeners.set(id, set);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) stopListeners.delete(id);
      };
    },
    metrics() {
      return (
        '# HELP sluice_stream_log_degraded 1 while the stream log (Redis) cannot be written.\n' +
        '# TYPE sluice_stream_log_degraded gauge\n' +
        `sluice_stream_log_degraded{store="redis"} ${ready() ? 0 : 1}\n` +
        '# HELP sluice_stream_log_failures_total Streams that could not be (fully) logged.\n' +
        '# TYPE sluice_stream_log_failures_total counter\n' +
        `sluice_stream_log_failures_total{store="redis"} ${failures}\n` +
        '# HELP sluice_stream_takeovers_total Streams this instance took over after their producer died.\n' +
        '# TYPE sluice_stream_takeovers_total counter\n' +
        `sluice_stream_takeovers_total{store="redis"} ${takeovers}\n` +
        '# HELP sluice_stream_logs Streams whose log this instance is writing.\n' +
        '# TYPE sluice_stream_logs gauge\n' +
        `sluice_stream_logs{store="redis"} ${live.size}\n`
      );
    },
    async close() {
      clearInterval(heartbeat);
      flush();
      live.clear();
      await Promise.allSettled([client.close(), subscriber.close()]);
    },
  };
}

// --- internal ---

const ENDS = new Set<string>(['done', 'error', 'stopped', 'abandoned']);

/**
 * XREAD's reply as entries: per stream an XRANGE reply (`entryList`), the streams as RESP2's
 * `[[key, entries], …]` or RESP3's map `{ key: entries }`; null when nothing came.
 */
function entriesOf(reply: unknown): StreamEntry[] {
  if (reply === null || typeof reply !== 'object') return [];
  const lists = Array.isArray(reply)
    ? reply.map((stream: unknown) => (Array.isArray(stream) ? stream[1] : undefined))
    : reply instanceof Map
      ? [...reply.values()]
      : Object.values(reply);
  return lists.flatMap(entryList);
}

/** XRANGE's reply as entries: `[[id, [field, value, …]], …]`; what is not an entry is skipped. */
function entryList(list: unknown): StreamEntry[] {
  const out: StreamEntry[] = [];
  if (Array.isArray(list)) {
    for (const item of list) {
      if (!Array.isArray(item)) continue;
      const [rawId, fields] = item as [unknown, unknown];
      const position = typeof rawId === 'string' && rawId.startsWith('0-') ? Number(rawId.slice(2)) : Number.NaN;
      if (!Number.isSafeInteger(position) || !Array.isArray(fields)) continue;
      const entry: StreamEntry = { position, frame: '' };
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const name = String(fields[i]);
        const value = String(fields[i + 1]);
        if (name === 'f') entry.frame = value;
        else if (name === 'e' && ENDS.has(value)) entry.end = value as StreamEnd;
      }
      out.push(entry);
    }
  }
  return out;
}

/** The `…:info` value (JSON written by `open`), checked; undefined when missing or not ours. */
function infoOf(text: unknown): StreamInfo | undefined {
  if (typeof text !== 'string') return undefined;
  const parsed = JSON.parse(text) as { keyHash?: unknown; takeover?: unknown } | null;
  if (typeof parsed?.keyHash !== 'string') return undefined;
  const info: StreamInfo = { keyHash: parsed.keyHash };
  const plan = parsed.takeover as Partial<TakeoverPlan> | undefined;
  if (
    plan &&
    (plan.kind === 'chat' || plan.kind === 'completions') &&
    (plan.dialect === 'azure' || plan.dialect === 'openai') &&
    typeof plan.body === 'object' &&
    plan.body !== null
  ) {
    info.takeover = plan as TakeoverPlan;
  }
  return info;
}
