/**
 * The Redis stream log: each response's frames in a Redis Stream, readable from every
 * instance that shares the Redis. Keys, for a stream id `ID` (prefix `sluice:stream:`):
 *
 * - `…ID`        the Redis Stream: entry `0-N` holds frame N (`f`), and `e` on the last one;
 *                appended with `XADD … MAXLEN ~ maxFrames`, read with `XRANGE`/`XREAD BLOCK`;
 * - `…ID:info`   the key hash and, for `continue_on_failure` models, the takeover plan (JSON);
 * - `…ID:lease`  the producer's heartbeat (`PX leaseMs`, refreshed every leaseMs/3): a reader
 *                that finds no lease and no end entry reports the stream orphaned; the one
 *                instance whose `SET …:lease NX` succeeds then takes it over (`claim`);
 * - `…ID:reader` a reader's presence (the producer keeps going while one is there).
 *
 * Every write of a producer (a stream's info and lease, its frames, the lease heartbeats) goes
 * out in one script call for all streams (WRITE_SCRIPT) every `flushMs`, one round trip at a
 * time; a read on the same instance sends the writes before it (read-your-writes), and a
 * reader elsewhere who meets a stream id before its info has landed waits briefly for it
 * (`info`). Live keys expire after `maxLiveMs` unless refreshed; finished ones `retentionMs`
 * after the end. Stops go out on the channel `sluice:stream-stop`, which every instance listens to.
 * Redis down or slow never fails a response: writes are fire-and-forget with no offline
 * queue, a stream whose write failed stops being logged (its lease lapses, so readers get
 * an explicit incomplete end, never a gap), `degraded` shows it, and the client reconnects
 * by itself.
 * @module
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'redis';
import { closeRedisClients, redisClientOptions } from '../util/redis-client.js';
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
  /**
   * Writes gather this long before they go out as one script call, ms. Default 10. Longer:
   * fewer calls (less CPU in Sluice and in Redis); the log lags the live stream by this much.
   */
  flushMs?: number;
  /** One line when Redis becomes unavailable and one when it is back (never the URL's password). */
  log?: (line: string) => void;
}

const PREFIX = 'sluice:stream:';
const STOP_CHANNEL = 'sluice:stream-stop';
/** A follower blocks this long on XREAD before it checks the producer's lease. */
const POLL_MS = 500;
/** Commands queued or awaiting a reply, at most (a Redis that stops answering cannot grow memory). */
const MAX_QUEUED = 100_000;
/**
 * A batch of log writes goes this long after its first write, ms (or after the reply in
 * flight). Each call costs a write, a reply and a wake-up of Redis whatever its size: at
 * 2 ms, 64 streams starting at once made ~30 calls before their first tokens.
 */
const FLUSH_MS = 10;
/**
 * How long `info` waits for the info of a stream it does not find, ms between looks: a
 * stream's id can reach a client (and its reconnect another instance) before the batch that
 * opens it has landed (`flushMs` plus the call in flight). ~0.6 s in all: only an unknown or
 * expired id waits it out.
 */
const INFO_RETRY_MS = [10, 20, 40, 80, 160, 320];
/** Entries read per XRANGE/XREAD. */
const PAGE = 256;
/** Frames sent and not yet acknowledged, at most (≈ 450 B each); past it, streams stop logging. */
const MAX_UNACKNOWLEDGED = 50_000;

/**
 * Every write of one event-loop turn in one round trip (`EVALSHA`; `EVAL` when Redis lost the
 * script). KEYS: each write's stream key; ARGV: the MAXLEN, the live, retention and lease
 * expiries in ms, then three per write: an append's position, frame and end ('' unless it is
 * the last); or `open`, the info JSON and ''; or `beat` (or `renew`, which also renews the
 * keys' live expiry), '' and ''. Each write on its own (`pcall`: a refused one fails only its
 * stream, whose 1-based index is returned): an open sets `…:info` and the lease; an append is
 * one XADD, the first entry's key given its live expiry, and after an end entry, in the same
 * atomic step, the retention expiry and the lease dropped (a follower never sees the lease
 * gone before the end is there). The `…:info` and `…:lease` names are derived from the
 * stream's key (a standalone Redis).
 */
