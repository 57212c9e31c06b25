/**
 * Streams one answer from Sluice's own API (same origin): POST, then read the SSE body chunk by
 * chunk with the shared decoder (src/sse/decoder.ts, bundled) and turn it into text deltas and
 * one honest end state. Never throws: every failure becomes an `AnswerEnd`.
 *
 * No DOM types: this module also runs under Node in the tests.
 * @module
 */
import { SseDecodeError } from '../../errors.js';
import { createDecoder, type SseEvent } from '../../sse/decoder.js';
import type { ApiKind } from '../../types.js';
import type { AnswerEnd, AnswerStats } from './types.js';

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

  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...options.body, stream: true }),
      signal: options.signal,
    });
  } catch {
    if (options.signal.aborted) return finish({ kind: 'stopped' });
    return finish({ kind: 'failed', message: 'Could not reach the Sluice server.', retryable: true });
  }

  const requestId = response.headers.get('apim-request-id') ?? response.headers.get('x-request-id') ?? undefined;
  if (!response.ok) {
    let text = '';
    try {
      text = await response.text();
    } catch {
      if (options.signal.aborted) return finish({ kind: 'stopped' });
    }
    return finish(endFromHttpError(response.status, response.headers, text, requestId, Date.now()));
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

  // --- reading the stream ---
  let sawDone = false;
  let failure: AnswerEnd | undefined;
  let finishReason: string | null = null;
  let filteredCategories: string[] | undefined;

  const onEvent = (event: SseEvent): void => {
    if (sawDone || failure) return;
    if (event.data === '[DONE]') {
      sawDone = true;
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(event.data);
    } catch {
      failure = { kind: 'failed', message: 'The server sent data that is not JSON.', retryable: true };
      return;
    }
    const error = isRecord(payload) ? payload.error : undefined;
    if (event.type === 'error' || isRecord(error)) {
      const body = isRecord(error) ? error : isRecord(payload) ? payload : {};
      const message = typeof body.message === 'string' && body.message ? body.message : 'The server reported an error.';
      const code = typeof body.code === 'string' ? body.code : undefined;
      failure = {
        kind: 'failed',
        message,
        ...(code ? { code } : {}),
        ...(requestId ? { requestId } : {}),
        retryable: true,
      };
      return;
    }
    if (!isRecord(payload)) return;
    if (typeof payload.model === 'string' && payload.model) stats.model = payload.model;
    const usage = payload.usage;
    if (isRecord(usage) && typeof usage.completion_tokens === 'number') usageTokens = usage.completion_tokens;
    const choices = Array.isArray(payload.choices) ? payload.choices : [];
    for (const choice of choices) {
      // The page asks for one choice; route by index anyway and ignore others.
      if (!isRecord(choice) || (choice.index ?? 0) !== 0) continue;
      const text = options.kind === 'chat' ? (isRecord(choice.delta) ? choice.delta.content : undefined) : choice.text;
      if (typeof text === 'string' && text.length > 0) {
        if (firstTextAt === undefined) {
          firstTextAt = now();
          stats.ttftMs = Math.round(firstTextAt - startedAt);
        }
        textChunks++;
        options.onText(text);
      }
      const fired = firedCategories(choice.content_filter_results ?? choice.content_filter_result);
      if (typeof choice.finish_reason === 'string') {
        finishReason = choice.finish_reason;
        if (finishReason === 'content_filter') {
          filteredCategories = fired;
          // An asynchronous-filter annotation (no delta, no text) blocking text already shown:
          // Azure says the client must retract it.
          if (!('delta' in choice) && !('text' in choice)) options.onRetract?.();
        }
      }
    }
  };

  const decoder = createDecoder({ onEvent });
  const reader = response.body.getReader();
  try {
    while (!sawDone && !failure) {
      const { done, value } = await reader.read();
      if (done) break;
      decoder.feed(value);
    }
    // Azure may send its last `data: [DONE]` without the blank line that dispatches it.
    if (!sawDone && !failure && decoder.end().pendingData === '[DONE]') sawDone = true;
  } catch (error) {
    if (options.signal.aborted) return finish({ kind: 'stopped' });
    failure ??=
      error instanceof SseDecodeError
        ? { kind: 'failed', message: 'The server sent an event line over 16 MiB.', code: error.code, retryable: false }
        : { kind: 'truncated', message: 'The connection was lost before the answer finished.' };
  } finally {
    // After [DONE] (or a failure) stop reading: a proxy may keep the socket open.
    reader.cancel().catch(() => {});
  }
  if (options.signal.aborted) return finish({ kind: 'stopped' });
  if (failure) return finish(failure);
  if (!sawDone) {
    return finish({ kind: 'truncated', message: 'The stream ended without its end marker ([DONE]).' });
  }
  if (finishReason === 'content_filter') {
    const categories = filteredCategories ?? [];
    return finish({
      kind: 'filtered',
      where: 'completion',
      categories,
      message: filterMessage('completion', categories),
    });
  }
  return finish({ kind: 'done', finishReason });
}

