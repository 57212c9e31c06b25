/**
 * The gateway's per-key access (the server's `AccessControl`): names the caller from its
 * key, refuses models the key may not use, admits each generation against the key's limits
 * with a reservation (prompt tokens counted here + max_tokens), asks the upstream for usage
 * where the api-version allows it (and hides that usage from a client that did not ask),
 * counts the generated text when no usage arrives, then settles the reservation and books
 * the request in the usage ledger — however the stream ended. Series by key name for
 * `/metrics`. Never holds or prints a key: only names.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { acceptsStreamOptions, requestedMaxTokens } from '../protocol/request.js';
import { forgetSourceJson } from '../protocol/source-json.js';
import { joinParts, pushPart } from '../protocol/text-parts.js';
import type { AccessAsk, AccessControl, AccessDecision, Caller, GenerationLease } from '../server/access.js';
import { escapeLabel } from '../server/metrics.js';
import type { GenerationReport } from '../server/observer.js';
import type { AnyChunk, AnyResponse, Usage } from '../types.js';
import { type ClientKeyConfig, createKeyTable } from './keys.js';
import { type UsageEntry, type UsageLedger, type UsageQuery, utcDay } from './ledger.js';
import type { LimitStore } from './limits.js';
import { type CountTokens, generatedText, promptTokens } from './tokens.js';

/** Completion tokens reserved when a request sets no max_tokens and its key names no default. */
export const DEFAULT_RESERVED_MAX_TOKENS = 4096;

export interface KeyGateOptions {
  keys: readonly ClientKeyConfig[];
  limits: LimitStore;
  ledger: UsageLedger;
  /** Counts tokens for a model name (the embedded model's own tokenizer, else o200k_base). */
  counter: (model: string | undefined) => CountTokens;
  /** Wall clock, ms (tests inject one). */
  now?: () => number;
  /** Told when a store fails (Redis down): the request is let through and not booked. */
  onStoreError?: (error: unknown) => void;
  /** A limit check that takes longer than this lets the request through (a slow Redis), ms. Default: no limit. */
  storeTimeoutMs?: number;
}

/**
 * @example
 * ```ts
 * const gate = createKeyGate({ keys: config.keys, limits: createMemoryLimitStore(), ledger: createMemoryLedger(),
 *   counter: () => await defaultTokenCounter() });
 * createServer({ deployments, access: gate });
 * ```
 */
