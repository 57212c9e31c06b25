/**
 * The gateway's router: one Backend over a model's targets, so the server, the CLI and the
 * client use it unchanged. It chooses a target (priority, then weight, least busy first,
 * skipping targets cooling down, breaker-open or over their rpm/tpm), fails over before the
 * client has seen any content, and after that either ends the stream with the typed error
 * (partial kept) or, when the model allows it, continues on another target with the partial
 * answer as prefill. The hot path (after the first content chunk) does a property read or
 * two per chunk; it copies nothing unless `continueOnFailure` needs the text. The continuation
 * rule itself (prefill request, re-spelling) lives in continuation.ts.
 * @module
 */
import { abortError, followSignal, linkSignals } from '../abort.js';
import {
  type Backend,
  type BackendMeta,
  type BackendRequest,
  type EmbeddingsBackendRequest,
  failedIterator,
  isPullIterator,
  itemOf,
  type ModelInfo,
  NOT_READY,
  type PullIterator,
  type ResponsesBackendRequest,
} from '../backend.js';
import { tokenDeltas } from '../client/metrics.js';
import { toSluiceError as toError } from '../client/response-stream.js';
import {
  AbortError,
  ApiError,
  BadRequestError,
  ConnectionError,
  ContentFilterError,
  ModelLoadError,
  OverloadedError,
  ProtocolError,
  RateLimitError,
  ServerError,
  type SluiceError,
  SseDecodeError,
  StreamErrorFrame,
  StreamTruncatedError,
  TimeoutError,
} from '../errors.js';
import { createAccumulator } from '../protocol/accumulate.js';
import { continuation, type Origin, originOf, respell } from '../protocol/continuation.js';
import type { EmbeddingsResponse } from '../protocol/embeddings.js';
import { errorBody } from '../protocol/error-body.js';
import type { RequestCapabilities } from '../protocol/request.js';
import { isTerminalEvent } from '../protocol/responses/events.js';
import type { ResponseStreamEvent, ResponseUsage } from '../protocol/responses/types.js';
import type { AnyChunk, ApiKind, ApiTypes, Usage } from '../types.js';
import type { AttemptRecord, GatewayEvents } from './events.js';
import { createMemoryHealth, type HealthStore } from './health.js';
import type { RouteTarget } from './targets.js';

export interface RouterOptions {
  /** The name clients ask for. */
  model: string;
  targets: RouteTarget[];
  /**
   * Cooldowns and breakers; default a fresh in-memory store whose breaker changes go to
   * `events.breaker`. A store you pass reports its own changes: give it
   * `onBreaker: (id, state) => events.breaker?.(id, state)`.
   */
  health?: HealthStore;
  events?: GatewayEvents;
  /** After content was sent, continue on another target with the partial as prefill. */
  continueOnFailure?: boolean;
  /** Upstream statuses that fail over; default DEFAULT_FAILOVER_ON. Connection errors and time-outs always do. */
  failoverOn?: readonly number[];
  /** Longest cooldown a 429's retry delay may impose, ms; default 300 000. */
  maxCooldownMs?: number;
  /** Cooldown for a 429 that names no delay, ms; default 5 000. */
  defaultCooldownMs?: number;
  /** For the weighted choice; default Math.random. */
  random?: () => number;
}

/** A Backend over several targets that also forwards non-streaming requests. */
export interface RouterBackend extends Backend {
  create<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): Promise<ApiTypes[K]['response']>;
  /** Embeddings, with the same choice of target and failover as `create()`. */
  embed(request: EmbeddingsBackendRequest, signal: AbortSignal): Promise<EmbeddingsResponse>;
  readonly model: string;
  readonly health: HealthStore;
  /** The model's `continue_on_failure`: a resumable stream of it may be taken over if its instance dies. */
  readonly continueOnFailure: boolean;
}

export const DEFAULT_FAILOVER_ON: readonly number[] = Object.freeze([429, 500, 502, 503, 504]);
export const DEFAULT_MAX_COOLDOWN_MS = 300_000;
export const DEFAULT_COOLDOWN_MS = 5_000;
const MINUTE_MS = 60_000;
/**
 * Preamble (role, prompt-filter chunks; `response.created` events) held back before content,
 * at most: an upstream that sends only preamble must not grow memory. Past it the attempt is
 * committed as if content had come (a failover after that is visible, as after content).
 */
const MAX_HELD = 64;

/**
 * Creates the router backend for one model.
 *
 * @example
 * const router = createRouterBackend({
 *   model: 'gpt-4o',
 *   targets: [
 *     { id: 'gpt-4o/0:azure:east.openai.azure.com', backend: east, priority: 1, weight: 1, timeouts: { firstTokenMs: 15_000 } },
 *     { id: 'gpt-4o/1:azure:west.openai.azure.com', backend: west, priority: 2, weight: 1, timeouts: {} },
 *   ],
 * });
 * createServer({ deployments: { 'gpt-4o': router } });
 */
