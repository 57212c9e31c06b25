/**
 * The Responses API in the server: `POST /v1/responses` (and Azure's `/openai/v1/responses`),
 * streamed as typed events (`event: <type>` + `data: <json>`, every event with its
 * `sequence_number`, no `[DONE]`) or answered with the final `Response` object; and
 * `GET /v1/responses/{id}` (`?stream=true&starting_after=N` resumes a stream).
 *
 * A backend that speaks Responses itself (an upstream: `Backend.responses`) has its events
 * relayed as they came; it keeps its own responses. Any other backend (the local model) is
 * asked for a chat stream, turned into Responses events by protocol/responses/from-chat.ts;
 * those responses are kept here (`store`, default true) for `previous_response_id` and
 * `GET`, and their events are logged (the resumable streams' log, src/streams) for resuming. `background: true` runs
 * the generation on without the client: it may leave and resume later.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { abortError } from '../abort.js';
import { type Backend, type BackendRequest, failedIterator, type ResponsesBackendRequest } from '../backend.js';
import { OverloadedError, StreamTruncatedError } from '../errors.js';
import { describeFailure } from '../protocol/error-body.js';
import { validateRequest } from '../protocol/request.js';
import { createResponsesAccumulator } from '../protocol/responses/accumulate.js';
import { chatRequestFromResponses, responsesProblem } from '../protocol/responses/chat-request.js';
import { isTerminalEvent } from '../protocol/responses/events.js';
import { createResponsesFromChat, type ResponsesFromChat } from '../protocol/responses/from-chat.js';
import type {
  ResponseCreateRequest,
  ResponseInputItem,
  ResponseObject,
  ResponseStreamEvent,
} from '../protocol/responses/types.js';
import { isObject } from '../protocol/shape.js';
import { sourceJsonOf } from '../protocol/source-json.js';
import { encodeEvent } from '../sse/index.js';
import type { FollowItem, StreamLog } from '../streams/log.js';
import type { ChatCompletionChunk } from '../types.js';
import { handOver } from '../util/hand-over.js';
import { type ErrorReply, invalidRequest, replyForError, responseNotFound } from './error-replies.js';
import { type ClientTracker, routed, SSE_HEADERS, startHeartbeat, timeFirstToken, trackClient } from './generation.js';
import type { ServerMetrics } from './metrics.js';
import type { GenerationReport } from './observer.js';
import type { ResponseStore, StoredResponse } from './response-store.js';
import type { Dialect, Route } from './routes.js';
import { sendJson, sendReply, writeHead } from './send.js';
import { TurnWriter } from './turn-writer.js';

/**
 * Where kept responses and their events live (one per server). The log is the resumable
 * streams' (src/streams): a response's event with sequence number n is its frame at
 * position n + 1.
 */
export interface KeptResponses {
  store: ResponseStore;
  log: StreamLog;
}

/** What one Responses request needs; built by the app. */
export interface ResponsesCall {
  /** Hash of the caller's credential (streams/producer.ts `keyHashOf`): only its holder resumes the stream. */
  keyHash: string;
  dialect: Dialect;
  /** The name the client asked for (`model`). */
  deployment: string | undefined;
  backend: Backend;
  metrics: ServerMetrics;
  heartbeatMs: number;
  /** performance.now() when the request arrived. */
  startedAt: number;
  live: Set<AbortController>;
  report: GenerationReport;
  kept: KeptResponses;
}

/**
 * Checks a Responses request body as far as the server reads it (the rest is the backend's
 * or the translator's to judge). Undefined when fine.
 *
 * @example
 * checkResponsesBody({ input: 'Hi', stream: 'yes' }); // { message: 'stream must be a boolean.', param: 'stream', ... }
 */
export function checkResponsesBody(body: unknown): { message: string; param: string | null; code: string } | undefined {
  if (!isObject(body)) return { message: 'The request body must be a JSON object.', param: null, code: 'invalid_type' };
  for (const [param, type] of FIELD_TYPES) {
    const value = body[param];
    if (value !== undefined && value !== null && typeof value !== type) {
      return { message: `${param} must be a ${type}.`, param, code: 'invalid_type' };
    }
  }
  return undefined;
}