export function createKeyGate(options: KeyGateOptions): AccessControl {
  const now = options.now ?? Date.now;
  const table = createKeyTable(options.keys);
  const byName = new Map(options.keys.map((key) => [key.name, key]));
  const series = new Map<string, KeySeries>();
  const seriesOf = (name: string) => {
    let s = series.get(name);
    if (!s) {
      s = { requests: 0, refused: new Map(), prompt: 0, completion: 0, active: 0, unmetered: 0 };
      series.set(name, s);
    }
    return s;
  };
  const refuse = (name: string, reason: string, refusal: Extract<AccessDecision, { ok: false }>['refusal']) => {
    const s = seriesOf(name);
    s.refused.set(reason, (s.refused.get(reason) ?? 0) + 1);
    return { ok: false as const, refusal };
  };
  const storeFailed = (error: unknown) => options.onStoreError?.(error);

  return {
    identify(headers: IncomingHttpHeaders) {
      return table.identify(headers);
    },

    async admit(caller: Caller, ask: AccessAsk): Promise<AccessDecision> {
      const key = byName.get(caller.name);
      const name = caller.name;
      const model = ask.model ?? '';
      if (key?.models && !key.models.includes(model)) {
        return refuse(name, 'model', {
          status: 403,
          code: 'ModelNotAllowed',
          message: `The key "${name}" may not use the model "${model.slice(0, 200)}"; it may use: ${key.models.join(', ')}.`,
        });
      }
      const count = options.counter(ask.model);
      // A counter that fails (the embedded model's, while it reloads) must not fail the request.
      // (The estimate is made outside this function: a closure here that read `ask` would keep
      // the request, conversation and all, in the context the account's closures below share.)
      const prompt = await promptTokens(ask.kind, ask.body, count).catch(estimateOf(ask.body));
      const maxTokens = requestedMaxTokens(ask.kind, ask.body) ?? key?.defaultMaxTokens ?? DEFAULT_RESERVED_MAX_TOKENS;
      const n = typeof ask.body.n === 'number' ? ask.body.n : 1;
      const reserved = prompt + maxTokens * n;
      let lease: Awaited<ReturnType<LimitStore['admit']>> | undefined;
      if (key && hasLimits(key)) {
        try {
          const asked = options.limits.admit({ key: name, limits: key.limits, tokens: reserved, id: randomUUID() });
          lease = options.storeTimeoutMs === undefined ? await asked : await within(asked, options.storeTimeoutMs);
        } catch (error) {
          // Limits are a fence, not a gate that locks everyone out when Redis is down.
          seriesOf(name).unmetered++;
          storeFailed(error);
        }
        if (lease && !lease.ok) {
          if (lease.reason === 'budget') {
            const per = key.limits.budget!.per;
            const waitMs = Math.max(0, lease.resetsAt - now());
            return refuse(name, 'budget', {
              status: 403,
              code: 'BudgetExceeded',
              message: `The key "${name}" has used its budget of ${key.limits.budget!.tokens} tokens this ${per} (UTC); it renews at ${new Date(lease.resetsAt).toISOString()}. Ask the gateway's operator for a larger budget, or wait.`,
              retryAfterMs: waitMs,
            });
          }
          const what =
            lease.reason === 'tpm'
              ? `the token rate limit of the key "${name}" (${key.limits.tpm} tokens per minute; this request reserves ${reserved})`
              : lease.reason === 'rpm'
                ? `the request rate limit of the key "${name}" (${key.limits.rpm} requests per minute)`
                : `the concurrent request limit of the key "${name}" (${key.limits.concurrent} at once)`;
          return refuse(name, lease.reason, {
            status: 429,
            code: '429',
            message: what,
            retryAfterMs: Math.max(1, Math.ceil(lease.retryAfterMs)),
          });
        }
      }
      const held = lease?.ok ? lease.lease : undefined;
      const s = seriesOf(name);
      s.requests++;
      s.active++;
      return {
        ok: true,
        ...account({
          ask,
          name,
          model,
          prompt,
          count,
          now,
          settle: (tokens) => held?.settle(tokens).catch(storeFailed),
          book: (entry) => {
            s.active--;
            s.prompt += entry.promptTokens;
            s.completion += entry.completionTokens;
            options.ledger.record(entry).catch(storeFailed);
          },
        }),
      };
    },

    async usage(query: URLSearchParams) {
      const q: UsageQuery = {};
      for (const field of ['from', 'to', 'key', 'model'] as const) {
        const value = query.get(field);
        if (value) q[field] = value;
      }
      const rows = await options.ledger.rows(q);
      return { object: 'list', generated_at: new Date(now()).toISOString(), today: utcDay(now()), data: rows };
    },

    metrics() {
      const lines = [
        '# HELP sluice_key_requests_total Requests admitted, by client key name.',
        '# TYPE sluice_key_requests_total counter',
      ];
      for (const [name, s] of series) lines.push(`sluice_key_requests_total{key="${escapeLabel(name)}"} ${s.requests}`);
      lines.push(
        '# HELP sluice_key_refused_total Requests refused, by client key name and limit.',
        '# TYPE sluice_key_refused_total counter',
      );
      for (const [name, s] of series) {
        for (const [reason, n] of s.refused) {
          lines.push(`sluice_key_refused_total{key="${escapeLabel(name)}",reason="${reason}"} ${n}`);
        }
      }
      lines.push(
        '# HELP sluice_key_tokens_total Tokens booked, by client key name and kind.',
        '# TYPE sluice_key_tokens_total counter',
      );
      for (const [name, s] of series) {
        lines.push(`sluice_key_tokens_total{key="${escapeLabel(name)}",kind="prompt"} ${s.prompt}`);
        lines.push(`sluice_key_tokens_total{key="${escapeLabel(name)}",kind="completion"} ${s.completion}`);
      }
      lines.push(
        '# HELP sluice_key_unmetered_total Requests let through without a limit check (the limit store failed or was slow).',
        '# TYPE sluice_key_unmetered_total counter',
      );
      for (const [name, s] of series)
        lines.push(`sluice_key_unmetered_total{key="${escapeLabel(name)}"} ${s.unmetered}`);
      lines.push('# HELP sluice_key_active Generations running, by client key name.', '# TYPE sluice_key_active gauge');
      for (const [name, s] of series) lines.push(`sluice_key_active{key="${escapeLabel(name)}"} ${s.active}`);
      return `${lines.join('\n')}\n`;
    },
  };
}

// --- internal ---