export function createRouterBackend(options: RouterOptions): RouterBackend {
  if (options.targets.length === 0) throw new TypeError(`Model "${options.model}" has no targets.`);
  const model = options.model;
  const events = options.events;
  const health =
    options.health ?? createMemoryHealth({ onBreaker: (id, state) => safely(() => events?.breaker?.(id, state)) });
  const failoverOn = new Set(options.failoverOn ?? DEFAULT_FAILOVER_ON);
  const maxCooldownMs = options.maxCooldownMs ?? DEFAULT_MAX_COOLDOWN_MS;
  const defaultCooldownMs = options.defaultCooldownMs ?? DEFAULT_COOLDOWN_MS;
  const random = options.random ?? Math.random;
  const continueOnFailure = options.continueOnFailure === true;
  const states: TargetState[] = options.targets.map((target) => ({
    target,
    id: target.id,
    priority: target.priority,
    weight: target.weight > 0 ? target.weight : 1,
    inFlight: 0,
    windowStart: 0,
    requests: 0,
    tokens: 0,
  }));

  // --- choosing ---

  const overQuota = (s: TargetState, now: number): boolean => {
    if (s.target.rpm === undefined && s.target.tpm === undefined) return false;
    if (now - s.windowStart >= MINUTE_MS) {
      s.windowStart = now;
      s.requests = 0;
      s.tokens = 0;
    }
    return (
      (s.target.rpm !== undefined && s.requests >= s.target.rpm) ||
      (s.target.tpm !== undefined && s.tokens >= s.target.tpm)
    );
  };

  /** The best available target not tried yet, claimed; undefined when none is left. */
  const choose = (tried: Set<TargetState>): TargetState | undefined => {
    for (;;) {
      const now = health.now();
      let best: TargetState[] = [];
      let bestPriority = Number.POSITIVE_INFINITY;
      let bestLoad = Number.POSITIVE_INFINITY;
      for (const s of states) {
        if (tried.has(s) || !health.available(s.id) || overQuota(s, now)) continue;
        const load = s.inFlight / s.weight;
        if (s.priority < bestPriority || (s.priority === bestPriority && load < bestLoad)) {
          best = [s];
          bestPriority = s.priority;
          bestLoad = load;
        } else if (s.priority === bestPriority && load === bestLoad) best.push(s);
      }
      const chosen = weighted(best, random);
      if (!chosen) return undefined;
      tried.add(chosen);
      // A half-open breaker lets one probe through: another request may have taken it.
      if (!health.acquire(chosen.id)) continue;
      chosen.requests++;
      return chosen;
    }
  };

  // --- failing ---

  /** What an attempt's failure means for routing. */
  const judge = (error: unknown): Verdict => {
    if (error instanceof OverloadedError) {
      return { reason: 'rate-limited', failover: true, breaker: false, cooldownMs: cap(error.retryAfterMs) };
    }
    if (error instanceof ApiError) {
      const status = error.status;
      if (status === 429) {
        const cooldownMs = cap(error.rateLimit?.retryAfterMs ?? defaultCooldownMs);
        return { reason: 'rate-limited', failover: failoverOn.has(429), breaker: false, status, cooldownMs };
      }
      if (status >= 500) return { reason: 'server-error', failover: failoverOn.has(status), breaker: true, status };
      const reason = error instanceof ContentFilterError ? 'content-filter' : 'client-error';
      return { reason, failover: failoverOn.has(status), breaker: false, status };
    }
    if (error instanceof TimeoutError) {
      const reason = TIMEOUT_REASONS[error.phase];
      return { reason, failover: true, breaker: true };
    }
    if (error instanceof ConnectionError) return { reason: 'connection', failover: true, breaker: true };
    if (error instanceof StreamTruncatedError) return { reason: 'cut', failover: true, breaker: true };
    if (error instanceof StreamErrorFrame) return { reason: 'error-frame', failover: true, breaker: true };
    if (error instanceof ProtocolError || error instanceof SseDecodeError) {
      return { reason: 'malformed', failover: true, breaker: true };
    }
    if (error instanceof ModelLoadError) return { reason: 'model-load', failover: true, breaker: true };
    return { reason: 'internal', failover: true, breaker: true };
  };
  const cap = (ms: number): number => Math.min(Math.max(0, ms), maxCooldownMs);

  /** Books an attempt's failure in the health store: its cooldown, and a breaker failure or no verdict. */
  const book = (s: TargetState, verdict: Verdict): void => {
    if (verdict.cooldownMs !== undefined) health.cooldown(s.id, verdict.cooldownMs);
    if (verdict.breaker) health.failure(s.id);
    else health.release(s.id);
  };

  /** The error to answer when no target is left. */
  const exhausted = (failures: Failure[]): SluiceError => {
    const now = health.now();
    let soonestFree = Number.POSITIVE_INFINITY;
    let soonestProbe = Number.POSITIVE_INFINITY;
    for (const s of states) {
      const until = health.coolingUntil(s.id);
      if (until !== undefined) soonestFree = Math.min(soonestFree, until - now);
      else if (overQuota(s, now)) soonestFree = Math.min(soonestFree, s.windowStart + MINUTE_MS - now);
      const probe = health.probeAt(s.id);
      if (probe !== undefined) soonestProbe = Math.min(soonestProbe, probe - now);
    }
    const rateLimited = failures.some((f) => f.verdict.reason === 'rate-limited');
    if ((rateLimited || failures.length === 0) && Number.isFinite(soonestFree)) {
      return rateLimitedEverywhere(model, soonestFree);
    }
    if (failures.length === 0) return takenOut(model, Number.isFinite(soonestProbe) ? soonestProbe : undefined);
    return mostTelling(failures);
  };

  // --- reporting ---

  const report = (record: AttemptRecord) => safely(() => events?.attempt?.(record));
  const ended = (targetId: string | undefined, attempts: number, outcome: string, usage?: unknown) =>
    safely(() => events?.end?.({ model, targetId, attempts, outcome, ...(usage !== undefined ? { usage } : {}) }));

  /**
   * Reports a failed attempt. `final`: the request ends with it; otherwise, when the verdict
   * forbids failing over (the request itself is at fault), the request ends with its error as it is.
   */
  const failed = (record: AttemptRecord, verdict: Verdict, meta: BackendMeta, error: SluiceError, final: boolean) => {
    record.outcome = verdict.failover && !final ? 'failed-over' : 'failed';
    record.reason = verdict.reason;
    if (verdict.status !== undefined) record.status = verdict.status;
    if (verdict.cooldownMs !== undefined) record.cooldownMs = verdict.cooldownMs;
    report(record);
    if (record.outcome === 'failed-over') return;
    if (meta.target === undefined) meta.target = record.targetId;
    ended(meta.target, record.attempt, 'failed');
    throw error;
  };

  const finish = (s: TargetState, usage: Usage | undefined) => {
    if (usage && s.target.tpm !== undefined) {
      s.tokens += usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0);
    }
  };

  // --- streaming ---

  /**
   * The client's iterator (`Relay`), a `PullIterator`. Routing (choosing, holding back,
   * failing over, continuing) is the `route` generator's, which the iterator runs; once an
   * attempt is committed and nothing needs to look at its chunks, the iterator reads the
   * attempt directly and books its end with what the generator left it (`commit`).
   */
  function stream<K extends ApiKind>(
    request: BackendRequest<K>,
    signal: AbortSignal,
  ): AsyncIterable<ApiTypes[K]['chunk']> {
    const relay = new Relay();
    relay.routing = route(request, signal, relay) as Routing;
    const iterator = relay as PullIterator<AnyChunk> as PullIterator<ApiTypes[K]['chunk']>;
    return { [Symbol.asyncIterator]: () => iterator };
  }

  /**
   * Routing, as a synchronous generator the client's iterator runs (`Relay`). Where it needs
   * its attempt's next chunk it yields the attempt and is given the chunk (undefined at its
   * end) or its failure (`throw`). So the chunk that decides (the first content) is routed and
   * handed on in the upstream callback that brought it, with no promise or generator step
   * between: the way back of a stream's first token (docs/gateway.md, Round 21).
   */
  function* route<K extends ApiKind>(
    request: BackendRequest<K>,
    signal: AbortSignal,
    relay: Relay,
  ): Generator<ApiTypes[K]['chunk'] | Attempt<K>, typeof RELEASED | undefined, ApiTypes[K]['chunk'] | undefined> {
    const kind = request.kind;
    const meta: BackendMeta = request.meta ?? {};
    request.meta = meta;
    const tried = new Set<TargetState>();
    const failures: Failure[] = [];
    // What the client has seen, when a continuation may need it.
    const seen = continueOnFailure ? createAccumulator(kind) : undefined;
    let body = request.body;
    let origin: Origin | undefined; // set once the client has seen content
    let attempts = 0;
    let lastError: SluiceError | undefined;
    let used = 0; // content chunks the client has seen, ~ tokens (a continuation's budget is cut by these)

    for (;;) {
      if (signal.aborted) throw abortError(signal);
      const s = choose(tried);
      if (!s) {
        const error = origin ? (lastError as SluiceError) : exhausted(failures);
        if (!origin && failures.length > 0) meta.target = failures.at(-1)?.state.id;
        ended(meta.target, attempts, 'failed');
        throw error;
      }
      attempts++;
      meta.attempts = attempts;
      const attempt = new Attempt(s, { kind, body }, signal, origin !== undefined);
      const record: AttemptRecord = {
        model,
        targetId: s.id,
        attempt: attempts,
        startedAt: attempt.startedAt,
        outcome: 'aborted',
      };
      const booked: Booked<K> = { s, attempt, record, meta, attempts };
      const held: ApiTypes[K]['chunk'][] = [];
      let open = false; // this attempt has sent content
      let settled = false;
      let handedOver = false; // the relay reads and books this attempt (`commit`)
      try {
        for (;;) {
          // A chunk already here (the role chunk after the prompt-filter one) is taken at once.
          let chunk: ApiTypes[K]['chunk'] | typeof NOT_READY | undefined = attempt.ready();
          if (chunk === NOT_READY) chunk = yield attempt;
          if (chunk === undefined) {
            attempt.finished();
            break;
          }
          if (chunk.usage) relay.usage = chunk.usage;
          if (!open) {
            if (held.length < MAX_HELD && isPreamble(chunk)) {
              // Held until content comes, so a failover after them stays invisible; a continuation's are dropped.
              if (!origin) held.push(chunk);
              continue;
            }
            open = true;
            attempt.opened();
            health.success(s.id);
            if (!origin) {
              origin = originOf(chunk);
              meta.target = s.id;
              meta.headersMs = attempt.timings().headersMs;
              if (seen) {
                for (const h of held) {
                  seen.push(h);
                  yield h;
                }
                held.length = 0;
              }
            }
          }
          if (attempt.continuing) respell(chunk, origin as Origin);
          if (seen) {
            seen.push(chunk);
            used += tokenDeltas(chunk);
          } else {
            // Nothing is left here to decide (no continuation): the client's iterator reads the
            // attempt itself from here on, the held preamble and this chunk first, and books its
            // end (`commit`). This generator ends: nothing it held lives as long as the stream.
            held.push(chunk);
            relay.release(held.splice(0));
            relay.attempt = attempt;
            relay.committed = commit(booked, signal, relay);
            settled = true;
            handedOver = true;
            return RELEASED;
          }
          yield chunk;
        }
        // The stream ended well. Nothing but preamble: it is the answer (an empty one).
        if (!open) {
          health.success(s.id);
          if (!origin) {
            meta.target = s.id;
            meta.headersMs = attempt.timings().headersMs;
          }
          for (const h of held) yield h;
        }
        settled = true;
        bookServed(booked, relay.usage);
        return;
      } catch (thrown) {
        settled = true;
        const { error, verdict } = bookBroken(booked, signal, relay.usage, thrown, open);
        lastError = error;
        if (!origin) {
          // Nothing reached the client: move on, unless the request itself is at fault.
          failed(record, verdict, meta, error, false);
          failures.push({ state: s, error, verdict });
          continue;
        }
        // Content reached the client: continue on another target, or fail with the partial.
        const partial = seen?.response();
        if (partial) error.partial = partial;
        const next =
          partial && (open || verdict.failover) ? continuation(kind, request.body, partial, used) : undefined;
        failed(record, { ...verdict, failover: true }, meta, error, next === undefined);
        body = next as ApiTypes[K]['request'];
      } finally {
        if (!handedOver) attempt.dispose();
        // The client stopped reading (server hang-up handling): the upstream is cancelled above.
        if (!settled) bookLeft(booked);
      }
    }
  }

  /**
   * The booking of an attempt the relay reads itself, once `route` has committed to it and
   * ended: what `route` books when such an attempt ends, fails after its content (no
   * continuation: the request fails with it) or is left by the client.
   */
  const commit = <K extends ApiKind>(booked: Booked<K>, signal: AbortSignal, relay: Relay): Committed => ({
    served() {
      booked.attempt.finished();
      bookServed(booked, relay.usage);
      booked.attempt.dispose();
    },
    failed(thrown) {
      try {
        const { error, verdict } = bookBroken(booked, signal, relay.usage, thrown, true);
        failed(booked.record, { ...verdict, failover: true }, booked.meta, error, true); // throws `error`
        return error;
      } catch (final) {
        return final;
      } finally {
        booked.attempt.dispose();
      }
    },
    left() {
      booked.attempt.dispose();
      bookLeft(booked);
    },
  });

  // --- a streamed attempt's end, booked (by `route`, or by `commit` for the relay) ---

  const bookServed = <K extends ApiKind>(
    { s, attempt, record, attempts }: Booked<K>,
    usage: Usage | undefined,
  ): void => {
    finish(s, usage);
    Object.assign(record, attempt.timings(), { outcome: 'served' });
    report(record);
    ended(s.id, attempts, 'served', usage);
  };

  /** The client left (no verdict on the target). */
  const bookLeft = <K extends ApiKind>({ s, attempt, record, meta, attempts }: Booked<K>): void => {
    health.release(s.id);
    Object.assign(record, attempt.timings());
    report(record);
    ended(meta.target, attempts, 'aborted');
  };

  /**
   * A failure: its usage, timings and verdict booked (`open`: after content, when only the
   * breaker counts it); throws the abort when the request was aborted, else says what failed.
   */
  const bookBroken = <K extends ApiKind>(
    booked: Booked<K>,
    signal: AbortSignal,
    usage: Usage | undefined,
    thrown: unknown,
    open: boolean,
  ): { error: SluiceError; verdict: Verdict } => {
    const { s, attempt, record } = booked;
    finish(s, usage);
    if (signal.aborted) {
      bookLeft(booked);
      throw abortError(signal);
    }
    Object.assign(record, attempt.timings());
    const error = attempt.errorOf(thrown);
    const verdict = judge(error);
    if (!open) book(s, verdict);
    else if (verdict.breaker) health.failure(s.id);
    return { error, verdict };
  };

  // --- one request's attempts (non-streaming and Responses) ---

  const beginTrial = (request: { meta?: BackendMeta }): Trial => {
    const meta: BackendMeta = request.meta ?? {};
    request.meta = meta;
    return { meta, tried: new Set(), failures: [], attempts: 0 };
  };

  /** The next target, claimed, with its attempt record; throws the most telling error when none is left. */
  const nextAttempt = (trial: Trial, signal: AbortSignal) => {
    if (signal.aborted) throw abortError(signal);
    const s = choose(trial.tried);
    if (!s) {
      if (trial.failures.length > 0) trial.meta.target = trial.failures.at(-1)?.state.id;
      ended(trial.meta.target, trial.attempts, 'failed');
      throw exhausted(trial.failures);
    }
    trial.attempts++;
    trial.meta.attempts = trial.attempts;
    const startedAt = performance.now();
    const record: AttemptRecord = { model, targetId: s.id, attempt: trial.attempts, startedAt, outcome: 'served' };
    return { s, record, startedAt };
  };

  /** Books a failed attempt; returns when the request fails over, else throws (`final`: it may not). */
  const attemptFailed = (
    trial: Trial,
    s: TargetState,
    record: AttemptRecord,
    thrown: unknown,
    signal: AbortSignal,
    final: boolean,
  ): void => {
    if (signal.aborted) {
      health.release(s.id);
      record.outcome = 'aborted';
      report(record);
      ended(s.id, trial.attempts, 'aborted');
      throw abortError(signal);
    }
    const error = toError(thrown);
    const verdict = judge(error);
    book(s, verdict);
    failed(record, verdict, trial.meta, error, final);
    trial.failures.push({ state: s, error, verdict });
  };

  // --- non-streaming ---

  function create<K extends ApiKind>(
    request: BackendRequest<K>,
    signal: AbortSignal,
  ): Promise<ApiTypes[K]['response']> {
    return forward(request, signal, (backend, linked) =>
      createOn(backend, { kind: request.kind, body: request.body }, linked),
    );
  }

  function embed(request: EmbeddingsBackendRequest, signal: AbortSignal): Promise<EmbeddingsResponse> {
    return forward(request, signal, (backend, linked) => embedOn(backend, { body: request.body }, linked));
  }

  /** One answer, target after target until one gives it (failover before the answer). */
  async function forward<R extends { usage?: unknown }>(
    request: { meta?: BackendMeta },
    signal: AbortSignal,
    call: (backend: Backend, signal: AbortSignal) => Promise<R>,
  ): Promise<R> {
    const trial = beginTrial(request);
    for (;;) {
      const { s, record, startedAt } = nextAttempt(trial, signal);
      const { meta } = trial;
      const link = linkSignals(signal);
      s.inFlight++;
      try {
        const response = await call(s.target.backend, link.signal);
        record.headersMs = performance.now() - startedAt;
        health.success(s.id);
        finish(s, response.usage as Usage | undefined);
        meta.target = s.id;
        meta.headersMs = record.headersMs;
        report(record);
        ended(s.id, trial.attempts, 'served', response.usage);
        return response;
      } catch (thrown) {
        attemptFailed(trial, s, record, thrown, signal, false);
      } finally {
        s.inFlight--;
        link.dispose();
      }
    }
  }

  // --- the Responses API ---

  /**
   * Relays the Responses API of the targets (when every target speaks it: upstreams). Fails
   * over as chat does before the client has seen content: lifecycle events before the first
   * output item are held back, so a failover after them is invisible (the next target's own
   * `response.created` replaces them). After content, a failure ends the stream with its
   * error. The first-token time-out and `continue_on_failure` apply to chat only.
   */
  async function* responses(
    request: ResponsesBackendRequest,
    signal: AbortSignal,
  ): AsyncGenerator<ResponseStreamEvent, undefined, undefined> {
    const trial = beginTrial(request);
    // The body, for the attempts until one has sent content; let go then (see `askResponses`).
    const asking: AskedResponses = { body: request.body, deployment: request.deployment };
    request = LET_GO;
    for (;;) {
      const { s, record, startedAt } = nextAttempt(trial, signal);
      const { meta } = trial;
      const link = linkSignals(signal);
      s.inFlight++;
      let iterator: AsyncIterator<ResponseStreamEvent> | undefined;
      let settled = false;
      let open = false;
      try {
        iterator = askResponses(s, asking, link.signal);
        const held: ResponseStreamEvent[] = [];
        let usage: ResponseUsage | undefined;
        for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
          const event = step.value;
          record.headersMs ??= performance.now() - startedAt;
          if (isTerminalEvent(event) && event.type !== 'error') usage = event.response.usage ?? undefined;
          if (!open) {
            if (held.length < MAX_HELD && !isTerminalEvent(event) && !event.type.startsWith('response.output_item')) {
              held.push(event);
              continue;
            }
            open = true;
            // Content went out: no other target will be asked, and nothing here needs the body.
            asking.body = undefined;
            record.firstTokenMs = performance.now() - startedAt;
            meta.target = s.id;
            meta.headersMs = record.headersMs;
            yield* held;
          }
          yield event;
        }
        settled = true;
        health.success(s.id);
        finish(s, usage && chatUsage(usage));
        meta.target = s.id;
        report(record);
        ended(s.id, trial.attempts, 'served', usage);
        return undefined;
      } catch (thrown) {
        settled = true;
        attemptFailed(trial, s, record, thrown, signal, open);
      } finally {
        s.inFlight--;
        // The client left mid-stream: the upstream call ends with it.
        if (!settled) {
          health.release(s.id);
          iterator?.return?.()?.catch(() => {});
        }
        link.dispose();
      }
    }
  }

  /**
   * Starts one attempt's Responses stream. A function of its own, so that the request it makes
   * for the target is no variable or temporary of the generator above, which lives as long as the
   * stream: the body is let go once content went out (`asking.body`), and only the target's
   * backend decides how long it keeps its own.
   */
  function askResponses(
    s: TargetState,
    asking: AskedResponses,
    signal: AbortSignal,
  ): AsyncIterator<ResponseStreamEvent> {
    const target: ResponsesBackendRequest = { body: asking.body! };
    if (asking.deployment !== undefined) target.deployment = asking.deployment;
    return s.target.backend.responses!(target, signal)[Symbol.asyncIterator]();
  }

  const speaksResponses = options.targets.every((t) => t.backend.responses !== undefined);

  return {
    ...(speaksResponses ? { responses } : {}),
    name: `router:${model}`,
    model,
    health,
    continueOnFailure,
    // A getter: a local target learns its context size once its model has loaded.
    get capabilities() {
      return sharedCapabilities(options.targets.map((t) => t.backend.capabilities));
    },
    stream,
    create,
    embed,
    async models(): Promise<ModelInfo[]> {
      return [{ id: model, object: 'model', created: 0, owned_by: 'sluice-gateway' }];
    },
    async close(): Promise<void> {
      const backends = new Set(options.targets.map((t) => t.backend));
      await Promise.allSettled([...backends].map((b) => b.close?.()));
    },
  };
}

