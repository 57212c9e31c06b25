/**
 * The log of a resumable stream: every SSE frame a streamed response wrote, at its position
 * (1, 2, …; the SSE `id:`), so that a reader who lost the connection can ask any instance
 * for the frames after the last one it saw and then follow the stream live to its end.
 * One interface, two homes: memory (one instance, the default; `memory.ts`) and Redis
 * (many instances; `redis.ts`). Writes never fail a response: a log that cannot be written
 * stops logging that stream (so a reader never sees a gap) and readers then get an explicit
 * incomplete end.
 * @module
 */

/** How a logged stream ended. */
export type StreamEnd =
  /** `[DONE]`: the answer is whole. */
  | 'done'
  /** An error frame (upstream failure, time-out, shutdown). */
  | 'error'
  /** `POST /sluice/v1/streams/{id}/stop`: someone asked for it to stop. */
  | 'stopped'
  /** The client left and no reader came back within the keep-going window. */
  | 'abandoned';

/** One logged frame. */
export interface StreamEntry {
  /** 1, 2, …: the SSE `id:` of this frame. */
  position: number;
  /** The frame as written, without its `id:` line (`data: …\n\n`). */
  frame: string;
  /** Set on the last frame. */
  end?: StreamEnd;
}

/** What a reader meets while following: a frame, or the news that the producer is gone. */
export type FollowItem = StreamEntry | { incomplete: true };

/** What is kept about a stream besides its frames. */
export interface StreamInfo {
  /** SHA-256 (hex) of the credential that created it (of '' when none was sent); never the key. */
  keyHash: string;
}

/** Where a stream's frames live; see the module comment. */
export interface StreamLog {
  /** Opens a stream's log. Never throws; a failure degrades this stream. */
  open(id: string, info: StreamInfo): void;
  /** Appends the frame at `position` (1 + the previous one); `end` on the last. Never throws. */
  append(id: string, position: number, frame: string, end?: StreamEnd): void;
  /** The stream's info; undefined when unknown or expired. */
  info(id: string): Promise<StreamInfo | undefined>;
  /**
   * The entries after `after`, then the live ones as they come, until the end entry, the
   * producer's loss (`{ incomplete: true }`) or `signal`. While it runs, the producer sees
   * a reader (`hasReader`).
   */
  follow(id: string, after: number, signal: AbortSignal): AsyncIterable<FollowItem>;
  /** True when a reader followed the stream within the last `withinMs`. */
  hasReader(id: string, withinMs: number): Promise<boolean>;
  /** Asks whichever instance produces `id` to stop it. */
  requestStop(id: string): Promise<void>;
  /** Called by the producer: `listener` runs when a stop for `id` is asked. Returns the unsubscribe. */
  onStop(id: string, listener: () => void): () => void;
  /** True while the log cannot be written or stops cannot be heard (Redis down): streams flow, resuming degrades. */
  readonly degraded: boolean;
  /** `/metrics` lines (Prometheus text) about the log. */
  metrics(): string;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** Default time a finished stream's log stays readable: 10 minutes. */
export const DEFAULT_RETENTION_MS = 10 * 60_000;
/** Default most frames kept per stream (the Redis log trims near it: `MAXLEN ~`). */
export const DEFAULT_MAX_FRAMES = 10_000;