const WRITE_SCRIPT = `local maxlen, live, kept, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local failed = {}
local function refused(r) return type(r) == 'table' and r.err ~= nil end
for i, key in ipairs(KEYS) do
  local b = 2 + i * 3
  local op, value, last = ARGV[b], ARGV[b + 1], ARGV[b + 2]
  local r
  if op == 'open' then
    r = redis.pcall('SET', key .. ':info', value, 'PX', live)
    if not refused(r) then r = redis.pcall('SET', key .. ':lease', '1', 'PX', lease) end
  elseif op == 'beat' or op == 'renew' then
    r = redis.pcall('SET', key .. ':lease', '1', 'PX', lease)
    if op == 'renew' then
      redis.pcall('PEXPIRE', key, live)
      redis.pcall('PEXPIRE', key .. ':info', live)
    end
  elseif last == '' then
    r = redis.pcall('XADD', key, 'MAXLEN', '~', maxlen, '0-' .. op, 'f', value)
    if op == '1' and not refused(r) then redis.call('PEXPIRE', key, live) end
  else
    r = redis.pcall('XADD', key, 'MAXLEN', '~', maxlen, '0-' .. op, 'f', value, 'e', last)
    if not refused(r) then
      redis.call('PEXPIRE', key, kept)
      redis.call('PEXPIRE', key .. ':info', kept)
      redis.call('DEL', key .. ':lease')
    end
  end
  if refused(r) then failed[#failed + 1] = i end
end
return failed`;
const WRITE_SCRIPT_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