// --- internal ---

/** Responses usage in chat's words, for the tpm count. */
function chatUsage(usage: ResponseUsage): Usage {
  return {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens,
  };
}

/**
 * What every target honours, so `/v1/models` states the model's context size and the server
 * refuses up front what a target could not honour. Undefined (everything passes) when a target
 * states nothing, as an upstream does; `maxTokens` only when every target knows it.
 */
function sharedCapabilities(list: readonly (RequestCapabilities | undefined)[]): RequestCapabilities | undefined {
  if (list.some((c) => c === undefined)) return undefined;
  const shared: Record<string, unknown> = {};
  // A feature one target refuses (`false`) is refused for the model.
  for (const caps of list) {
    for (const [key, value] of Object.entries(caps ?? {})) if (value === false) shared[key] = false;
  }
  const sizes = list.map((c) => c?.maxTokens);
  if (sizes.every((size) => size !== undefined)) shared.maxTokens = Math.min(...sizes);
  return shared as RequestCapabilities;
}

interface TargetState {
  readonly target: RouteTarget;
  readonly id: string;
  readonly priority: number;
  readonly weight: number;
  inFlight: number;
  /** rpm/tpm: the current minute's start (health clock) and what it counted. */
  windowStart: number;
  requests: number;
  tokens: number;
}