/** Answers `POST /responses`: relayed from an upstream, or built from the backend's chat stream. */
export async function serveResponses(
  res: ServerResponse,
  call: ResponsesCall,
  body: ResponseCreateRequest,
): Promise<void> {
  if (call.backend.responses) return relay(res, call, body);
  const { kept, dialect } = call;
  const stored = body.store !== false;
  const background = body.background === true;
  if (background && !stored) {
    return sendReply(
      res,
      invalidRequest(dialect, {
        message: 'background: true needs store: true (a background response is kept so that it can be read later).',
        param: 'background',
        code: 'invalid_value',
      }),
    );
  }
  let history: ResponseInputItem[] = [];
  const previousId = body.previous_response_id;
  if (typeof previousId === 'string') {
    // Another credential's response is as unknown as a missing one.
    const previous = kept.store.get(previousId);
    if (previous?.keyHash !== call.keyHash) {
      return sendReply(res, responseNotFound(dialect, previousId, 'previous_response_id'));
    }
    history = [...previous!.input, ...(previous!.response().output as ResponseInputItem[])];
  }
  const mapped = chatRequestFromResponses(body, history);
  if (!mapped.ok) return sendReply(res, invalidRequest(dialect, mapped.problem));
  // The chat request is checked as any chat request is, with what this backend can honour.
  const validated = validateRequest('chat', mapped.body, { capabilities: call.backend.capabilities });
  if (!validated.ok) return sendReply(res, invalidRequest(dialect, responsesProblem(validated.problem)));

  const id = `resp_${randomUUID().replace(/-/g, '')}`;
  const translator = createResponsesFromChat({
    id,
    model: call.deployment ?? call.backend.name,
    request: { ...body, store: stored },
  });
  // Kept with its input only when stored (a later `previous_response_id` continues from it).
  const keep: StoredResponse | undefined = stored
    ? { response: () => translator.response(), input: [...history, ...inputItems(body.input)], keyHash: call.keyHash }
    : undefined;
  const request: BackendRequest<'chat'> = { kind: 'chat', body: validated.body };
  if (call.deployment !== undefined) request.deployment = call.deployment;
  let failure: unknown;
  // The chat request goes to the backend once: `generate` lives as long as the answer, and must
  // not keep the conversation with it.
  const asked = handOver(request);
  const generate = (signal: AbortSignal) => {
    const events = chatEvents(startChat(call.backend, asked(), signal), translator, signal, (error) => {
      failure = error;
    });
    return keep ? logged(events, id, translator, kept, keep) : events;
  };

  if (background) {
    // The generation belongs to the server, not to this connection.
    const controller = new AbortController();
    call.live.add(controller);
    const iterator = generate(controller.signal)[Symbol.asyncIterator]();
    try {
      await iterator.next();
    } catch (error) {
      call.live.delete(controller);
      return sendReply(res, replyFor(dialect, error));
    }
    void (async () => {
      try {
        while (!(await iterator.next()).done) {}
      } catch {
        // Already recorded as the response's failure.
      } finally {
        call.live.delete(controller);
      }
    })();
    if (body.stream !== true) return sendJson(res, 200, translator.response());
    const follow = new AbortController();
    return writeEvents(res, call, follow, (signal) => followEvents(kept.log, id, -1, signal));
  }

  if (body.stream === true) return writeEvents(res, call, new AbortController(), generate);

  const controller = new AbortController();
  const tracker = trackClient(res, controller);
  call.live.add(controller);
  call.metrics.generations++;
  try {
    for await (const _ of generate(controller.signal)) if (tracker.gone) break;
    if (tracker.gone) return;
    if (failure !== undefined) return sendReply(res, replyFor(dialect, failure));
    const response = translator.response();
    countUsage(call, response);
    sendJson(res, 200, response);
  } catch (error) {
    if (!tracker.gone) sendReply(res, replyFor(dialect, reasonOf(error, controller)));
  } finally {
    tracker.dispose();
    call.live.delete(controller);
  }
}

