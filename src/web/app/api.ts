/**
 * Streams one answer from Sluice's own API (same origin): POST, then read the SSE body chunk by
 * chunk and turn it into text deltas and one honest end state. Never throws: every failure
 * becomes an `AnswerEnd`.
 *
 * How a response is interpreted is not decided here: the SSE decoder (src/sse), the event
 * rules (`[DONE]`, error frames), the accumulator and its end state, the text of a chunk, the
 * content-filter categories and the HTTP error mapping all come from src/protocol, bundled,
 * the same code the client and the CLI run. This module only words the result for the page.
 *
 * No DOM types: this module also runs under Node in the tests.
 * @module
 */
import { isRetryableStatus } from '../../client/retry.js';
import { ContentFilterError, ErrorCodes, SluiceError, StreamErrorFrame } from '../../errors.js';
import { createAccumulator } from '../../protocol/accumulate.js';
import type { EndState } from '../../protocol/end-state.js';
import { errorFromResponse, requestIdOf } from '../../protocol/errors.js';
import { endsWithDone, parseStreamEvent } from '../../protocol/events.js';
import { excerpt } from '../../protocol/excerpt.js';
import { retryAfterMs } from '../../protocol/retry-after.js';
import { redactSecrets } from '../../protocol/secrets.js';
import { checkChunk, shapeLimitsFor } from '../../protocol/shape.js';
import { choiceText, textDeltas } from '../../protocol/text.js';
import { createDecoder, type SseEvent } from '../../sse/decoder.js';
import type { AnyChunk, ApiKind, ChatCompletion, ChatCompletionChunk } from '../../types.js';
import type { AnswerEnd, AnswerStats, ToolCallView } from './types.js';

/** Shortest generation (first text -> end) for which tokens/s is reported, seconds. */
export const MIN_RATE_WINDOW_S = 0.05;

export interface StreamAnswerOptions {
  kind: ApiKind;
  /** The request body; `stream: true` is set here. */
  body: Record<string, unknown>;
  signal: AbortSignal;
  /** Default: same origin, `/v1/chat/completions` or `/v1/completions`. */
  url?: string;
  /** Sent as `api-key` when the Sluice server requires one (never an upstream key). */
  apiKey?: string;
  fetch?: typeof fetch;
  now?: () => number;
  /** Each piece of text as it arrives (choice 0). */
  onText(text: string): void;
  /** The content filter retracted what was shown (Azure asynchronous filter). */
  onRetract?(): void;
  /** Choice 0's tool calls so far (the accumulator's), each time a chunk adds to them. */
  onToolCalls?(calls: ToolCallView[]): void;
  /**
   * Reads the rest of a resumable stream (`GET /sluice/v1/streams/{id}` after `lastEventId`)
   * instead of asking anew: the page was reloaded while it streamed.
   */
  resume?: { streamId: string; lastEventId: string };
  /** The server named the stream (`x-sluice-stream-id`): it can be resumed. */
  onStream?(streamId: string): void;
  /** The id of the event just taken (after its text was reported). */
  onEventId?(id: string): void;
}

export interface StreamAnswerResult {
  end: AnswerEnd;
  stats: AnswerStats;
}

/**
 * @example
 * ```ts
 * const controller = new AbortController();
 * const { end, stats } = await streamAnswer({
 *   kind: 'chat',
 *   body: { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 64 },
 *   signal: controller.signal,
 *   onText: (t) => (out.textContent += t),
 * });
 * ```
 */