/**
 * What the routing generator returns once it has committed to an attempt the client's
 * iterator reads itself, having put the chunks to hand over in the relay's queue
 * (`Relay.release`). The generator ends then rather than wait as long as the stream lasts: a
 * suspended generator keeps what its variables last held, and a chunk kept there (its objects
 * and its JSON text) would live, and be promoted and marked by the collector, as long as the stream.
 */
const RELEASED: unique symbol = Symbol('released');

/** What the client's iterator reads directly: an `Attempt`, once committed or while routing waits on it. */
interface DirectRead {
  next(): Promise<IteratorResult<AnyChunk>>;
  readonly pullable: boolean;
  take(): AnyChunk | typeof NOT_READY;
  wait(wake: () => void): void;
}

/** The routing generator (`route`) as the relay runs it: it yields a chunk for the client, or the attempt whose next chunk it needs. */
type Routing = Generator<AnyChunk | DirectRead, typeof RELEASED | undefined, AnyChunk | undefined>;

type Step = IteratorResult<AnyChunk, undefined>;

/**
 * One request's stream as the client reads it (see `stream` in createRouterBackend), and what
 * it shares with the routing generator, which it runs: `take()` and `next()` resume it with
 * what it waits for. A class, not a literal of closures: `take()` and `wait()` run per chunk,
 * and methods on the prototype stay one call target for every request.
 */
