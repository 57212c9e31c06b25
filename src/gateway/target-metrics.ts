/**
 * The gateway's per-target Prometheus series, fed by the routers' `GatewayEvents`: attempts
 * by target and outcome, failovers by reason, cooldowns, and each target's breaker state.
 * Appended to the server's `/metrics`. Labels are target ids and the router's own words
 * (outcomes, reasons), never anything an upstream sent, so cardinality stays bounded by
 * the configuration.
 * @module
 */
import { escapeLabel } from '../server/metrics.js';
import type { AttemptRecord, GatewayEvents } from './events.js';

/** A breaker's state as a number: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

type BreakerState = keyof typeof BREAKER_STATE_VALUE;

/**
 * Counts what the routers report and renders it as Prometheus text.
 *
 * @example
 * ```ts
 * const series = new TargetMetrics();
 * createRouterBackend({ model: 'gpt-4o', targets, events: series.events });
 * createServer({ deployments, observer: { metrics: () => series.render() } });
 * ```
 */
export class TargetMetrics {
  /** `target\u0000outcome` -> count. */
  readonly #attempts = new Map<string, number>();
  /** `target\u0000reason` -> count. */
  readonly #failovers = new Map<string, number>();
  /** target -> count. */
  readonly #cooldowns = new Map<string, number>();
  /** target -> state. */
  readonly #breakers = new Map<string, BreakerState>();

  /** `targetIds`: every target, so each shows a breaker state (closed) before its first request. */
  constructor(targetIds: Iterable<string> = []) {
    for (const id of targetIds) this.#breakers.set(id, 'closed');
  }

  /** The sink to give the routers. */
  readonly events: Required<Pick<GatewayEvents, 'attempt' | 'breaker'>> = {
    attempt: (record) => this.attempt(record),
    breaker: (targetId, state) => this.breaker(targetId, state),
  };

  attempt(record: AttemptRecord): void {
    bump(this.#attempts, `${record.targetId}\u0000${record.outcome}`);
    if (record.outcome === 'failed-over')
      bump(this.#failovers, `${record.targetId}\u0000${record.reason ?? 'unknown'}`);
    if (record.cooldownMs !== undefined) bump(this.#cooldowns, record.targetId);
    // A target that has been tried has a breaker, closed until told otherwise.
    if (!this.#breakers.has(record.targetId)) this.#breakers.set(record.targetId, 'closed');
  }

  breaker(targetId: string, state: BreakerState): void {
    this.#breakers.set(targetId, state);
  }

  /** The series as Prometheus text (exposition format 0.0.4); empty before the first event. */
  render(): string {
    const out: string[] = [];
    family(out, 'sluice_target_attempts_total', 'counter', 'Upstream attempts, by target and outcome.');
    for (const [key, count] of this.#attempts) {
      const [target, outcome] = key.split('\u0000');
      out.push(
        `sluice_target_attempts_total{target="${escapeLabel(target!)}",outcome="${escapeLabel(outcome!)}"} ${count}`,
      );
    }
    family(out, 'sluice_target_failovers_total', 'counter', 'Attempts that moved on to another target, by reason.');
    for (const [key, count] of this.#failovers) {
      const [target, reason] = key.split('\u0000');
      out.push(
        `sluice_target_failovers_total{target="${escapeLabel(target!)}",reason="${escapeLabel(reason!)}"} ${count}`,
      );
    }
    family(out, 'sluice_target_cooldowns_total', 'counter', 'Times a target was put in cooldown (429s).');
    for (const [target, count] of this.#cooldowns) {
      out.push(`sluice_target_cooldowns_total{target="${escapeLabel(target)}"} ${count}`);
    }
    family(out, 'sluice_target_breaker_state', 'gauge', 'Circuit breaker: 0 closed, 1 half-open, 2 open.');
    for (const [target, state] of this.#breakers) {
      out.push(`sluice_target_breaker_state{target="${escapeLabel(target)}"} ${BREAKER_STATE_VALUE[state]}`);
    }
    return `${out.join('\n')}\n`;
  }
}

// --- internal ---

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function family(out: string[], name: string, type: 'counter' | 'gauge', help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}