export async function streamAnswer(options: StreamAnswerOptions): Promise<StreamAnswerResult> {
  const now = options.now ?? (() => performance.now());
  const doFetch = options.fetch ?? fetch;
  const url = options.url ?? (options.kind === 'chat' ? '/v1/chat/completions' : '/v1/completions');
  const startedAt = now();
  const stats: AnswerStats = {};
  let firstTextAt: number | undefined;
  let textChunks = 0;
  let usageTokens: number | undefined;

  const finish = (end: AnswerEnd): StreamAnswerResult => {
    const endedAt = now();
    stats.durationMs = Math.round(endedAt - startedAt);
    const tokens = usageTokens ?? (textChunks > 0 ? textChunks : undefined);
    if (tokens !== undefined) {
      stats.tokens = tokens;
      stats.tokensExact = usageTokens !== undefined;
      // Over the generation only (first text -> end): time to first token is reported apart.
      // Under 50 ms the ratio is timer noise, not a speed.
      const seconds = firstTextAt === undefined ? 0 : (endedAt - firstTextAt) / 1000;
      if (tokens > 1 && seconds >= MIN_RATE_WINDOW_S) stats.tokensPerSecond = tokens / seconds;
    }
    return { end, stats };
  };

  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (options.apiKey) headers['api-key'] = options.apiKey;

  const resume = options.resume;
  if (resume) headers['last-event-id'] = resume.lastEventId;
  let response: Response;
  try {
    response = resume
      ? await doFetch(`/sluice/v1/streams/${encodeURIComponent(resume.streamId)}`, {
          headers,
          signal: options.signal,
        })
      : await doFetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ ...options.body, stream: true }),
          signal: options.signal,
        });
  } catch {
    if (options.signal.aborted) return finish({ kind: 'stopped' });
    return finish({ kind: 'failed', message: 'Could not reach the Sluice server.', retryable: true });
  }

  const requestId = requestIdOf(response.headers);
  if (!response.ok) {
    let text = '';
    try {
      text = await response.text();
    } catch {
      if (options.signal.aborted) return finish({ kind: 'stopped' });
    }
    return finish(endFromHttpError(response.status, response.headers, text, Date.now()));
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream') || !response.body) {
    await response.body?.cancel().catch(() => {});
    return finish({
      kind: 'failed',
      message: `The server answered ${response.status} without an event stream (${type || 'no content type'}).`,
      status: response.status,
      ...(requestId ? { requestId } : {}),
      retryable: true,
    });
  }

  const streamId = response.headers.get('x-sluice-stream-id');
  if (streamId) options.onStream?.(streamId);

  // --- reading the stream ---
  const accumulator = createAccumulator(options.kind);
  const limits = shapeLimitsFor(options.kind, options.body as Parameters<typeof shapeLimitsFor>[1]);
  let sawDone = false;
  let failure: AnswerEnd | undefined;

  const takeChunk = (unchecked: AnyChunk): void => {
    // A malformed chunk throws ProtocolError here, before anything of it is shown.
    const chunk = checkChunk(unchecked, limits);
    accumulator.push(chunk);
    if (typeof chunk.model === 'string' && chunk.model) stats.model = chunk.model;
    const usage = chunk.usage;
    if (usage !== undefined && usage !== null && typeof usage.completion_tokens === 'number') {
      usageTokens = usage.completion_tokens;
      if (typeof usage.prompt_tokens === 'number') stats.promptTokens = usage.prompt_tokens;
    }
    // The page asks for one choice and shows choice 0; other indexes are accumulated, not shown.
    for (const { index, text } of textDeltas(chunk)) {
      if (index !== 0) continue;
      if (firstTextAt === undefined) {
        firstTextAt = now();
        stats.ttftMs = Math.round(firstTextAt - startedAt);
      }
      textChunks++;
      options.onText(text);
    }
    if (options.onToolCalls && options.kind === 'chat' && hasToolCallDelta(chunk as ChatCompletionChunk)) {
      const message = (accumulator.response() as ChatCompletion).choices.find((c) => c.index === 0)?.message;
      options.onToolCalls(
        (message?.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: c.function.arguments })),
      );
    }
    for (const choice of chunk.choices) {
      // An asynchronous-filter annotation (a choice without text) blocking text already
      // shown: Azure says the client must retract it.
      if (choice.index === 0 && choice.finish_reason === 'content_filter' && choiceText(choice) === undefined) {
        options.onRetract?.();
      }
    }
  };

  const onEvent = (event: SseEvent): void => {
    if (sawDone || failure) return;
    try {
      const parsed = parseStreamEvent(event);
      if (parsed.type === 'done') sawDone = true;
      else if (parsed.type === 'error') failure = endFromErrorFrame(parsed.error, requestId);
      else takeChunk(parsed.chunk as AnyChunk);
      if (event.id !== '') options.onEventId?.(event.id);
    } catch (error) {
      failure = endFromUnreadable(error, requestId);
    }
  };

  const decoder = createDecoder({ onEvent });
  const reader = response.body.getReader();
  let lost = false;
  try {
    while (!sawDone && !failure) {
      const { done, value } = await reader.read();
      if (done) break;
      decoder.feed(value);
    }
    // Azure may send its last `data: [DONE]` without the blank line that dispatches it.
    if (!sawDone && !failure) sawDone = endsWithDone(decoder.end());
  } catch (error) {
    if (options.signal.aborted) return finish({ kind: 'stopped' });
    if (error instanceof SluiceError) failure ??= endFromUnreadable(error, requestId);
    else lost = true;
  } finally {
    // After [DONE] (or a failure) stop reading: a proxy may keep the socket open.
    reader.cancel().catch(() => {});
  }
  if (options.signal.aborted) return finish({ kind: 'stopped' });
  if (failure) return finish(failure);
  const state = accumulator.finish({ sawDone });
  const finishReason = accumulator.response().choices[0]?.finish_reason ?? null;
  return finish(endFromState(state, finishReason, lost));
}

function hasToolCallDelta(chunk: ChatCompletionChunk): boolean {
  return chunk.choices.some((c) => c.index === 0 && Array.isArray(c.delta?.tool_calls));
}