class Relay implements PullIterator<AnyChunk> {
  /** The routing generator (set right after construction: it is given this object); let go once it has ended. */
  routing: Routing | undefined = undefined;
  /** The committed attempt the client's iterator reads directly, while nothing else has to. */
  attempt: DirectRead | undefined = undefined;
  /** Books `attempt`'s end (set with it, by `commit`). */
  committed: Committed | undefined = undefined;
  /** The last usage an upstream reported. */
  usage: Usage | undefined = undefined;
  /** The attempt whose next chunk the routing generator waits for (suspended at `yield attempt`). */
  #awaited: DirectRead | undefined = undefined;
  /** A chunk routing gave while the client waited (`#news`), served first. */
  #pending: AnyChunk | undefined = undefined;
  /** How routing ended without committing: `ENDED`, or `{ error }`; the next `next()` says it. */
  #routed: Step | { error: unknown } | undefined = undefined;
  /** `take()` met the committed attempt's failure: the next `next()` books it. */
  #failed = false;
  #failure: unknown = undefined;
  /** Chunks the generator released at once (`release`), served before anything else; `#head`: the next. */
  #queue: readonly AnyChunk[] = NO_CHUNKS;
  #head = 0;

  /** Serves `chunks` (at least one) before anything else; their usage is already counted. */
  release(chunks: readonly AnyChunk[]): void {
    this.#queue = chunks;
    this.#head = 0;
  }

