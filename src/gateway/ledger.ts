/**
 * The usage ledger: per UTC day, key name, model and target, what was asked and generated —
 * requests, prompt and completion tokens (`reported` by the upstream or `counted` by our
 * tokenizer, kept apart), and streams that were cut (failed after output began) or stopped
 * (the client left). One interface, two stores: in memory here, in Redis in ledger-redis.ts.
 * Cost is computed when read, from `prices:` (per 1M input / output tokens).
 * @module
 */

/** What one finished request adds to the books. */
export interface UsageEntry {
  /** When it ended (ms since the epoch); its UTC day files it. */
  at: number;
  key: string;
  model: string;
  /** The target that served it; '' when none did. */
  target: string;
  promptTokens: number;
  completionTokens: number;
  /** Where the figures came from: the upstream's usage, or our count. */
  source: 'reported' | 'counted';
  /** How it ended. */
  outcome: 'completed' | 'cut' | 'stopped' | 'failed';
}

/** The counters of one row. */
export interface UsageCounts {
  requests: number;
  promptReported: number;
  completionReported: number;
  promptCounted: number;
  completionCounted: number;
  cut: number;
  stopped: number;
}

/** One row of the ledger. */
export interface UsageRow extends UsageCounts {
  day: string;
  key: string;
  model: string;
  target: string;
  /** In the prices' currency, when the model has a price. */
  cost?: number;
}

/** Prices per model: per 1M prompt (input) and completion (output) tokens. */
export type Prices = Record<string, { input: number; output: number }>;

export interface UsageQuery {
  /** Only this day (`YYYY-MM-DD`) or later. */
  from?: string;
  /** Only this day or earlier. */
  to?: string;
  key?: string;
  model?: string;
}

export interface UsageLedger {
  record(entry: UsageEntry): Promise<void>;
  rows(query?: UsageQuery): Promise<UsageRow[]>;
  close?(): Promise<void>;
}

/** The counter names, in the order rows show them. */
export const COUNT_FIELDS = [
  'requests',
  'promptReported',
  'completionReported',
  'promptCounted',
  'completionCounted',
  'cut',
  'stopped',
] as const satisfies readonly (keyof UsageCounts)[];

/**
 * What one entry adds to each counter.
 *
 * @example
 * increments({ at: 0, key: 'a', model: 'm', target: 't', promptTokens: 5, completionTokens: 7, source: 'counted', outcome: 'stopped' })
 * // { requests: 1, promptReported: 0, completionReported: 0, promptCounted: 5, completionCounted: 7, cut: 0, stopped: 1 }
 */
export function increments(entry: UsageEntry): UsageCounts {
  const reported = entry.source === 'reported';
  return {
    requests: 1,
    promptReported: reported ? entry.promptTokens : 0,
    completionReported: reported ? entry.completionTokens : 0,
    promptCounted: reported ? 0 : entry.promptTokens,
    completionCounted: reported ? 0 : entry.completionTokens,
    cut: entry.outcome === 'cut' ? 1 : 0,
    stopped: entry.outcome === 'stopped' ? 1 : 0,
  };
}

/** The UTC day of a time, `YYYY-MM-DD`. */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** A row with its cost, when its model has a price. */
export function priced(row: Omit<UsageRow, 'cost'>, prices: Prices | undefined): UsageRow {
  const price = prices && Object.hasOwn(prices, row.model) ? prices[row.model] : undefined;
  if (!price) return row;
  const prompt = row.promptReported + row.promptCounted;
  const completion = row.completionReported + row.completionCounted;
  const cost = (prompt * price.input + completion * price.output) / 1_000_000;
  return { ...row, cost: Math.round(cost * 1e6) / 1e6 };
}

/** True when a row passes a query. */
export function matches(row: Pick<UsageRow, 'day' | 'key' | 'model'>, query: UsageQuery): boolean {
  return (
    (query.from === undefined || row.day >= query.from) &&
    (query.to === undefined || row.day <= query.to) &&
    (query.key === undefined || row.key === query.key) &&
    (query.model === undefined || row.model === query.model)
  );
}

/** Rows in a stable order: day, key, model, target. */
export function sortRows(rows: UsageRow[]): UsageRow[] {
  return rows.sort(
    (a, b) => cmp(a.day, b.day) || cmp(a.key, b.key) || cmp(a.model, b.model) || cmp(a.target, b.target),
  );
}

/**
 * The ledger in this process's memory (one instance; lost on restart).
 *
 * @example
 * ```ts
 * const ledger = createMemoryLedger({ prices: { 'gpt-4o': { input: 2.5, output: 10 } } });
 * await ledger.record(entry);
 * const rows = await ledger.rows({ key: 'team-a' });
 * ```
 */
export function createMemoryLedger(options: { prices?: Prices } = {}): UsageLedger {
  const rows = new Map<string, Omit<UsageRow, 'cost'>>();
  return {
    async record(entry) {
      const day = utcDay(entry.at);
      const id = JSON.stringify([day, entry.key, entry.model, entry.target]);
      let row = rows.get(id);
      if (!row) {
        row = { day, key: entry.key, model: entry.model, target: entry.target, ...zero() };
        rows.set(id, row);
      }
      const add = increments(entry);
      for (const field of COUNT_FIELDS) row[field] += add[field];
    },
    async rows(query = {}) {
      return sortRows(
        [...rows.values()].filter((row) => matches(row, query)).map((row) => priced(row, options.prices)),
      );
    },
  };
}

/** A row's counters, all zero. */
export function zero(): UsageCounts {
  return {
    requests: 0,
    promptReported: 0,
    completionReported: 0,
    promptCounted: 0,
    completionCounted: 0,
    cut: 0,
    stopped: 0,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