/**
 * Answers `GET /responses/{id}`: the kept response as it stands, or with `stream=true` its
 * events after `starting_after`, then the live ones to the end.
 */
export async function serveStoredResponse(
  res: ServerResponse,
  route: Extract<Route, { type: 'response' }>,
  call: Omit<ResponsesCall, 'backend' | 'deployment'>,
): Promise<void> {
  const { kept, dialect } = call;
  if (!route.stream) {
    const stored = kept.store.get(route.id);
    if (stored?.keyHash !== call.keyHash) return sendReply(res, responseNotFound(dialect, route.id));
    return sendJson(res, 200, stored!.response());
  }
  // Another credential's stream is as unknown as a missing one.
  const info = await kept.log.info(route.id);
  if (info?.keyHash !== call.keyHash) return sendReply(res, responseNotFound(dialect, route.id));
  return writeEvents(res, call, new AbortController(), (signal) =>
    followEvents(kept.log, route.id, route.startingAfter, signal),
  );
}

// --- internal ---

const FIELD_TYPES: ReadonlyArray<readonly [string, string]> = [
  ['model', 'string'],
  ['stream', 'boolean'],
  ['store', 'boolean'],
  ['background', 'boolean'],
  ['previous_response_id', 'string'],
  ['instructions', 'string'],
  ['max_output_tokens', 'number'],
];

/** A relay of an upstream's Responses API: its events as they came, or its whole answer. */
async function relay(res: ServerResponse, call: ResponsesCall, body: ResponseCreateRequest): Promise<void> {
  const backend = call.backend;
  // What a routing backend reports (the target): all that is kept of a streamed request, whose
  // body goes to the backend alone (an open stream must not keep a whole conversation).
  const routing: Routing = { meta: {} };
  if (body.stream === true) {
    // The starter lives as long as the stream: it hands the request over once.
    const asked = handOver(askOf(body, call, routing));
    return writeEvents(res, call, new AbortController(), (signal) => backend.responses!(asked(), signal), routing);
  }
  const request = askOf(body, call, routing);
  const controller = new AbortController();
  const tracker = trackClient(res, controller);
  call.live.add(controller);
  call.metrics.generations++;
  try {
    let response: ResponseObject;
    if (backend.createResponse) response = await backend.createResponse(request, controller.signal);
    else {
      const acc = createResponsesAccumulator();
      for await (const event of backend.responses!(request, controller.signal)) acc.push(event);
      response = acc.response();
    }
    if (tracker.gone) return;
    countUsage(call, response);
    sendJson(res, 200, response, routed({}, request));
  } catch (error) {
    if (!tracker.gone) sendReply(res, withTarget(replyFor(call.dialect, reasonOf(error, controller)), request));
  } finally {
    tracker.dispose();
    call.live.delete(controller);
  }
}

/** What the server keeps of a Responses request: what a routing backend reports in its `meta`. */
type Routing = Pick<ResponsesBackendRequest, 'meta'>;

/** The request for the backend: `body`, the name asked for, and `routing`'s meta to fill. */
function askOf(
  body: ResponseCreateRequest,
  call: Pick<ResponsesCall, 'deployment'>,
  routing: Routing,
): ResponsesBackendRequest {
  const request: ResponsesBackendRequest = { body };
  if (call.deployment !== undefined) request.deployment = call.deployment;
  if (routing.meta !== undefined) request.meta = routing.meta;
  return request;
}

/**
 * The chat stream's chunks as Responses events. An error before the first chunk is thrown
 * (the server can still answer with its status); a later one becomes `response.failed`
 * (and `onFailure` learns it); an abort is thrown.
 */
async function* chatEvents(
  chunks: AsyncIterator<ChatCompletionChunk>,
  translator: ResponsesFromChat,
  signal: AbortSignal,
  onFailure: (error: unknown) => void,
): AsyncGenerator<ResponseStreamEvent> {
  let settled = false;
  try {
    let step = await chunks.next();
    yield* translator.start();
    try {
      while (!step.done) {
        yield* translator.push(step.value);
        step = await chunks.next();
      }
    } catch (error) {
      settled = true;
      if (signal.aborted) throw abortError(signal);
      onFailure(error);
      yield* translator.fail(failureOf(error));
      return;
    }
    settled = true;
    yield* translator.finish();
  } finally {
    // Leaving early (client gone): let the backend's generator run its cleanup.
    if (!settled) chunks.return?.()?.catch(() => {});
  }
}