  /** The next released chunk, or `NOT_READY` once none is left (the queue then lets them go). */
  #released(): AnyChunk | typeof NOT_READY {
    const queue = this.#queue;
    if (this.#head >= queue.length) return NOT_READY;
    const chunk = queue[this.#head++] as AnyChunk;
    if (this.#head === queue.length) {
      this.#queue = NO_CHUNKS;
      this.#head = 0;
    }
    return chunk;
  }

  /**
   * Runs the routing generator on (with the awaited attempt's `chunk`, undefined at its end,
   * or with its failure) until it gives the client a chunk, ends, or waits on an attempt; the
   * chunk, or `NOT_READY`.
   */
  #route(chunk: AnyChunk | undefined, failed = false, failure: unknown = undefined): AnyChunk | typeof NOT_READY {
    const routing = this.routing;
    this.#awaited = undefined;
    // (Left meanwhile: `return()` ended it while `next()` waited on the attempt.)
    if (routing === undefined) return NOT_READY;
    let step: IteratorResult<AnyChunk | DirectRead, typeof RELEASED | undefined>;
    try {
      step = failed ? routing.throw(failure) : routing.next(chunk);
    } catch (error) {
      this.routing = undefined;
      this.#routed = { error };
      return NOT_READY;
    }
    const value = step.value;
    if (step.done) {
      this.routing = undefined;
      if (value === RELEASED) return this.#released();
      this.#routed = ENDED;
      return NOT_READY;
    }
    if (value instanceof Attempt) {
      this.#awaited = value;
      return NOT_READY;
    }
    return value as AnyChunk;
  }

