/**
 * What the gateway's router reports: one record per upstream attempt, breaker changes and
 * one summary per request. Observability (traces, metrics, logs, `server-timing`) consumes
 * this sink; nothing else couples the router to it. Every callback is optional and called
 * synchronously, so a sink must be cheap and must not throw (the router ignores what it throws).
 * @module
 */

/** One upstream attempt of one request, reported when its outcome is known. */
export interface AttemptRecord {
  /** The name the client asked for. */
  model: string;
  /** `RouteTarget.id`. */
  targetId: string;
  /** 1, 2, … */
  attempt: number;
  /** `performance.now()` ms. */
  startedAt: number;
  /** Upstream time to headers (or to the first chunk for non-HTTP targets). */
  headersMs?: number;
  /** Upstream time to the first content chunk. */
  firstTokenMs?: number;
  outcome: 'served' | 'failed-over' | 'failed' | 'aborted';
  /**
   * Why it did not serve: 'rate-limited' | 'server-error' | 'connection' | 'headers-timeout'
   * | 'first-token-timeout' | 'client-error' | 'breaker-open' | 'cut' | 'stall' | 'error-frame' …
   */
  reason?: string;
  /** Upstream HTTP status when there was one. */
  status?: number;
  /** Set when this attempt put the target in cooldown. */
  cooldownMs?: number;
}

/**
 * The router's optional event sink.
 *
 * @example
 * const events: GatewayEvents = { attempt: (r) => log.info({ ...r }), end: (s) => log.info(s) };
 * createRouterBackend({ model: 'gpt-4o', targets, events });
 */
export interface GatewayEvents {
  /** A request was routed: called once per attempt, when the attempt's outcome is known. */
  attempt?(record: AttemptRecord): void;
  /** Breaker state changed for a target. */
  breaker?(targetId: string, state: 'closed' | 'open' | 'half-open'): void;
  /** The stream of one request ended (served or not), with the target that served it. */
  end?(summary: { model: string; targetId?: string; attempts: number; outcome: string; usage?: unknown }): void;
}