/** Maps an HTTP error answer (status + Azure/OpenAI error body) to what the page shows. */
export function endFromHttpError(
  status: number,
  headers: Headers,
  bodyText: string,
  requestId: string | undefined,
  at: number,
): AnswerEnd {
  const error = errorObject(bodyText);
  const message = typeof error?.message === 'string' && error.message ? error.message : undefined;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const idPart = requestId ? { requestId } : {};
  if (status === 429) {
    return {
      kind: 'rate-limited',
      retryAfterMs: retryAfterMs(headers, message),
      message: message ?? 'Too many requests.',
      at,
    };
  }
  if (status === 400 && code === 'content_filter') {
    const inner = isRecord(error?.innererror)
      ? error.innererror
      : isRecord(error?.inner_error)
        ? error.inner_error
        : {};
    const categories = firedCategories(inner.content_filter_result ?? inner.content_filter_results);
    return { kind: 'filtered', where: 'prompt', categories, message: filterMessage('prompt', categories) };
  }
  const base = { status, ...(code ? { code } : {}), ...idPart };
  if (status === 401 || status === 403) {
    return {
      kind: 'failed',
      ...base,
      message: `${message ?? 'Access denied.'} If this Sluice server needs an API key, set it in Settings.`,
      retryable: false,
    };
  }
  if (status === 404) {
    return {
      kind: 'failed',
      ...base,
      message: `${message ?? 'Not found.'} Check the model or deployment name in Settings.`,
      retryable: false,
    };
  }
  // Azure API versions before 2024-09-01 reject the usage request (reference: Azure streaming notes).
  const param = typeof error?.param === 'string' ? error.param : '';
  const usageRefused = status === 400 && (param.startsWith('stream_options') || /stream_options/.test(message ?? ''));
  return {
    kind: 'failed',
    ...base,
    ...(usageRefused ? { code: code ?? 'unknown_parameter' } : {}),
    message: usageRefused
      ? `${message ?? 'The upstream rejected stream_options.'} Turn off "exact token counts" in Settings.`
      : (message ?? `The server answered HTTP ${status}.`),
    retryable: status >= 500 || status === 408,
  };
}

/** retry-after-ms, else retry-after (seconds or an HTTP date), else "retry after N seconds" in the message. */
export function retryAfterMs(headers: Headers, message: string | undefined, nowMs = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const after = headers.get('retry-after');
  if (after !== null) {
    const seconds = Number(after);
    if (after.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  const match = message ? /retry after (\d+(?:\.\d+)?) seconds?/i.exec(message) : null;
  return match?.[1] ? Number(match[1]) * 1000 : undefined;
}

/** Names of the filter categories that fired in an Azure `content_filter_results` object. */
export function firedCategories(results: unknown): string[] {
  if (!isRecord(results)) return [];
  const fired: string[] = [];
  for (const [name, value] of Object.entries(results)) {
    if (isRecord(value) && value.filtered === true) fired.push(name);
  }
  return fired;
}

function filterMessage(where: 'prompt' | 'completion', categories: string[]): string {
  const why = categories.length > 0 ? ` (${categories.map((c) => c.replaceAll('_', ' ')).join(', ')})` : '';
  return where === 'prompt'
    ? `The content filter blocked this message${why}. Rephrase it and send again.`
    : `The content filter stopped this answer${why}.`;
}

function errorObject(bodyText: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (isRecord(parsed) && isRecord(parsed.error)) return parsed.error;
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return bodyText.trim() ? { message: bodyText.trim().slice(0, 300) } : undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