  /** Routing's end, once it has ended without committing (nothing left to read). */
  #routedEnd(): Promise<Step> {
    const routed = this.#routed;
    this.#routed = undefined;
    if (routed !== undefined && 'error' in routed) return Promise.reject(routed.error);
    return Promise.resolve(ENDED);
  }

  /** `#route`'s result as a step; a promise of the next when routing waits on an attempt again. */
  #stepOf(chunk: AnyChunk | typeof NOT_READY): Step | Promise<Step> {
    return chunk === NOT_READY ? this.next() : { value: chunk, done: false };
  }

  // The callbacks below are made per call, not kept per stream: a relay lives as long as its
  // stream, and on an upstream's stream `next()` runs only at its start and end.

  #onStep(step: IteratorResult<AnyChunk>): Step {
    if (step.done) {
      this.attempt = undefined;
      const committed = this.committed as Committed;
      this.committed = undefined;
      committed.served();
      return ENDED;
    }
    if (step.value.usage) this.usage = step.value.usage;
    return step;
  }

  #onError(error: unknown): Promise<Step> {
    this.attempt = undefined;
    const committed = this.committed as Committed;
    this.committed = undefined;
    return Promise.reject(committed.failed(error));
  }

  /**
   * The attempt routing waits on has news while the client waits (`wait`): routed at once, in
   * the callback that brought it. The client is woken when routing gave it a chunk, ended, or
   * found nothing (the attempt's end or failure, which `next()` hands to routing); a chunk
   * routing keeps (a preamble held back) or a failover to another target does not wake it.
   */
  #news(awaited: DirectRead, wake: () => void): void {
    const routed = this.routing !== undefined && this.#awaited === awaited ? this.#routeNext(awaited) : undefined;
    const next = this.routing === undefined ? undefined : this.#awaited;
    if (routed === NOT_READY && next?.pullable) {
      next.wait(() => this.#news(next, wake));
      return;
    }
    if (routed !== undefined && routed !== NOT_READY) this.#pending = routed;
    wake();
  }

  next(): Promise<Step> {
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      return Promise.resolve({ value: pending, done: false });
    }
    const released = this.#released();
    if (released !== NOT_READY) return Promise.resolve({ value: released, done: false });
    if (this.#failed) {
      // take() met the failure: it is booked, as when next() meets it.
      const failure = this.#failure;
      this.#failed = false;
      this.#failure = undefined;
      return this.#onError(failure);
    }
    const attempt = this.attempt;
    if (attempt !== undefined) {
      return attempt.next().then(
        (step) => this.#onStep(step),
        (error: unknown) => this.#onError(error),
      );
    }
    if (this.routing === undefined) return this.#routedEnd();
    const awaited = this.#awaited;
    if (awaited === undefined) return Promise.resolve(this.#stepOf(this.#route(undefined)));
    return awaited.next().then(
      (step) => this.#stepOf(this.#route(itemOf(step))),
      (error: unknown) => this.#stepOf(this.#route(undefined, true, error)),
    );
  }

  take(): AnyChunk | typeof NOT_READY {
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      return pending;
    }
    const released = this.#released();
    if (released !== NOT_READY) return released;
    const attempt = this.attempt;
    if (attempt !== undefined) {
      if (this.#failed || !attempt.pullable) return NOT_READY;
      let chunk: AnyChunk | typeof NOT_READY;
      try {
        chunk = attempt.take();
      } catch (error) {
        this.#failed = true;
        this.#failure = error;
        return NOT_READY;
      }
      if (chunk !== NOT_READY && chunk.usage) this.usage = chunk.usage;
      return chunk;
    }
    if (this.routing === undefined) return NOT_READY;
    const awaited = this.#awaited;
    // Not started, or at a chunk it gave: on to what it gives next.
    if (awaited === undefined) return this.#route(undefined);
    return awaited.pullable ? (this.#routeNext(awaited) ?? NOT_READY) : NOT_READY;
  }

  /**
   * Routes what the attempt routing waits on has now: its next chunk, or its failure; what
   * routing gives the client, or undefined when the attempt had nothing (its end or failure
   * is then `next()`'s to hand to routing).
   */
  #routeNext(awaited: DirectRead): AnyChunk | typeof NOT_READY | undefined {
    let chunk: AnyChunk | typeof NOT_READY;
    try {
      chunk = awaited.take();
    } catch (error) {
      return this.#route(undefined, true, error);
    }
    return chunk === NOT_READY ? undefined : this.#route(chunk);
  }

  wait(wake: () => void): void {
    const attempt = this.attempt;
    const awaited = this.routing === undefined ? undefined : this.#awaited;
    if (this.#pending !== undefined || this.#head < this.#queue.length || this.#failed) wake();
    else if (attempt !== undefined) {
      if (attempt.pullable) attempt.wait(wake);
      else wake();
    } else if (awaited?.pullable) awaited.wait(() => this.#news(awaited, wake));
    // Not started, at a chunk it gave, or ended: take() or next() goes on.
    else wake();
  }

  return(): Promise<Step> {
    this.#queue = NO_CHUNKS;
    this.#pending = undefined;
    this.attempt = undefined;
    this.#awaited = undefined;
    this.#routed = undefined;
    this.#failed = false;
    this.#failure = undefined;
    const committed = this.committed;
    if (committed !== undefined) {
      this.committed = undefined;
      committed.left();
      return Promise.resolve(ENDED);
    }
    const routing = this.routing;
    this.routing = undefined;
    if (routing !== undefined) {
      try {
        routing.return(undefined);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return Promise.resolve(ENDED);
  }
}

/** One streamed attempt, as its end is booked. */
interface Booked<K extends ApiKind> {
  s: TargetState;
  attempt: Attempt<K>;
  record: AttemptRecord;
  meta: BackendMeta;
  attempts: number;
}

/** What `commit` leaves the relay: the booking of its attempt's end. */
interface Committed {
  served(): void;
  /** Books the failure; returns the error the request ends with. */
  failed(thrown: unknown): unknown;
  /** The client left before the end. */
  left(): void;
}

const ENDED: Step = Object.freeze({ value: undefined, done: true });

/** What a Responses request asks of each attempt; `body` until one has sent content. */
interface AskedResponses {
  body: ResponsesBackendRequest['body'] | undefined;
  deployment: string | undefined;
}

/** Stands for a request whose body was taken over (a generator's parameter is held as long as it runs). */
const LET_GO: ResponsesBackendRequest = Object.freeze({ body: Object.freeze({}) }) as ResponsesBackendRequest;

const NO_CHUNKS: readonly AnyChunk[] = Object.freeze([]);

interface Verdict {
  reason: string;
  failover: boolean;
  /** Counts towards the target's breaker. */
  breaker: boolean;
  status?: number;
  cooldownMs?: number;
}

interface Failure {
  state: TargetState;
  error: SluiceError;
  verdict: Verdict;
}

/** One request's attempts so far (non-streaming and Responses). */
interface Trial {
  meta: BackendMeta;
  tried: Set<TargetState>;
  failures: Failure[];
  attempts: number;
}

const TIMEOUT_REASONS: Record<TimeoutError['phase'], string> = {
  headers: 'headers-timeout',
  'first-token': 'first-token-timeout',
  idle: 'stall',
  total: 'timeout',
};

/**
 * One upstream attempt: its own abort (linked to the request's), its time limits, and how
 * far it got. The idle limit counts only while the router waits for the upstream, so a
 * slow reader downstream never looks like a stalled upstream.
 */
class Attempt<K extends ApiKind> {
  readonly startedAt = performance.now();
  readonly continuing: boolean;
  /** Aborted by our time-outs, by leaving the attempt, and by the request's own signal (followed, not linked: one controller per attempt). */
  readonly #controller = new AbortController();
  /** Stops the controller following the request's signal. */
  readonly #unfollow: () => void;
  readonly #iterator: AsyncIterator<ApiTypes[K]['chunk']>;
  /** The same iterator when it can be pulled without a promise per chunk (an HTTP target's stream). */
  readonly #pull: PullIterator<ApiTypes[K]['chunk']> | undefined;
  readonly #state: TargetState;
  readonly #idleMs: number;
  #headersAt: number | undefined;
  #firstTokenAt: number | undefined;
  #headersTimer: ReturnType<typeof setTimeout> | undefined;
  #firstTokenTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #waitingSince = 0;
  #waiting = false;
  #done = false;

  constructor(state: TargetState, request: BackendRequest<K>, signal: AbortSignal, continuing = false) {
    this.#state = state;
    this.continuing = continuing;
    state.inFlight++;
    this.#unfollow = followSignal(this.#controller, signal);
    const timeouts = state.target.timeouts;
    this.#idleMs = timeouts.idleMs ?? 0;
    if (timeouts.headersMs) {
      const ms = timeouts.headersMs;
      this.#headersTimer = setTimeout(() => this.#abort(new TimeoutError('headers', ms)), ms);
    }
    if (timeouts.firstTokenMs) {
      const ms = timeouts.firstTokenMs;
      this.#firstTokenTimer = setTimeout(() => this.#abort(new TimeoutError('first-token', ms)), ms);
    }
    let iterable: AsyncIterable<ApiTypes[K]['chunk']>;
    try {
      iterable = state.target.backend.stream(request, this.#controller.signal);
      this.#iterator = iterable[Symbol.asyncIterator]();
    } catch (error) {
      this.#iterator = failedIterator(error);
      this.#pull = undefined;
      return;
    }
    this.#pull = isPullIterator(this.#iterator) ? this.#iterator : undefined;
    // An HTTP target's stream tells when its headers came (the client's ResponseStream.meta).
    const headers = (iterable as { meta?: unknown }).meta;
    if (headers instanceof Promise)
      headers.then(
        () => this.#headers(),
        () => {},
      );
  }

  /**
   * The upstream's next chunk. Without an idle limit and once headers came, the upstream's
   * own promise is handed on: nothing added per chunk.
   */
  next(): Promise<IteratorResult<ApiTypes[K]['chunk']>> {
    if (this.#idleMs > 0) {
      this.#waiting = true;
      this.#waitingSince = performance.now();
      return this.#iterator.next().then((step) => this.#arrived(step));
    }
    if (this.#headersAt === undefined) return this.#iterator.next().then((step) => this.#arrived(step));
    return this.#iterator.next();
  }

  /** The upstream's stream can be read with `take()` / `wait()`. */
  get pullable(): boolean {
    return this.#pull !== undefined;
  }

  /** The upstream's next chunk if it is here now (any stream); else `NOT_READY`. */
  ready(): ApiTypes[K]['chunk'] | typeof NOT_READY {
    return this.#pull !== undefined ? this.take() : NOT_READY;
  }

  /** The upstream's next chunk if it is here now (`PullIterator.take`); only when `pullable`. */
  take(): ApiTypes[K]['chunk'] | typeof NOT_READY {
    const chunk = (this.#pull as PullIterator<ApiTypes[K]['chunk']>).take();
    if (chunk !== NOT_READY) {
      this.#waiting = false;
      // A chunk may be taken before the headers' own promise has told of them.
      if (this.#headersAt === undefined) this.#headers();
    }
    return chunk;
  }

  /** `PullIterator.wait` on the upstream's stream: the idle limit counts from here. Only when `pullable`. */
  wait(wake: () => void): void {
    if (this.#idleMs > 0 && !this.#waiting) {
      this.#waiting = true;
      this.#waitingSince = performance.now();
    }
    (this.#pull as PullIterator<ApiTypes[K]['chunk']>).wait(wake);
  }

  /** The upstream iterator ended well: nothing to cancel. (After a throw, cancelling it again is harmless.) */
  finished(): void {
    this.#done = true;
  }

  /** (Called through a closure made per `next()`, not kept per attempt: see `Relay`.) */
  #arrived(step: IteratorResult<ApiTypes[K]['chunk']>): IteratorResult<ApiTypes[K]['chunk']> {
    this.#waiting = false;
    if (this.#headersAt === undefined) this.#headers();
    return step;
  }

  /** The first content chunk arrived: first-token limit off, idle limit on. */
  opened(): void {
    this.#firstTokenAt = performance.now();
    clearTimeout(this.#firstTokenTimer);
    this.#firstTokenTimer = undefined; // a timer kept here would be held (with its closure) as long as the stream
    if (this.#idleMs > 0) this.#idleTimer = setTimeout(() => this.#checkIdle(), this.#idleMs);
  }

  timings(): Pick<AttemptRecord, 'headersMs' | 'firstTokenMs'> {
    const out: Pick<AttemptRecord, 'headersMs' | 'firstTokenMs'> = {};
    if (this.#headersAt !== undefined) out.headersMs = this.#headersAt - this.startedAt;
    if (this.#firstTokenAt !== undefined) out.firstTokenMs = this.#firstTokenAt - this.startedAt;
    return out;
  }

  /** Our own time-out says why better than the AbortError the backend ended with. */
  errorOf(thrown: unknown): SluiceError {
    const reason: unknown = this.#controller.signal.reason;
    if (this.#controller.signal.aborted && reason instanceof TimeoutError) {
      if (thrown instanceof TimeoutError || thrown instanceof AbortError || !(thrown instanceof Error)) return reason;
    }
    return toError(thrown);
  }

  /** Ends the attempt; one left unfinished (failed over, client gone) is cancelled upstream at once. */
  dispose(): void {
    clearTimeout(this.#headersTimer);
    clearTimeout(this.#firstTokenTimer);
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#state.inFlight--;
    if (!this.#done) {
      if (!this.#controller.signal.aborted)
        this.#controller.abort(new AbortError('The gateway left this upstream attempt'));
      Promise.resolve()
        .then(() => this.#iterator.return?.())
        .catch(() => {});
    }
    this.#unfollow();
  }

  #headers(): void {
    if (this.#headersAt !== undefined) return;
    this.#headersAt = performance.now();
    clearTimeout(this.#headersTimer);
    this.#headersTimer = undefined;
  }

  #checkIdle(): void {
    const waited = this.#waiting ? performance.now() - this.#waitingSince : 0;
    if (waited >= this.#idleMs) this.#abort(new TimeoutError('idle', this.#idleMs));
    else this.#idleTimer = setTimeout(() => this.#checkIdle(), this.#idleMs - waited);
  }

  #abort(reason: TimeoutError): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }
}

/** Weighted random choice; undefined for an empty list. */
function weighted<T extends { weight: number }>(items: T[], random: () => number): T | undefined {
  if (items.length <= 1) return items[0];
  let total = 0;
  for (const item of items) total += item.weight;
  let r = random() * total;
  for (const item of items) {
    r -= item.weight;
    if (r < 0) return item;
  }
  return items.at(-1);
}

/**
 * A chunk sent before any content that a failover may drop: Azure's prompt-filter chunk, a
 * role-only chunk, an annotation. Text, refusals, tool calls, a finish or usage end the preamble.
 */
function isPreamble(chunk: AnyChunk): boolean {
  if (chunk.usage) return false;
  const choices = chunk.choices;
  for (let i = 0; i < choices.length; i++) {
    if ((choices[i] as { finish_reason?: unknown }).finish_reason != null) return false;
  }
  return tokenDeltas(chunk) === 0;
}

/** Azure's 429 for a model whose every target is cooling down or at its quota. */
function rateLimitedEverywhere(model: string, retryAfterMs: number): RateLimitError {
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  const message = `Every target of model "${model}" is rate-limited. Please retry after ${seconds} second${seconds === 1 ? '' : 's'}.`;
  return new RateLimitError(message, {
    status: 429,
    body: { error: { code: '429', message } },
    rateLimit: { retryAfterMs: ms },
  });
}

/** A 503 for a model whose every target is taken out by its breaker. */
function takenOut(model: string, probeInMs: number | undefined): ServerError {
  const ms = probeInMs === undefined ? undefined : Math.max(0, Math.ceil(probeInMs));
  const when = ms === undefined ? '' : ` Please retry after ${Math.max(1, Math.ceil(ms / 1000))} seconds.`;
  const message = `Every target of model "${model}" failed repeatedly and is taken out for now.${when}`;
  return new ServerError(message, {
    status: 503,
    body: { error: { code: 'ServiceUnavailable', message } },
    ...(ms === undefined ? {} : { rateLimit: { retryAfterMs: ms } }),
  });
}

/** Among failures of several targets, the one that says most: an upstream's own answer first. */
function mostTelling(failures: Failure[]): SluiceError {
  const rank = (e: SluiceError) =>
    e instanceof ApiError ? 4 : e instanceof TimeoutError ? 3 : e instanceof ConnectionError ? 1 : 2;
  let best = failures[0] as Failure;
  for (const f of failures) if (rank(f.error) >= rank(best.error)) best = f;
  return best.error;
}

async function createOn<K extends ApiKind>(
  backend: Backend,
  request: BackendRequest<K>,
  signal: AbortSignal,
): Promise<ApiTypes[K]['response']> {
  const withCreate = backend as Backend & { create?: RouterBackend['create'] };
  if (withCreate.create) return withCreate.create(request, signal);
  const accumulator = createAccumulator(request.kind);
  const body = { ...request.body, stream_options: { include_usage: true } };
  for await (const chunk of backend.stream({ kind: request.kind, body }, signal)) accumulator.push(chunk);
  return accumulator.response();
}

/** A target's embeddings; one that serves none answers as Azure does for a chat model. */
function embedOn(
  backend: Backend,
  request: EmbeddingsBackendRequest,
  signal: AbortSignal,
): Promise<EmbeddingsResponse> {
  if (backend.embed) return backend.embed(request, signal);
  const message = `The embeddings operation does not work with the target ${backend.name}: it serves no embeddings.`;
  return Promise.reject(
    new BadRequestError(message, { status: 400, body: errorBody('OperationNotSupported', message) }),
  );
}

/** A sink that throws must not break a request. */
function safely(call: () => void): void {
  try {
    call();
  } catch {
    // the event sink's problem, not the request's
  }
}