/** The store's answer, or a rejection after `ms` (the late answer's lease is then settled at once). */
function within<T extends Awaited<ReturnType<LimitStore['admit']>>>(answer: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      answer.then((a) => (a.ok ? a.lease.settle(0) : undefined)).catch(() => {});
      reject(new Error(`the limit store did not answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

interface KeySeries {
  requests: number;
  /** Let through without a limit check (the store failed or was slow). */
  unmetered: number;
  refused: Map<string, number>;
  prompt: number;
  completion: number;
  active: number;
}

function hasLimits(key: ClientKeyConfig): boolean {
  const l = key.limits;
  return l.rpm !== undefined || l.tpm !== undefined || l.concurrent !== undefined || l.budget !== undefined;
}

interface AccountParts {
  ask: AccessAsk;
  name: string;
  model: string;
  prompt: number;
  count: CountTokens;
  now: () => number;
  settle: (tokens: number) => void;
  book: (entry: UsageEntry) => void;
}

/** A rough prompt size, about four characters a token, for when the counter fails. */
function estimateOf(body: AccessAsk['body']): () => number {
  return () => Math.ceil(JSON.stringify(body.messages ?? body.prompt ?? '').length / 4);
}

/**
 * One admitted generation's account (what it generated, then its settlement and booking, once)
 * and the body to send. The account keeps nothing of the request: it lives as long as the
 * generation, and a request may carry a whole conversation.
 */
function account(parts: AccountParts): { lease: GenerationLease; body: Record<string, unknown> } {
  const { ask, ...kept } = parts;
  const a = {
    ...kept,
    close: (p: number, c: number, source: 'reported' | 'counted', report: Readonly<GenerationReport>) =>
      closeAccount(kept, p, c, source, report),
  };
  const streamOptions = ask.body.stream_options as { include_usage?: unknown } | undefined;
  const clientAsked = streamOptions?.include_usage === true;
  // Ask for usage where the api-version allows stream_options (the client's own choice otherwise).
  const injected = ask.stream && !clientAsked && acceptsStreamOptions(ask.apiVersion);
  const body = injected ? { ...ask.body, stream_options: { ...streamOptions, include_usage: true } } : ask.body;
  let reported: Usage | undefined;
  // What was generated, for counting when no usage comes (held as long as the stream: see text-parts.ts).
  const generated: string[] = [];
  let ended = false;
  const lease: GenerationLease = {
    chunk(chunk: AnyChunk) {
      const usage = chunk.usage;
      if (usage) reported = usage;
      if (injected && usage !== undefined) {
        // The client did not ask: the usage-only chunk is not relayed, `usage: null` is removed.
        if (chunk.choices.length === 0) return false;
        forgetSourceJson(chunk);
        delete chunk.usage;
      }
      const piece = generatedText(chunk);
      if (piece) pushPart(generated, piece);
      return true;
    },
    response(response: AnyResponse) {
      if (response.usage) reported = response.usage;
      for (const choice of response.choices ?? []) {
        const content =
          (choice as { message?: { content?: unknown }; text?: unknown }).message?.content ??
          (choice as { text?: unknown }).text;
        if (typeof content === 'string' && content !== '') pushPart(generated, content);
      }
    },
    end(report: Readonly<GenerationReport>) {
      if (ended) return;
      ended = true;
      // What the server saw when the chunks did not pass through here (the Responses API).
      reported ??= report.usage;
      const exact =
        reported && typeof reported.prompt_tokens === 'number' && typeof reported.completion_tokens === 'number';
      // (Only pieces that are not empty are kept: any part means text.)
      const promptTokens = exact ? reported!.prompt_tokens : report.chunks || generated.length > 0 ? a.prompt : 0;
      (report as GenerationReport).tokensSource = exact ? 'reported' : 'counted';
      if (exact) return a.close(promptTokens, reported!.completion_tokens, 'reported', report);
      let counted: number | Promise<number>;
      try {
        counted = generated.length > 0 ? a.count(joinParts(generated)) : 0;
      } catch {
        counted = 0;
      }
      if (typeof counted === 'number') {
        const r = report as GenerationReport;
        r.usage ??= { prompt_tokens: promptTokens, completion_tokens: counted, total_tokens: promptTokens + counted };
        return a.close(promptTokens, counted, 'counted', report);
      }
      // The embedded model's tokenizer answers later: the ledger and metrics get the figure then.
      counted.catch(() => 0).then((n) => a.close(promptTokens, n, 'counted', report));
    },
  };
  return { lease, body };
}

/** Settles and books one generation (called once). */
function closeAccount(
  a: Omit<AccountParts, 'ask'>,
  promptTokens: number,
  completionTokens: number,
  source: 'reported' | 'counted',
  report: Readonly<GenerationReport>,
): void {
  a.settle(promptTokens + completionTokens);
  a.book({
    at: a.now(),
    key: a.name,
    model: a.model,
    target: report.target ?? '',
    promptTokens,
    completionTokens,
    source,
    outcome:
      report.outcome === 'completed'
        ? 'completed'
        : // Stopped: the client left, a stop request (resumable streams) or a shutdown aborted it.
          report.outcome === 'client-closed' || report.error === 'SLUICE_ABORTED'
          ? 'stopped'
          : (report.chunks ?? 0) > 0
            ? 'cut'
            : 'failed',
  });
}
