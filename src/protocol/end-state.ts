/**
 * How an answer ended, decided from what arrived: streamed (the accumulator calls
 * `decideEndState`) or whole (`endStateOfResponse`), and which limit a `length` stop hit.
 * Pure functions; the one home of these rules for the client, the CLI and the web page.
 * @module
 */
import {
  ContentFilterError,
  type LengthLimitReason,
  type SluiceError,
  StreamTruncatedError,
  type StreamTruncationReason,
  type TruncationReason,
} from '../errors.js';
import type { AnyResponse, ContentFilterResults } from '../types.js';
import { firedCategories } from './filters.js';

/**
 * How a stream ended, honestly. `completed` needs `[DONE]` and a finish_reason on every
 * choice; anything else keeps the partial result beside the state. A Responses stream ends
 * with its terminal event instead, and one the server ended `incomplete` is `truncated`
 * with the limit it hit (`max-tokens`): Chat Completions reports that limit as a `length`
 * finish, `completed`, and only ever says `no-done` / `unfinished-choice` here.
 */
export type EndState =
  | { state: 'completed' }
  | { state: 'truncated'; reason: TruncationReason; unfinished: number[] }
  | { state: 'filtered'; where: 'prompt' | 'completion'; categories: string[]; choices: number[] }
  | { state: 'failed'; error: SluiceError }
  | { state: 'aborted'; reason?: unknown };

/** How the caller's read of the stream stopped. */
export type FinishHow = { sawDone: boolean } | { error: SluiceError } | { aborted: unknown };

/** What the accumulator knows about one choice when the stream stops. */
export interface ChoiceSummary {
  index: number;
  finishReason: string | null;
  /** Categories that fired in the choice's merged filter results. */
  categories: string[];
}

/** What the accumulator knows about the whole stream when it stops. */
export interface StreamSummary {
  /** Choices that appeared, sorted by index. */
  choices: ChoiceSummary[];
  /** A usage chunk arrived (the server accounted for a finished generation). */
  sawUsage: boolean;
}

/**
 * Decides the end state. The rules, in order:
 * 1. `aborted` / `error` as given; an error that is a prompt ContentFilterError becomes
 *    `filtered` (where `prompt`).
 * 2. A choice without finish_reason -> `truncated`: reason `no-done` without `[DONE]`, else
 *    `unfinished-choice`; `unfinished` lists those choices. This wins over a filtered choice:
 *    the filter is not why the unfinished choice stopped.
 * 3. Every choice finished and one ended with `content_filter` -> `filtered` (where
 *    `completion`), even without `[DONE]`: the filter is why the text ended, and everything
 *    a missing `[DONE]` could still have brought (annotations, usage) does not change that.
 * 4. No `[DONE]` -> `truncated`, reason `no-done`, `unfinished: []`.
 * 5. `[DONE]` but no choice at all -> `completed` only if a usage chunk arrived (the server
 *    accounted for an empty generation); otherwise `truncated` `unfinished-choice` with
 *    `unfinished: [0]`, the choice every request asks for and that never came.
 * 6. Otherwise `completed`.
 *
 * @example
 * decideEndState({ sawDone: true }, { choices: [{ index: 0, finishReason: 'stop', categories: [] }], sawUsage: false });
 * // -> { state: 'completed' }
 */
export function decideEndState(how: FinishHow, summary: StreamSummary): EndState {
  if ('aborted' in how)
    return how.aborted === undefined ? { state: 'aborted' } : { state: 'aborted', reason: how.aborted };
  if ('error' in how) {
    const error = how.error;
    if (error instanceof ContentFilterError && error.where === 'prompt') return promptFilteredState(error);
    return { state: 'failed', error };
  }
  const unfinished: number[] = [];
  const filtered: number[] = [];
  const categories = new Set<string>();
  for (const choice of summary.choices) {
    if (choice.finishReason === null) unfinished.push(choice.index);
    else if (choice.finishReason === 'content_filter') {
      filtered.push(choice.index);
      for (const category of choice.categories) categories.add(category);
    }
  }
  if (unfinished.length > 0) {
    return { state: 'truncated', reason: how.sawDone ? 'unfinished-choice' : 'no-done', unfinished };
  }
  if (filtered.length > 0)
    return { state: 'filtered', where: 'completion', categories: [...categories], choices: filtered };
  if (!how.sawDone) return { state: 'truncated', reason: 'no-done', unfinished: [] };
  if (summary.choices.length === 0 && !summary.sawUsage) {
    return { state: 'truncated', reason: 'unfinished-choice', unfinished: [0] };
  }
  return { state: 'completed' };
}

/**
 * The end state for a prompt Azure refused (HTTP 400, code `content_filter`), built from the
 * ContentFilterError that `errorFromResponse` returned.
 *
 * @example
 * const err = errorFromResponse(400, headers, body);
 * if (err instanceof ContentFilterError) end = promptFilteredState(err);
 * // -> { state: 'filtered', where: 'prompt', categories: ['jailbreak'], choices: [] }
 */