/** Words the protocol's end state of a stream that was read to its end (or lost). */
function endFromState(state: EndState, finishReason: string | null, lost: boolean): AnswerEnd {
  switch (state.state) {
    case 'completed':
      return { kind: 'done', finishReason };
    case 'filtered':
      return {
        kind: 'filtered',
        where: state.where,
        categories: state.categories,
        message: filterMessage(state.where, state.categories),
      };
    case 'truncated':
      return {
        kind: 'truncated',
        message: lost
          ? 'The connection was lost before the answer finished.'
          : state.reason === 'no-done'
            ? 'The stream ended without its end marker ([DONE]).'
            : 'The stream ended without saying why the answer stopped (no finish reason).',
      };
    case 'failed':
      return endFromUnreadable(state.error, undefined);
    case 'aborted':
      return { kind: 'stopped' };
  }
}

/**
 * Maps an HTTP error answer to what the page shows. The meaning (which error, its code, the
 * retry delay, the prompt filter's categories) is `errorFromResponse`'s; the advice is the page's.
 */
export function endFromHttpError(status: number, headers: Headers, bodyText: string, at: number): AnswerEnd {
  const error = errorFromResponse(status, headers, bodyText);
  const said =
    error.body !== undefined ? redactSecrets(error.body.error.message) : bodyText.trim() && excerpt(bodyText);
  const code = error.apiCode ?? undefined;
  const facts = {
    status,
    ...(code ? { code } : {}),
    ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
  };
  switch (error.code) {
    case ErrorCodes.RATE_LIMIT:
      return {
        kind: 'rate-limited',
        // The headers, else Azure's "retry after N seconds" in the message (a relayed error).
        retryAfterMs: retryAfterMs(headers, at, error.body?.error.message),
        message: said || 'Too many requests.',
        at,
      };
    case ErrorCodes.CONTENT_FILTER: {
      const categories = error instanceof ContentFilterError ? error.categories : [];
      return { kind: 'filtered', where: 'prompt', categories, message: filterMessage('prompt', categories) };
    }
    case ErrorCodes.AUTH:
      return {
        kind: 'failed',
        ...facts,
        message: `${said || 'Access denied.'} If this Sluice server needs an API key, set it in Settings.`,
        retryable: false,
      };
    case ErrorCodes.NOT_FOUND:
      return {
        kind: 'failed',
        ...facts,
        message: `${said || 'Not found.'} Check the model or deployment name in Settings.`,
        retryable: false,
      };
  }
  // Azure API versions before 2024-09-01 reject the usage request (reference: Azure streaming notes).
  const param = error.body?.error.param ?? '';
  const usageRefused =
    status === 400 && (param.startsWith('stream_options') || /stream_options/.test(error.body?.error.message ?? ''));
  return {
    kind: 'failed',
    ...facts,
    ...(usageRefused ? { code: code ?? 'unknown_parameter' } : {}),
    message: usageRefused
      ? `${said || 'The upstream rejected stream_options.'} Turn off "exact token counts" in Settings.`
      : said || `The server answered HTTP ${status}.`,
    retryable: isRetryableStatus(status),
  };
}

/** An error frame inside the stream: the upstream's own words, and Retry. */
function endFromErrorFrame(frame: StreamErrorFrame, requestId: string | undefined): AnswerEnd {
  const body = frame.body?.error;
  const code = typeof body?.code === 'string' && body.code ? body.code : undefined;
  return {
    kind: 'failed',
    message: body?.message ? redactSecrets(body.message) : frame.message,
    ...(code ? { code } : {}),
    ...(requestId ? { requestId } : {}),
    retryable: true,
  };
}

/** Data the protocol refused (not JSON, not an object, a malformed chunk, an oversized line). */
function endFromUnreadable(error: unknown, requestId: string | undefined): AnswerEnd {
  const idPart = requestId ? { requestId } : {};
  if (error instanceof StreamErrorFrame) return endFromErrorFrame(error, requestId);
  if (error instanceof SluiceError) {
    const retryable = error.code !== ErrorCodes.SSE_LINE_TOO_LONG;
    return { kind: 'failed', message: error.message, code: error.code, ...idPart, retryable };
  }
  return {
    kind: 'failed',
    message: `The server sent a chunk this page cannot read (${error instanceof Error ? error.message : String(error)}).`,
    ...idPart,
    retryable: true,
  };
}

function filterMessage(where: 'prompt' | 'completion', categories: string[]): string {
  const why = categories.length > 0 ? ` (${categories.map((c) => c.replaceAll('_', ' ')).join(', ')})` : '';
  return where === 'prompt'
    ? `The content filter blocked this message${why}. Rephrase it and send again.`
    : `The content filter stopped this answer${why}.`;
}
