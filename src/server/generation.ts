/**
 * Runs one generation on a backend and writes it to the HTTP response: as SSE (streaming,
 * by the one relay rule in protocol/sse-relay.ts) or as one JSON document (non-streaming:
 * the backend's own `create()` when it has one, else the accumulated stream). This is the
 * per-token hot path: a chunk's frame is its upstream JSON as it came (or one
 * JSON.stringify), written at the end of the turn that brought it (turn-writer.ts), and
 * the backend is pulled only while the answer's buffer has room (`drain`), so a slow
 * reader slows generation down instead of growing memory.
 * @module
 */
import type { ServerResponse } from 'node:http';
import { abortError } from '../abort.js';
import { type Backend, type BackendRequest, isPullIterator, itemOf, NOT_READY, type PullIterator } from '../backend.js';
import { AbortError, OverloadedError, SluiceError } from '../errors.js';
import { choiceText, createAccumulator } from '../protocol/index.js';
import { forgetSourceJson } from '../protocol/source-json.js';
import { chunkFrame, DONE_FRAME, failureFrame } from '../protocol/sse-relay.js';
import { encodeComment, encodeData } from '../sse/index.js';
import type { StreamEnd } from '../streams/log.js';
import {
  beginStream,
  type ResumableStreams,
  STREAM_ID_HEADER,
  StreamEndedError,
  type StreamProducer,
  type StreamStart,
} from '../streams/producer.js';
import type { AnyChunk, AnyResponse, ApiKind, ApiTypes, CompletionRequest } from '../types.js';
import type { GenerationLease } from './access.js';
import { type ErrorReply, type Operation, replyForError } from './error-replies.js';
import type { ServerMetrics } from './metrics.js';
import { type GenerationObservation, type GenerationReport, reportMeta, timingHeaders } from './observer.js';
import type { Dialect } from './routes.js';
import { sendJson, sendReply, writeHead } from './send.js';
import { TurnWriter } from './turn-writer.js';

/** Everything one generation needs; built by the app per request. */
export interface Generation<K extends ApiKind = ApiKind> {
  kind: K;
  dialect: Dialect;
  apiVersion: string | undefined;
  deployment: string | undefined;
  /**
   * The request body, until it is handed to the backend (`takeBody`): a generation lives as long
   * as its answer, and must not keep a whole conversation with it (a gateway holds hundreds of
   * streams open for minutes).
   */
  body: ApiTypes[K]['request'] | undefined;
  backend: Backend;
  metrics: ServerMetrics;
  heartbeatMs: number;
  /** performance.now() when the request arrived (time to first token counts from here). */
  startedAt: number;
  /** Live generations, so that closing the server can abort them. */
  live: Set<AbortController>;
  /** What this generation did, for the request's log line and the observer (filled as it goes). */
  report: GenerationReport;
  /** The observer's view of this generation, when one watches. */
  observation?: GenerationObservation | undefined;
  /** Resumable streams (src/streams): log every frame, keep going after a hang-up. */
  streams?: (ResumableStreams & StreamStart) | undefined;
  /** The caller key's account of this generation (per-key access). */
  lease?: GenerationLease | undefined;
}

/** Azure's SSE headers. No compression, no proxy buffering. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};
const HEARTBEAT = encodeComment('keep-alive');

/**
 * Streams a generation as SSE. The status is decided by the backend's first result: an
 * error before any chunk (overloaded, model load failure, upstream 4xx) is an HTTP error
 * answer. If the first chunk takes longer than `heartbeatMs`, the 200 headers are sent with
 * a `: keep-alive` comment, and later errors become a `data: {"error": ...}` frame followed
 * by the end of the response without `[DONE]`. On the Azure dialect the prompt-filter chunk
 * precedes the first chunk (a backend's own, if it sends one, else ours); on the OpenAI
 * dialect a backend's prompt-filter chunk is dropped.
 */