/**
 * The backend's chat stream for `request`, started here rather than in `chatEvents`, whose frame
 * lives as long as the answer: the request is then the backend's alone to keep. A backend that
 * throws at once fails the stream's first step, as one that fails later does.
 */
function startChat(
  backend: Backend,
  request: BackendRequest<'chat'>,
  signal: AbortSignal,
): AsyncIterator<ChatCompletionChunk> {
  try {
    return backend.stream(request, signal)[Symbol.asyncIterator]();
  } catch (error) {
    return failedIterator(error);
  }
}

/**
 * Keeps a response from its first event on (one refused before it is never kept) and logs
 * each event; when the generation stops early, it is recorded as failed.
 */
async function* logged(
  events: AsyncGenerator<ResponseStreamEvent>,
  id: string,
  translator: ResponsesFromChat,
  kept: KeptResponses,
  keep: StoredResponse,
): AsyncGenerator<ResponseStreamEvent> {
  const append = (event: ResponseStreamEvent) => {
    if (event.sequence_number === 0) {
      kept.store.put(id, keep);
      kept.log.open(id, { keyHash: keep.keyHash });
    }
    const end = isTerminalEvent(event) ? (event.type === 'response.failed' ? 'error' : 'done') : undefined;
    kept.log.append(id, (event.sequence_number ?? 0) + 1, eventFrame(event), end);
  };
  try {
    for await (const event of events) {
      append(event);
      yield event;
    }
  } finally {
    if (translator.sequence > 0) {
      for (const event of translator.fail(CANCELLED)) append(event);
      kept.store.settle(id);
    }
  }
}

/**
 * A logged response's events after sequence number `after`, then the live ones to the end.
 * A log that lost the stream (too long, its producer gone) ends it with an error.
 */
async function* followEvents(
  log: StreamLog,
  id: string,
  after: number,
  signal: AbortSignal,
): AsyncGenerator<ResponseStreamEvent> {
  for await (const item of log.follow(id, after + 1, signal) as AsyncIterable<FollowItem>) {
    if ('incomplete' in item) throw new StreamTruncatedError('no-done', INCOMPLETE_LOG);
    const data = item.frame.slice(item.frame.indexOf('data: ') + 6);
    yield JSON.parse(data) as ResponseStreamEvent;
  }
  if (signal.aborted) throw abortError(signal);
}

const INCOMPLETE_LOG =
  'This response can no longer be followed to its end (its events were not all kept); GET the response instead of streaming it.';

const CANCELLED = {
  code: 'cancelled',
  message: 'The response stopped before its end: the client closed the connection or the server shut down.',
};

/**
 * Writes events as SSE, OpenAI's framing: `event: <type>` and `data: <json>` per event, no
 * `[DONE]`. The status follows the first result: an error before any event is an HTTP
 * error answer; after, an `error` event ends the stream (unless a terminal event already
 * did). A heartbeat comment keeps idle proxies from cutting a slow first event.
 */
