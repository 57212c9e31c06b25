/**
 * The server's seam for per-key access: who is calling (a key's name), whether a request
 * may run now (model allowed, limits), and what it cost once it ended. The server knows no
 * limits, stores or tokenizers: a gateway gives it an `AccessControl` (src/gateway/gate.ts)
 * and the server calls it at the three moments it knows of — a request arrives, a
 * generation starts, each chunk is relayed and the generation ends.
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AnyChunk, AnyResponse, ApiKind } from '../types.js';
import type { GenerationReport } from './observer.js';

/** The caller of a request: the name of its key, never the key. */
export interface Caller {
  readonly name: string;
  /** May read the usage ledger. */
  readonly admin: boolean;
}

/** A generation asking to run. */
export interface AccessAsk {
  kind: ApiKind;
  /** The deployment or model name asked for. */
  model: string | undefined;
  /** The validated request body. */
  body: Record<string, unknown>;
  apiVersion: string | undefined;
  stream: boolean;
}

/** A refusal: 429 (over a limit, with when it would fit) or 403 (budget spent, model not allowed). */
export interface AccessRefusal {
  status: 403 | 429;
  /** Azure's code (OpenAI's is derived): e.g. `429`, `BudgetExceeded`, `ModelNotAllowed`. */
  code: string;
  /** What was exceeded or refused, in a sentence that says what to do next. */
  message: string;
  retryAfterMs?: number;
}

export type AccessDecision =
  | {
      ok: true;
      lease: GenerationLease;
      /**
       * The body to send the backend (usage asked for where the api-version allows it). Beside
       * the lease, not in it: the lease lives as long as the generation, the body need not.
       */
      body: Record<string, unknown>;
    }
  | { ok: false; refusal: AccessRefusal };

/** An admitted generation's account. Every method must be cheap and must not throw. */
export interface GenerationLease {
  /** Sees each streamed chunk before it is relayed; false: do not relay it (usage the client did not ask for). */
  chunk(chunk: AnyChunk): boolean;
  /** Sees a non-streamed answer. */
  response(response: AnyResponse): void;
  /** The generation ended, however it ended: settle and book it. */
  end(report: Readonly<GenerationReport>): void;
}

/** Per-key access: keys, limits, the usage ledger. */
export interface AccessControl {
  /** The caller a request's key names; undefined: no known key (401). */
  identify(headers: IncomingHttpHeaders): Caller | undefined;
  admit(caller: Caller, ask: AccessAsk): Promise<AccessDecision>;
  /** `GET /sluice/v1/usage` for an admin caller: the JSON answer. */
  usage(query: URLSearchParams): Promise<unknown>;
  /** Prometheus text appended to `/metrics` (series by key name). */
  metrics?(): string;
}