export async function streamGeneration(res: ServerResponse, g: Generation): Promise<void> {
  const { metrics } = g;
  const azure = g.dialect === 'azure';
  // Resumable: a hang-up does not stop the generation at once (the producer keeps going
  // while a reader may come back); otherwise it aborts the backend at once.
  let producer: StreamProducer | undefined;
  const { controller, tracker } = begin(res, g, g.streams && (() => producer?.detached()));
  if (g.streams) producer = beginStream(g.streams, controller);
  /** A frame as written: with its `id:` line and logged when the stream is resumable. */
  const framed = (frame: string, end?: StreamEnd) => (producer ? producer.frame(frame, end) : frame);
  const { report, observation } = g;
  metrics.activeStreams++;

  let headersSent = false;
  // Azure's prompt-filter chunk goes first, unless the backend (an Azure upstream) sends its own.
  let filterPending = azure;
  // What a routing backend reports (the target, attempts): all the server keeps of the request,
  // whose body goes to the backend alone.
  const routing: Pick<BackendRequest, 'meta'> = { meta: {} };
  const promptFilter = azure ? promptFilterFrame(g) : '';
  let calledAt = 0;
  // Headers go at the backend's first result or at a heartbeat, whichever comes first. Either
  // way the gateway's own time ends where the backend was called: the wait on it is not ours.
  const commit = () => {
    headersSent = true;
    report.gatewayMs = calledAt - g.startedAt;
    // Object.assign, not spreads, on a request's path: in Node 20's V8 a spread's copy that then
    // gains a key gets a hidden class of its own each time (six times slower to build, every
    // reader of it megamorphic, one more map per request for the collector).
    const headers: Record<string, string> = routed(
      Object.assign({}, SSE_HEADERS, timingHeaders(report, routing)),
      routing,
    );
    if (producer) headers[STREAM_ID_HEADER] = producer.id;
    writeHead(res, 200, headers);
  };
  const out = new TurnWriter(res);
  const heartbeat = startHeartbeat(out, tracker, metrics, g.heartbeatMs, () => {
    if (!headersSent) commit();
  });

  let iterator: AsyncIterator<AnyChunk> | undefined;
  let done = false;
  try {
    calledAt = performance.now();
    iterator = startStream(g, routing, controller.signal);
    // An upstream's stream (through the router) is pulled from its first chunk on: each is
    // relayed from the network callback that brought it, with no promise (see pumpPulled).
    const pull = isPullIterator(iterator) ? iterator : undefined;
    let chunk = pull ? undefined : itemOf(await iterator.next());
    done = !pull && chunk === undefined;
    let sawText = false;
    let chunks = 0;
    const stopped = () => tracker.gone && !producer;
    /** Relays one chunk; false when the client's socket asks us to wait for `drain`. */
    const relay = (chunk: AnyChunk): boolean => {
      // The backend's first result: the headers go now, unless a heartbeat sent them.
      if (!headersSent) commit();
      if (chunk.usage) countUsage(metrics, report, chunk);
      // Usage the gateway asked for and the client did not.
      if (g.lease && !g.lease.chunk(chunk)) return true;
      if (chunk.choices.length === 0 && isPromptFilterOnly(chunk)) {
        // The backend's own prompt-filter chunk: Azure's to keep, not an OpenAI chunk.
        filterPending = false;
        if (!azure) return true;
      } else if (filterPending) {
        filterPending = false;
        const frame = framed(promptFilter);
        if (!tracker.gone) out.write(frame);
      }
      const firstText = !sawText && hasText(chunk);
      if (firstText) {
        sawText = true;
        timeFirstToken(report, metrics, g.startedAt);
      }
      const sent = azure ? withFilterResults(chunk) : chunk;
      metrics.chunksSent++;
      report.chunks = ++chunks;
      heartbeat.wrote = true;
      const frame = framed(chunkFrame(sent));
      const accepted = tracker.gone || out.write(frame);
      if (firstText) out.sendNow();
      observation?.chunk?.(sent);
      return accepted;
    };
    while (!done && !stopped()) {
      if (chunk !== undefined) {
        const accepted = relay(chunk);
        // Not kept while this waits, which may be as long as the stream lasts: a chunk held here
        // would live as long, and be promoted and marked by the collector (docs/gateway.md, Round 9).
        chunk = undefined;
        if (!accepted) await tracker.drained();
      }
      if (pull) {
        let paused = await pumpPulled(pull, relay, stopped);
        while (paused === 'drain') {
          await tracker.drained();
          paused = await pumpPulled(pull, relay, stopped);
        }
        if (paused === 'stop') break;
      }
      // Not pullable, or nothing after a wake: the end (or a failure) is next()'s to say.
      chunk = itemOf(await iterator.next());
      done = chunk === undefined;
    }
    const tail = (filterPending ? framed(promptFilter) : '') + framed(DONE_FRAME, 'done');
    if (!tracker.gone) {
      if (!headersSent) commit();
      out.end(tail);
      report.outcome = 'completed';
    }
  } catch (thrown) {
    const error = reasonOf(thrown, controller);
    // Logged even when the client is gone, so that a reader who comes back learns the end.
    const frame =
      producer && error instanceof StreamEndedError
        ? producer.endFrame(error)
        : framed(
            failureFrame(error, (e) => replyFor(g, e).body),
            'error',
          );
    if (!tracker.gone) {
      if (error instanceof OverloadedError) metrics.overloaded++;
      failed(report, error);
      if (!headersSent) {
        report.gatewayMs = calledAt - g.startedAt;
        sendReply(res, routedReply(replyFor(g, error), routing, timingHeaders(report, routing)));
      } else {
        // The relay rule: one error frame, the same body the HTTP answer would carry.
        metrics.streamErrors++;
        out.end(frame);
      }
    }
  } finally {
    heartbeat.stop();
    out.close();
    producer?.dispose();
    end(res, g, controller, tracker, routing);
    metrics.activeStreams--;
    g.lease?.end(report);
    // Leaving early (client gone): let the backend's generator run its cleanup.
    if (!done) iterator?.return?.().catch(() => {});
  }
}