async function writeEvents(
  res: ServerResponse,
  call: Pick<ResponsesCall, 'dialect' | 'heartbeatMs' | 'metrics' | 'live' | 'report' | 'startedAt'>,
  controller: AbortController,
  open: (signal: AbortSignal) => AsyncIterable<ResponseStreamEvent>,
  request: Routing = {},
): Promise<void> {
  const { metrics, report } = call;
  const tracker: ClientTracker = trackClient(res, controller);
  call.live.add(controller);
  metrics.generations++;
  metrics.activeStreams++;
  let headersSent = false;
  let terminal = false;
  let lastSequence = -1;
  const commit = () => {
    headersSent = true;
    writeHead(res, 200, routed({ ...SSE_HEADERS }, request));
  };
  const out = new TurnWriter(res);
  const heartbeat = startHeartbeat(out, tracker, metrics, call.heartbeatMs, () => {
    if (!headersSent) commit();
  });
  let iterator: AsyncIterator<ResponseStreamEvent> | undefined;
  let done = false;
  try {
    iterator = open(controller.signal)[Symbol.asyncIterator]();
    let step = await iterator.next();
    if (!headersSent) commit();
    let sawText = false;
    while (!step.done) {
      if (tracker.gone) break;
      const event = step.value;
      if (typeof event.sequence_number === 'number') lastSequence = event.sequence_number;
      const firstText = !sawText && event.type === 'response.output_text.delta';
      if (firstText) {
        sawText = true;
        timeFirstToken(report, metrics, call.startedAt);
      }
      if (isTerminalEvent(event)) {
        terminal = true;
        if (event.type !== 'error') countUsage(call, event.response);
      }
      heartbeat.wrote = true;
      metrics.chunksSent++;
      const accepted = out.write(eventFrame(event));
      // As on a Chat Completions stream: the first token leaves now (TurnWriter.sendNow).
      if (firstText) out.sendNow();
      if (!accepted) await tracker.drained();
      step = await iterator.next();
    }
    done = step.done === true;
    if (!tracker.gone) {
      out.end();
      report.outcome = 'completed';
    }
  } catch (thrown) {
    if (!tracker.gone) {
      const error = reasonOf(thrown, controller);
      if (error instanceof OverloadedError) metrics.overloaded++;
      report.outcome = 'error';
      if (!headersSent) sendReply(res, withTarget(replyFor(call.dialect, error), request));
      else if (terminal) out.end();
      else {
        metrics.streamErrors++;
        const { code, message } = failureOf(error, call.dialect);
        out.end(eventFrame({ type: 'error', sequence_number: lastSequence + 1, code, message, param: null }));
      }
    }
  } finally {
    heartbeat.stop();
    out.close();
    tracker.dispose();
    call.live.delete(controller);
    metrics.activeStreams--;
    if (tracker.gone) {
      metrics.clientDisconnects++;
      report.outcome = 'client-closed';
    }
    if (!done) iterator?.return?.()?.catch(() => {});
  }
}

/**
 * One event as OpenAI frames it: a relayed upstream event as its own JSON text
 * (protocol/source-json.ts), others stringified. An event type that cannot be an SSE field
 * goes as data only.
 */
function eventFrame(event: ResponseStreamEvent): string {
  const data = sourceJsonOf(event) ?? JSON.stringify(event);
  const type = typeof event.type === 'string' && !/[\r\n]/.test(event.type) ? event.type : undefined;
  return encodeEvent(type === undefined ? { data } : { event: type, data });
}

/** The code and message an `error` event or a failed response carries for a thrown error. */
function failureOf(error: unknown, dialect: Dialect = 'openai'): { code: string; message: string } {
  const body = describeFailure(error, dialect).body.error;
  return { code: body.code ?? 'server_error', message: body.message };
}

function replyFor(dialect: Dialect, error: unknown): ErrorReply {
  return replyForError(error, dialect, 'Responses_Create', undefined);
}

function withTarget(reply: ErrorReply, request: Routing): ErrorReply {
  return { ...reply, headers: routed({ ...reply.headers }, request) };
}

/** When we aborted (a shutdown), our reason says why better than the backend's AbortError. */
function reasonOf(thrown: unknown, controller: AbortController): unknown {
  return controller.signal.aborted ? abortError(controller.signal) : thrown;
}

function countUsage(call: Pick<ResponsesCall, 'metrics' | 'report'>, response: ResponseObject): void {
  const usage = response.usage;
  if (!usage || typeof usage.input_tokens !== 'number' || typeof usage.output_tokens !== 'number') return;
  call.report.usage = {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens,
  };
  call.metrics.promptTokens += usage.input_tokens;
  call.metrics.completionTokens += usage.output_tokens;
}

/** A request's `input` as items (a string is one user message). */
function inputItems(input: ResponseCreateRequest['input']): ResponseInputItem[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  return Array.isArray(input) ? structuredClone(input) : [];
}
