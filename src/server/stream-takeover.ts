/**
 * Stream takeover: when the instance producing a resumable stream dies (its lease lapsed
 * before an end was logged) and the stream's model has `continue_on_failure`, the one
 * instance that claims it (`StreamLog.claim`) continues the answer from the logged partial:
 * the partial rebuilt from the logged frames, the continuation request built by the
 * gateway's one rule (protocol/continuation.ts: the partial as prefill, never inside a tool
 * call, one choice only), run through this instance's backend for the model, its chunks
 * re-spelled under the first answer's identity and appended to the same log from the next
 * position, ending with `[DONE]`. Every reader, on any instance, so reads one whole answer.
 * When the answer cannot be continued (the rule says no, no backend here serves the model,
 * every target fails), the log ends with the same `stream_incomplete` frame a reader of an
 * orphaned stream gets.
 * @module
 */
import type { Backend } from '../backend.js';
import { StreamErrorFrame } from '../errors.js';
import { createAccumulator } from '../protocol/accumulate.js';
import { continuation, type Origin, originOf, respell } from '../protocol/continuation.js';
import { errorBody } from '../protocol/error-body.js';
import { readStreamEvent, STREAM_DONE } from '../protocol/events.js';
import { checkChunk, shapeLimitsFor } from '../protocol/shape.js';
import { chunkFrame, DONE_FRAME } from '../protocol/sse-relay.js';
import { textDeltas } from '../protocol/text.js';
import { createDecoder } from '../sse/decoder.js';
import { encodeData } from '../sse/encoder.js';
import type { StreamEntry, TakeoverPlan } from '../streams/log.js';
import { continueStream, type ResumableStreams, StreamEndedError, type StreamProducer } from '../streams/producer.js';
import type { AnyChunk, AnyResponse, ApiKind } from '../types.js';
import { withFilterResults } from './generation.js';
import type { Dialect } from './routes.js';

/** What an instance needs to take streams over. */
export interface TakeoverContext {
  streams: ResumableStreams;
  /** The backend this instance serves a model name with (the router of a configured model). */
  backendFor(name: string | undefined): Backend | undefined;
  /** Live generations, so that closing the server aborts a takeover too. */
  live: Set<AbortController>;
}

/** The frame that ends a stream whose producer is gone before its end was logged. */
export const INCOMPLETE_FRAME = encodeData(
  JSON.stringify(
    errorBody(
      'stream_incomplete',
      'The instance producing this stream stopped before the end (it crashed or lost its log); ' +
        'the frames above are all there is. Send the request again for a whole answer.',
    ),
  ),
);

/**
 * The takeover plan to log at a stream's start: set only when the model continues on
 * failure (a router with `continue_on_failure`), since it costs the request body in the log.
 *
 * @example
 * ```ts
 * beginStream({ ...streams, keyHash, takeover: takeoverPlan(backend, { kind, dialect, deployment, apiVersion, body }) }, controller);
 * ```
 */
export function takeoverPlan(
  backend: Backend,
  request: {
    kind: ApiKind;
    dialect: Dialect;
    deployment?: string | undefined;
    apiVersion?: string | undefined;
    body: object;
  },
): TakeoverPlan | undefined {
  if ((backend as { continueOnFailure?: unknown }).continueOnFailure !== true) return undefined;
  const { kind, dialect, deployment, apiVersion, body } = request;
  const plan: TakeoverPlan = { kind, dialect, body: body as Record<string, unknown> };
  if (deployment !== undefined) plan.deployment = deployment;
  if (apiVersion !== undefined) plan.apiVersion = apiVersion;
  return plan;
}

/**
 * Continues stream `id`, claimed by this instance with `entries` logged, to its end. Never
 * throws: whatever happens, the log gets an end entry.
 *
 * @example
 * ```ts
 * const entries = await streams.log.claim(id);
 * if (entries) void takeOver(context, id, plan, entries);
 * ```
 */
export async function takeOver(
  context: TakeoverContext,
  id: string,
  plan: TakeoverPlan,
  entries: readonly StreamEntry[],
): Promise<void> {
  const controller = new AbortController();
  context.live.add(controller);
  let producer: StreamProducer | undefined;
  try {
    producer = continueStream(context.streams, id, entries.at(-1)?.position ?? 0, controller);
    // Nobody reads this producer directly: it goes on while readers follow the log.
    producer.detached();
    const answer = loggedAnswer(plan.kind, entries);
    const choices = answer?.partial.choices ?? [];
    if (choices.length > 0 && choices.every((choice) => choice.finish_reason != null)) {
      // Died between the last chunk and [DONE]: the answer is whole.
      producer.frame(DONE_FRAME, 'done');
      return;
    }
    const next = answer && continuation(plan.kind, plan.body as never, answer.partial, answer.used);
    const backend = context.backendFor(plan.deployment);
    if (!answer || !next || !backend) {
      producer.frame(INCOMPLETE_FRAME, 'error');
      return;
    }
    const request = { kind: plan.kind, body: next, ...(plan.deployment ? { deployment: plan.deployment } : {}) };
    for await (const chunk of backend.stream(request, controller.signal)) {
      // The continuation's own prompt-filter and role chunks: the answer has had them.
      if (chunk.choices.length === 0 && !chunk.usage) continue;
      respell(chunk, answer.origin);
      if (isEmpty(chunk)) continue;
      producer.frame(chunkFrame(plan.dialect === 'azure' ? withFilterResults(chunk) : chunk));
    }
    producer.frame(DONE_FRAME, 'done');
  } catch {
    const reason: unknown = controller.signal.reason;
    if (producer) {
      if (reason instanceof StreamEndedError) producer.endFrame(reason);
      else producer.frame(INCOMPLETE_FRAME, 'error');
    }
  } finally {
    producer?.dispose();
    context.live.delete(controller);
  }
}

// --- internal ---

/**
 * The answer as logged: the partial (the accumulator over the logged chunks), the content
 * chunks sent (a continuation's token budget is cut by these) and the first answer's
 * identity; undefined when a frame is not a chunk or no answer chunk was logged. Frames are
 * read as any SSE answer is (the decoder, the event parser, the shape check): another
 * instance wrote them, and a shared Redis is no more trusted than an upstream.
 */
function loggedAnswer(
  kind: TakeoverPlan['kind'],
  entries: readonly StreamEntry[],
): { partial: AnyResponse; used: number; origin: Origin } | undefined {
  const accumulator = createAccumulator(kind);
  const limits = shapeLimitsFor(kind);
  let used = 0;
  let origin: Origin | undefined;
  const decoder = createDecoder({
    onEvent(event) {
      const read = readStreamEvent(event);
      if (read === STREAM_DONE || read instanceof StreamErrorFrame) throw read;
      const chunk = checkChunk(read, limits);
      accumulator.push(chunk as never);
      if (chunk.choices.length > 0) origin ??= originOf(chunk);
      if (textDeltas(chunk).length > 0) used++;
    },
  });
  const encoder = new TextEncoder();
  try {
    for (const { frame } of entries) decoder.feed(encoder.encode(frame));
    if (decoder.end().unterminated) return undefined;
  } catch {
    return undefined;
  }
  return origin && { partial: accumulator.response(), used, origin };
}

/** A chunk that says nothing once re-spelled (a role-only chunk): no usage, no finish, empty deltas. */
function isEmpty(chunk: AnyChunk): boolean {
  if (chunk.usage) return false;
  for (const choice of chunk.choices) {
    const c = choice as { delta?: object; finish_reason?: unknown };
    if (c.finish_reason != null || c.delta === undefined || Object.keys(c.delta).length > 0) return false;
  }
  return true;
}