/**
 * Answers with the non-streaming JSON shape. A backend with `create()` (an upstream) gets
 * the request as the client asked, so usage and upstream error statuses come back as they
 * are; otherwise the stream is accumulated by the protocol accumulator, with usage always
 * requested (non-streaming answers always carry it). A client hang-up aborts the backend
 * just the same.
 */
export async function completeGeneration(res: ServerResponse, g: Generation): Promise<void> {
  const { metrics } = g;
  const azure = g.dialect === 'azure';
  const { controller, tracker } = begin(res, g);
  const { report, observation } = g;
  // A non-streaming answer comes whole: a routing backend keeps the body until then anyway (it
  // may fail over to another target at any time before), so this one keeps it too.
  const body = takeBody(g);
  let request = backendRequest(g, { ...body, stream: false });
  const calledAt = performance.now();
  try {
    let response: AnyResponse;
    if (g.backend.create) {
      response = await g.backend.create(request, controller.signal);
      // As on the stream: Azure's filter fields on the Azure dialect, none on OpenAI's.
      if (azure) withAzureFields(response, g.kind, body);
      else delete response.prompt_filter_results;
    } else {
      const accumulator = createAccumulator(g.kind);
      // Ours first; an Azure upstream's own results merge over these empty ones.
      if (azure) accumulator.push(JSON.parse(promptFilterJson(g.kind, body)));
      request = backendRequest(g, { ...body, stream: false, stream_options: { include_usage: true } });
      for await (const chunk of g.backend.stream(request, controller.signal)) {
        if (tracker.gone) break;
        if (!azure && chunk.choices.length === 0 && isPromptFilterOnly(chunk)) continue;
        accumulator.push(azure ? withFilterResults(chunk) : chunk);
      }
      response = accumulator.response();
    }
    const waited = performance.now() - calledAt;
    if (response.usage) countUsage(metrics, report, response);
    g.lease?.response(response);
    if (!tracker.gone) {
      observation?.response?.(response);
      report.gatewayMs = performance.now() - g.startedAt - waited;
      sendJson(res, 200, response, routed(timingHeaders(report, request), request));
      report.outcome = 'completed';
    }
  } catch (thrown) {
    answerFailure(res, g, { controller, tracker }, thrown, calledAt, request, (error) => replyFor(g, error));
  } finally {
    end(res, g, controller, tracker, request);
    g.lease?.end(report);
  }
}

// --- internal ---

