/**
 * How a stream ended, decided from what arrived. Pure functions; the accumulator calls them.
 * @module
 */
import { ContentFilterError, type SluiceError, StreamTruncatedError, type TruncationReason } from '../errors.js';
import type { AnyResponse } from '../types.js';

/**
 * How a stream ended, honestly. `completed` needs `[DONE]` and a finish_reason on every
 * choice; anything else keeps the partial result beside the state.
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
  end: Extract<EndState, { state: 'truncated' }>,
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
