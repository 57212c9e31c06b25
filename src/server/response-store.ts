/**
 * Responses kept by the server (`store: true`, the default) on backends it answers itself:
 * for `GET /v1/responses/{id}` and for `previous_response_id`, which continues a
 * conversation from a kept response's input and output. In memory, bounded by count, age and
 * size: a kept response is a convenience, not a database.
 * @module
 */
import type { ResponseInputItem, ResponseObject } from '../protocol/responses/types.js';

export interface StoredResponse {
  /** The response as it stands: a snapshot while in flight, the final one after. */
  response(): ResponseObject;
  /** The conversation that led to it: the previous responses' items, then this request's input. */
  readonly input: readonly ResponseInputItem[];
  /** Hash of the credential that made it (streams/producer.ts `keyHashOf`): only its holder reads it. */
  readonly keyHash: string;
}

export interface ResponseStoreOptions {
  /** Responses kept at most; the oldest goes first. Default 256. */
  maxResponses?: number;
  /** How long a response is kept after it was created, ms. Default 3 600 000 (1 hour). */
  ttlMs?: number;
  /** Total size kept (JSON text of input and output), bytes; the oldest go first. Default 64 MiB. */
  maxBytes?: number;
  /** Clock, ms (tests). Default Date.now. */
  now?: () => number;
}

export const DEFAULT_RESPONSE_STORE_LIMITS = Object.freeze({
  maxResponses: 256,
  ttlMs: 3_600_000,
  maxBytes: 64 * 1024 * 1024,
});

interface Entry {
  stored: StoredResponse;
  at: number;
  bytes: number;
}

/** The store: put a response when it starts, `settle` it when it ends (its size is then known). */
export interface ResponseStore {
  put(id: string, stored: StoredResponse): void;
  /** The response ended: keep its final snapshot (and count its size). */
  settle(id: string): void;
  get(id: string): StoredResponse | undefined;
}

/**
 * Creates the in-memory store.
 *
 * @example
 * const store = createResponseStore();
 * store.put(id, { response: () => translator.response(), input, keyHash });
 * store.get(id)?.response().status; // 'in_progress', later 'completed'
 */
export function createResponseStore(options: ResponseStoreOptions = {}): ResponseStore {
  const maxResponses = options.maxResponses ?? DEFAULT_RESPONSE_STORE_LIMITS.maxResponses;
  const ttlMs = options.ttlMs ?? DEFAULT_RESPONSE_STORE_LIMITS.ttlMs;
  const maxBytes = options.maxBytes ?? DEFAULT_RESPONSE_STORE_LIMITS.maxBytes;
  const now = options.now ?? Date.now;
  // Insertion order = age.
  const entries = new Map<string, Entry>();
  let bytes = 0;

  const remove = (id: string, entry: Entry) => {
    entries.delete(id);
    bytes -= entry.bytes;
  };
  const trim = () => {
    const t = now();
    for (const [id, entry] of entries) {
      if (t - entry.at > ttlMs || entries.size > maxResponses || bytes > maxBytes) remove(id, entry);
      else break;
    }
  };

  return {
    put(id, stored) {
      const old = entries.get(id);
      if (old) remove(id, old);
      entries.set(id, { stored, at: now(), bytes: 0 });
      trim();
    },
    settle(id) {
      const entry = entries.get(id);
      if (!entry) return;
      const final = entry.stored.response();
      entry.stored = { ...entry.stored, response: () => structuredClone(final) };
      entry.bytes = JSON.stringify(entry.stored.input).length + JSON.stringify(final.output).length;
      bytes += entry.bytes;
      trim();
    },
    get(id) {
      trim();
      return entries.get(id)?.stored;
    },
  };
}