/** Why `pumpPulled` stopped: the client must drain, `take()` had nothing after a wake, or the client left. */
type Pause = 'drain' | 'end' | 'stop';

/**
 * Relays what `pull` has and, on each wake, what comes next, from the callback that brought
 * it (the upstream's `data` event): no promise per chunk, as a bare proxy writes. Resolves
 * when `relay` asks for `drain`, when `take()` has nothing after a wake (the end or a
 * failure: `next()` says which) or when `stopped()`; rejects with what `take()` throws.
 */
function pumpPulled(
  pull: PullIterator<AnyChunk>,
  relay: (chunk: AnyChunk) => boolean,
  stopped: () => boolean,
): Promise<Pause> {
  return new Promise<Pause>((resolve, reject) => {
    let woken = false;
    const run = (): void => {
      try {
        for (;;) {
          if (stopped()) {
            resolve('stop');
            return;
          }
          const chunk = pull.take();
          if (chunk === NOT_READY) {
            if (woken) resolve('end');
            else {
              woken = true;
              pull.wait(run);
            }
            return;
          }
          woken = false;
          if (!relay(chunk)) {
            resolve('drain');
            return;
          }
        }
      } catch (error) {
        reject(error);
      }
    };
    run();
  });
}

/** Follows the client of one answer (exported for the Responses writer, responses.ts). */
export interface ClientTracker {
  /** True once the client closed the connection before the response finished. */
  readonly gone: boolean;
  /** Resolves on `drain`, or at once when the client left or nothing waits to drain. */
  drained(): Promise<void>;
  dispose(): void;
}

/** What begin() and end() need of a request: shared with the embeddings answer (embeddings.ts). */
export type Tracked = Pick<Generation, 'live' | 'metrics' | 'report' | 'observation'>;

/** One generation starts: its controller (aborted by a hang-up or a shutdown), counted and tracked. */
export function begin(
  res: ServerResponse,
  g: Tracked,
  onGone?: () => void,
): { controller: AbortController; tracker: ClientTracker } {
  const controller = new AbortController();
  const tracker = trackClient(res, controller, onGone);
  g.live.add(controller);
  g.metrics.generations++;
  return { controller, tracker };
}

/** One generation ends, however it ended: counted, reported (target and attempts included). */
export function end(
  res: ServerResponse,
  g: Tracked,
  controller: AbortController,
  tracker: ClientTracker,
  request: Pick<BackendRequest, 'meta'>,
): void {
  tracker.dispose();
  g.live.delete(controller);
  const report = g.report;
  if (tracker.gone) {
    g.metrics.clientDisconnects++;
    report.outcome = 'client-closed';
  }
  reportMeta(report, request);
  g.observation?.end(report, res.headersSent ? res.statusCode : 499);
}

/**
 * A one-document answer failed (before anything was sent): counted, reported and answered
 * with `replyOf` the error, unless the client has left.
 */
export function answerFailure(
  res: ServerResponse,
  g: Tracked & { startedAt: number },
  { controller, tracker }: { controller: AbortController; tracker: ClientTracker },
  thrown: unknown,
  calledAt: number,
  request: Pick<BackendRequest, 'meta'>,
  replyOf: (error: unknown) => ErrorReply,
): void {
  if (tracker.gone) return;
  const error = reasonOf(thrown, controller);
  if (error instanceof OverloadedError) g.metrics.overloaded++;
  failed(g.report, error);
  g.report.gatewayMs = calledAt - g.startedAt;
  sendReply(res, routedReply(replyOf(error), request, timingHeaders(g.report, request)));
}

/** The error as the request's report records it: its stable code, never its message. */
function failed(report: GenerationReport, error: unknown): void {
  report.outcome = 'error';
  report.error = error instanceof SluiceError ? error.code : error instanceof Error ? error.name : 'unknown';
}

/** Watches for the client hanging up; aborts the backend at once when it does (unless `onGone` decides). */
export function trackClient(res: ServerResponse, controller: AbortController, onGone?: () => void): ClientTracker {
  return new ClientWatch(res, controller, onGone);
}

/**
 * trackClient's tracker. A class, not an object literal with a `gone` getter: a literal's
 * getter closes over this request, and V8 keeps such a getter in the object's hidden class,
 * which lives in the old generation; every request's objects then survived young-generation
 * collections until the next full one (promoted per request, slower scavenges).
 */
