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

/**
 * What a reader meets while following: a frame, or the news that no more will come:
 * `orphaned` when the producer is gone (its lease lapsed before an end was logged: it may be
 * taken over, `claim`), otherwise a gap (trimmed or lost frames).
 */
export type FollowItem = StreamEntry | { incomplete: true; orphaned?: true };

/**
 * What another instance needs to continue a stream whose producer died (`continue_on_failure`
 * models only): the request as the backend got it. Never a credential: the upstream keys are
 * the instance's own, and the caller's key is kept only as `keyHash`.
 */
export interface TakeoverPlan {
  kind: 'chat' | 'completions';
  dialect: 'azure' | 'openai';
  /** The name the client asked for (deployment or `model`), which routes the continuation. */
  deployment?: string;
  apiVersion?: string;
  /** The request body, as the backend got it. */
  body: Record<string, unknown>;
}

/** What is kept about a stream besides its frames. */
export interface StreamInfo {
  /** SHA-256 (hex) of the credential that created it (of '' when none was sent); never the key. */
  keyHash: string;
  /** Set when the stream may be taken over if its producer dies. */
  takeover?: TakeoverPlan;
}

/** Where a stream's frames live; see the module comment. */
export interface StreamLog {
  /** Opens a stream's log. Never throws; a failure degrades this stream. */
  open(id: string, info: StreamInfo): void;
  /** Appends the frame at `position` (1 + the previous one); `end` on the last. Never throws. */
  append(id: string, position: number, frame: string, end?: StreamEnd): void;
  /**
   * The stream's info; undefined when unknown or expired. A stream's id can reach a client
   * before its info is written (the Redis log batches writes): a store that may lag waits
   * briefly for it before saying unknown.
   */
  info(id: string): Promise<StreamInfo | undefined>;
  /**
   * Claims an orphaned stream (its producer gone, no end logged) for this instance and
   * returns every entry logged so far; undefined when it is not claimed (another instance
   * was first, the end is logged after all, or the log cannot be read). Exactly one caller
   * among all instances gets the entries; it appends from the next position, the claim kept
   * alive as a producer's lease is, until it appends the end.
   */
  claim(id: string): Promise<StreamEntry[] | undefined>;
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