export function promptFilteredState(error: ContentFilterError): EndState {
  return { state: 'filtered', where: error.where, categories: [...error.categories], choices: [] };
}

/**
 * The StreamTruncatedError to throw for a `truncated` end state, carrying the partial result.
 *
 * @example
 * const end = acc.finish({ sawDone: false });
 * if (end.state === 'truncated') throw truncationError(end, acc.response());
 */
export function truncationError(
  end: { state: 'truncated'; reason: StreamTruncationReason; unfinished: number[] },
  partial?: AnyResponse,
  cause?: unknown,
): StreamTruncatedError {
  const which =
    end.unfinished.length > 0
      ? ` (unfinished choice${end.unfinished.length > 1 ? 's' : ''} ${end.unfinished.join(', ')})`
      : '';
  const message =
    end.reason === 'no-done'
      ? `The stream ended without [DONE]${which}; the partial result is kept`
      : `The stream ended with [DONE] but without a finish_reason${which}; the partial result is kept`;
  return new StreamTruncatedError(end.reason, message, {
    ...(partial !== undefined ? { partial } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
}

/**
 * The end state of a complete non-streaming response, by the same rules as
 * `decideEndState` with `[DONE]` seen (a whole response has no stream to cut): a choice
 * without finish_reason is `truncated` (`unfinished-choice`), a `content_filter` finish is
 * `filtered` with the categories that fired, no choice and no usage is `truncated`,
 * otherwise `completed`. A `length` finish is `completed`; `lengthLimitReason` says which
 * limit it hit.
 *
 * @example
 * const response = await client.chat.create({ messages });
 * const end = endStateOfResponse(response); // { state: 'completed' }, or filtered / truncated
 */
export function endStateOfResponse(response: AnyResponse): EndState {
  const list: unknown = (response as { choices?: unknown } | null)?.choices;
  const choices: ChoiceSummary[] = [];
  if (Array.isArray(list)) {
    for (const item of list) {
      if (item === null || typeof item !== 'object') continue;
      const choice = item as { index?: unknown; finish_reason?: unknown; content_filter_results?: unknown };
      const fired = firedCategories(choice.content_filter_results as ContentFilterResults | undefined);
      const failed = firedCategories((item as { content_filter_result?: ContentFilterResults }).content_filter_result);
      for (const category of failed) if (!fired.includes(category)) fired.push(category);
      choices.push({
        index: typeof choice.index === 'number' ? choice.index : 0,
        finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
        categories: fired,
      });
    }
  }
  choices.sort((a, b) => a.index - b.index);
  const usage = (response as { usage?: unknown } | null)?.usage;
  return decideEndState({ sawDone: true }, { choices, sawUsage: usage !== undefined && usage !== null });
}

/** What `lengthLimitReason` needs to know about the request. */
export interface LengthLimitRequest {
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
}

/**
 * Which limit stopped an answer whose choices finished with `length`, or undefined when
 * none did:
 * - `context-length` when the completion used fewer tokens than the request allowed
 *   (`usage.completion_tokens` below `max_completion_tokens` / `max_tokens`: only a full
 *   context stops a model earlier), or when `contextTokens` is known and prompt plus
 *   completion reached it;
 * - `max-tokens` otherwise (also when usage or the request's limit is unknown: the common case).
 * With several choices `completion_tokens` counts all of them, so a sum below the limit
 * proves each was below it; a sum above proves nothing and says `max-tokens`.
 *
 * @example
 * // The embedded model: 512-token context, 400-token prompt, 256 tokens allowed.
 * lengthLimitReason(
 *   { ...response, usage: { prompt_tokens: 400, completion_tokens: 112, total_tokens: 512 } },
 *   { max_tokens: 256 },
 * ); // 'context-length'
 */
export function lengthLimitReason(
  response: AnyResponse,
  request?: LengthLimitRequest,
  contextTokens?: number,
): LengthLimitReason | undefined {
  const choices: unknown = (response as { choices?: unknown } | null)?.choices;
  if (
    !Array.isArray(choices) ||
    !choices.some((c) => (c as { finish_reason?: unknown } | null)?.finish_reason === 'length')
  ) {
    return undefined;
  }
  const usage = (response as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null }).usage;
  const completion = typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : undefined;
  const prompt = typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined;
  if (completion === undefined) return 'max-tokens';
  const allowed = request?.max_completion_tokens ?? request?.max_tokens;
  if (typeof allowed === 'number' && allowed > 0 && completion < allowed) return 'context-length';
  if (contextTokens !== undefined && prompt !== undefined && prompt + completion >= contextTokens) {
    return 'context-length';
  }
  return 'max-tokens';
}