class ClientWatch implements ClientTracker {
  gone = false;
  readonly #res: ServerResponse;
  readonly #controller: AbortController;
  readonly #onGone: (() => void) | undefined;
  #wake: (() => void) | undefined;

  constructor(res: ServerResponse, controller: AbortController, onGone: (() => void) | undefined) {
    this.#res = res;
    this.#controller = controller;
    this.#onGone = onGone;
    res.on('close', this.#onClose);
  }

  readonly #onClose = (): void => {
    if (this.#res.writableFinished) return;
    this.gone = true;
    if (this.#onGone) this.#onGone();
    else this.#controller.abort(new AbortError('The client closed the connection'));
    this.#wake?.();
  };

  drained(): Promise<void> {
    const res = this.#res;
    // Drained already: a write refused in a network callback (the pulled relay) may see its
    // `drain` come in that callback's nextTick queue, before the caller gets here.
    if (this.gone || !res.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
      res.on('drain', done);
    });
  }

  dispose(): void {
    this.#res.off('close', this.#onClose);
  }
}

/** A stream's keep-alive: set `wrote` after each write; `stop()` when the stream ends. */
export interface Heartbeat {
  wrote: boolean;
  stop(): void;
}

/**
 * A stream's first token, about to be written: its time to first token reported and observed.
 * (Exported for the Responses writer, responses.ts; each then sends it at once, `TurnWriter.sendNow`.)
 */
export function timeFirstToken(report: GenerationReport, metrics: ServerMetrics, startedAt: number): void {
  report.firstTokenMs = performance.now() - startedAt;
  metrics.observeTimeToFirstToken(report.firstTokenMs / 1000);
}

/**
 * Every `ms`, a `: keep-alive` comment unless something else was written since the last tick,
 * so idle proxies do not cut a slow stream; `beforeBeat` sends the headers if they have not
 * gone yet. Shared by the chat/completions stream and the Responses events (responses.ts).
 */
export function startHeartbeat(
  out: TurnWriter,
  tracker: ClientTracker,
  metrics: ServerMetrics,
  ms: number,
  beforeBeat: () => void,
): Heartbeat {
  const beat: Heartbeat = {
    wrote: false,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    if (beat.wrote) {
      beat.wrote = false;
      return;
    }
    if (tracker.gone) return;
    beforeBeat();
    out.write(HEARTBEAT);
    metrics.heartbeats++;
  }, ms);
  return beat;
}

/** When we aborted (server shutdown), our reason says why better than the backend's AbortError. */
function reasonOf(thrown: unknown, controller: AbortController): unknown {
  return controller.signal.aborted ? abortError(controller.signal) : thrown;
}

function replyFor(g: Generation, error: unknown) {
  return replyForError(error, g.dialect, operationOf(g.kind), g.apiVersion);
}

function backendRequest(
  g: Generation,
  body: ApiTypes[ApiKind]['request'],
  meta?: BackendRequest['meta'],
): BackendRequest {
  const request: BackendRequest =
    g.deployment === undefined ? { kind: g.kind, body } : { kind: g.kind, body, deployment: g.deployment };
  if (meta !== undefined) request.meta = meta;
  return request;
}

/** The generation's request body, handed over once (see `Generation.body`). */
function takeBody(g: Generation): ApiTypes[ApiKind]['request'] {
  const body = g.body;
  if (body === undefined) throw new TypeError('The request body was already handed to the backend');
  g.body = undefined;
  return body;
}

/**
 * Starts the backend's stream with the request body taken from `g`, and `meta` for what a
 * routing backend reports. A function of its own, so that the caller, suspended as long as the
 * stream lasts, holds neither the body nor the request in a variable or a temporary: from here
 * on only the backend decides how long they live (a router until it committed to a target).
 */
function startStream(
  g: Generation,
  routing: Pick<BackendRequest, 'meta'>,
  signal: AbortSignal,
): AsyncIterator<AnyChunk> {
  return g.backend.stream(backendRequest(g, takeBody(g), routing.meta), signal)[Symbol.asyncIterator]();
}