/** Writes waiting for the end of this event-loop turn (or for the batch in flight). */
interface Batch {
  /** KEYS: per write, its stream's key. */
  keys: string[];
  /** ARGV after the fixed ones: three per write (see WRITE_SCRIPT). */
  values: string[];
  /** Per write, its stream's id (a refused write stops logging that stream). */
  ids: string[];
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
  const flushMs = options.flushMs ?? FLUSH_MS;
  const log = options.log ?? (() => {});
  const client = createClient({
    ...redisClientOptions(options.url),
    // No per-command timer: node-redis's default arms an AbortSignal.timeout (a 5 s timer)
    // for every command, which per logged frame cost more CPU and garbage than the XADD
    // itself. What it guarded (commands piling up while Redis does not answer) is bounded
    // instead: frames by MAX_UNACKNOWLEDGED (past it, streams stop logging), other
    // commands by the queue's length (past it, they fail).
    commandOptions: { timeout: 0 },
    commandsQueueMaxLength: MAX_QUEUED,
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
    // Loaded before any write of this connection (a restarted Redis has no scripts): were it
    // loaded by the NOSCRIPT fallback below, a read sent meanwhile would overtake those writes.
    client.sendCommand(['SCRIPT', 'LOAD', WRITE_SCRIPT]).then(undefined, () => {});
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

  /** Streams this instance produces and still logs (their leases are refreshed): id -> key. */
  const live = new Map<string, string>();
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
  const fixedArgs = [String(maxFrames), String(maxLiveMs), String(retentionMs), String(leaseMs)];
  const leaseText = String(leaseMs);
  // Every write (open, frame, lease) is gathered and sent as one EVALSHA (WRITE_SCRIPT): per
  // frame that is three array pushes, not a command with its own promise, encoding, socket
  // write and reply. A batch goes flushMs after its first write, and while one awaits its
  // reply the next waits for it (one round trip at a time): fewer, larger writes, each with
  // its syscalls and Redis's per-script cost, whatever the load. A stream's open rides in the
  // batch like a frame (not a call of its own at the start burst, when every call competes
  // with the first tokens for the CPU): a read on this instance sends the batch first
  // (`read`), and `info` elsewhere waits for a just-started stream's info.
  let batch: Batch | undefined;
  /** A flush runs at the end of this turn. */
  let soon = false;
  /**
   * A flush runs flushMs after the batch's first write: at the end of that event-loop turn
   * (flushSoon), after the network callbacks that were due with it, so that the frames they
   * relay reach their clients before the batch is encoded, and go out in it.
   */
  let timer: NodeJS.Timeout | undefined;
  let inFlight = 0;
  /** Writes queued or sent and not yet acknowledged. */
  let unacknowledged = 0;
  const full = () => unacknowledged >= MAX_UNACKNOWLEDGED;
  const queue = (id: string, key: string, op: string, value: string, last: string): void => {
    batch ??= { keys: [], values: [], ids: [] };
    batch.keys.push(key);
    batch.values.push(op, value, last);
    batch.ids.push(id);
    unacknowledged++;
    if (timer === undefined && !soon) timer = setTimeout(flushSoon, flushMs);
  };
  const flushSoon = () => {
    if (soon) return;
    soon = true;
    setImmediate(flush);
  };
  const flush = () => {
    soon = false;
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    // Otherwise the batch is held: the reply in flight sends it.
    if (batch !== undefined && inFlight === 0) sendBatch();
  };
  const acknowledged = (n: number) => {
    unacknowledged -= n;
    if (--inFlight === 0 && batch !== undefined && timer === undefined) flushSoon();
  };
  const sendBatch = () => {
    const sent = batch;
    batch = undefined;
    if (sent === undefined) return;
    const { keys, values, ids } = sent;
    const n = ids.length;
    const args = ['EVALSHA', WRITE_SCRIPT_SHA, String(n)];
    for (const key of keys) args.push(key);
    for (const arg of fixedArgs) args.push(arg);
    for (const value of values) args.push(value);
    inFlight++;
    send(args)
      // The scripts were flushed (SCRIPT FLUSH) since this connection loaded it: nothing ran,
      // so the script itself goes.
      .catch((error: unknown) =>
        error instanceof Error && error.message.startsWith('NOSCRIPT')
          ? send(['EVAL', WRITE_SCRIPT, ...args.slice(2)])
          : Promise.reject(error),
      )
      .then(
        (failed) => {
          acknowledged(n);
          if (Array.isArray(failed)) for (const i of failed) broken(ids[Number(i) - 1] ?? '');
        },
        () => {
          acknowledged(n);
          for (const id of ids) broken(id);
        },
      );
  };
  /** A read on the shared connection, after this instance's pending writes: it sees them. */
  const read = (args: string[]) => {
    if (batch !== undefined) {
      clearTimeout(timer);
      timer = undefined;
      sendBatch();
    }
    return send(args);
  };
  const beatMs = Math.max(50, Math.floor(leaseMs / 3));
  // The keys' own expiry (maxLiveMs) needs renewing far less often than the lease: every
  // maxLiveMs / 4.
  const renewEvery = Math.max(1, Math.floor(maxLiveMs / 4 / beatMs));
  let beats = 0;
  const heartbeat = setInterval(() => {
    if (!ready()) return;
    const op = ++beats % renewEvery === 0 ? 'renew' : 'beat';
    for (const [id, key] of live) queue(id, key, op, '', '');
  }, beatMs);
  heartbeat.unref();

  return {
    get degraded() {
      return !ready() || !subscribed || !subscriber.isReady;
    },
    open(id, info) {
      if (!ready() || full()) return void failures++;
      const key = `${PREFIX}${id}`;
      live.set(id, key);
      queue(id, key, 'open', JSON.stringify(info), '');
    },
    append(id, position, frame, end) {
      const key = live.get(id);
      if (key === undefined) return;
      if (!ready() || full()) return broken(id);
      queue(id, key, String(position), frame, end ?? '');
      if (end !== undefined) live.delete(id);
    },
    async info(id) {
      await settled();
      const key = `${PREFIX}${id}:info`;
      let found = infoOf(await read(['GET', key]));
      // Not there yet, perhaps: a stream started on another instance a moment ago.
      for (const ms of INFO_RETRY_MS) {
        if (found !== undefined || live.has(id)) break;
        await delay(ms);
        found = infoOf(await read(['GET', key]));
      }
      return found;
    },
    async claim(id) {
      await settled();
      if (!ready() || live.has(id)) return undefined;
      const key = `${PREFIX}${id}`;
      const won = await read(['SET', `${key}:lease`, '1', 'NX', 'PX', leaseText]).catch(() => null);
      if (String(won) !== 'OK') return undefined;
      live.set(id, key);
      try {
        const entries = entryList(await read(['XRANGE', key, '-', '+']));
        if (entries.length > 0 && entries.at(-1)?.end === undefined) {
          takeovers++;
          return entries;
        }
      } catch {
        // unreadable: not taken over (its readers get an incomplete end)
      }
      live.delete(id);
      send(['DEL', `${key}:lease`]).then(undefined, ignore);
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
        let entries = entryList(await read(['XRANGE', key, `0-${last + 1}`, '+', 'COUNT', String(PAGE)]));
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
            entries = entryList(await read(['XRANGE', key, `0-${last + 1}`, '+', 'COUNT', String(PAGE)]));
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
            if (Number(await read(['EXISTS', `${key}:lease`])) === 1) continue;
            entries = entryList(await read(['XRANGE', key, `0-${last + 1}`, '+', 'COUNT', String(PAGE)]));
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
      return Number(await read(['EXISTS', `${PREFIX}${id}:reader`])) === 1;
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
      if (timer !== undefined) clearTimeout(timer);
      sendBatch();
      live.clear();
      await closeRedisClients([client, subscriber]);
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