/** Adds `x-sluice-target` when a routing backend (the gateway's router) said which target answered. */
export function routed<H extends Record<string, string>>(headers: H, request: { meta?: BackendRequest['meta'] }): H {
  const target = request.meta?.target;
  return target === undefined ? headers : Object.assign({}, headers, { 'x-sluice-target': encodeURI(target) });
}

function routedReply(
  reply: ErrorReply,
  request: { meta?: BackendRequest['meta'] },
  headers: Record<string, string>,
): ErrorReply {
  return { ...reply, headers: routed({ ...reply.headers, ...headers }, request) };
}

function operationOf(kind: ApiKind): Operation {
  return kind === 'chat' ? 'ChatCompletions_Create' : 'Completions_Create';
}

/** The chunk carries answer text (protocol/text.ts `choiceText`: the first-token rule). */
function hasText(chunk: AnyChunk): boolean {
  for (const choice of chunk.choices) if (choiceText(choice)) return true;
  return false;
}

function countUsage(metrics: ServerMetrics, report: GenerationReport, chunk: AnyChunk | AnyResponse): void {
  const usage = chunk.usage;
  if (!usage) return;
  report.usage = usage;
  if (typeof usage.prompt_tokens === 'number') metrics.promptTokens += usage.prompt_tokens;
  if (typeof usage.completion_tokens === 'number') metrics.completionTokens += usage.completion_tokens;
}

/**
 * Azure puts `content_filter_results` on every choice; we ran no filter, so `{}` (never a
 * claim that something was checked). Added in place, as copying per token costs more: every
 * backend here yields a fresh object per chunk (scripted clones, local builds, remote parses).
 * Exported for a taken-over stream's chunks (stream-takeover.ts).
 */
export function withFilterResults<C extends AnyChunk>(chunk: C): C {
  const choices = chunk.choices;
  for (let i = 0; i < choices.length; i++) {
    const choice = choices[i]!;
    if (choice.content_filter_results === undefined) {
      forgetSourceJson(chunk);
      choice.content_filter_results = {};
    }
  }
  return chunk;
}

/** An upstream's non-streaming answer, with Azure's filter fields where it had none. */
function withAzureFields(response: AnyResponse, kind: ApiKind, body: ApiTypes[ApiKind]['request']): void {
  if (!Array.isArray(response.choices)) return;
  for (const choice of response.choices) {
    if (choice && typeof choice === 'object' && choice.content_filter_results === undefined) {
      choice.content_filter_results = {};
    }
  }
  if (response.prompt_filter_results === undefined) {
    response.prompt_filter_results = (JSON.parse(promptFilterJson(kind, body)) as AnyChunk).prompt_filter_results ?? [];
  }
}

/** Azure's prompt-filter chunk: no choices, no usage, prompt results (either spelling). */
function isPromptFilterOnly(chunk: AnyChunk): boolean {
  return (
    chunk.choices.length === 0 &&
    !chunk.usage &&
    (chunk.prompt_filter_results !== undefined || chunk.prompt_annotations !== undefined)
  );
}

const SINGLE_PROMPT_FILTER =
  '{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}';
const SINGLE_PROMPT_FILTER_FRAME = encodeData(SINGLE_PROMPT_FILTER);

/** Azure's first chunk: one empty prompt-filter result per prompt (a prompt array has several). */
function promptFilterJson(kind: ApiKind, body: ApiTypes[ApiKind]['request'] | undefined): string {
  const prompt = kind === 'completions' ? (body as CompletionRequest | undefined)?.prompt : undefined;
  if (!Array.isArray(prompt) || prompt.length <= 1) return SINGLE_PROMPT_FILTER;
  const results = prompt.map((_, i) => `{"prompt_index":${i},"content_filter_results":{}}`).join(',');
  return `{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[${results}]}`;
}

/** Azure's first chunk as a frame; the usual one (one prompt) made once, not per request. */
function promptFilterFrame(g: Generation): string {
  const json = promptFilterJson(g.kind, g.body);
  return json === SINGLE_PROMPT_FILTER ? SINGLE_PROMPT_FILTER_FRAME : encodeData(json);
}
