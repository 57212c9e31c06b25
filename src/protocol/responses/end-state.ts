/**
 * How a Responses answer ended, on the one `EndState` (see `../end-state.ts`): from the
 * terminal event of a stream, or from the status of a whole response.
 * @module
 */
import { type SluiceError, StreamErrorFrame, StreamTruncatedError, type StreamTruncationReason } from '../../errors.js';
import type { ApiErrorBody } from '../../types.js';
import { decideEndState, type EndState, type FinishHow } from '../end-state.js';
import type { ResponseErrorEvent, ResponseObject } from './types.js';

/**
 * The end state of a response by its `status`:
 * - `completed` -> `completed`;
 * - `incomplete` -> by `incomplete_details.reason`: `max_output_tokens` -> `truncated`
 *   `max-tokens`; `content_filter` -> `filtered` (where `completion`; Responses names no
 *   categories); any other reason -> `truncated` `unfinished-choice`;
 * - `failed` / `cancelled` -> `failed`, with a StreamErrorFrame carrying `error`;
 * - `queued` / `in_progress` (a background response not finished yet) -> undefined.
 * `unfinished` lists the output items whose status is `incomplete` or `in_progress`.
 *
 * @example
 * const response = await client.responses.create({ input: 'Hi', max_output_tokens: 16 });
 * endStateOfResponseObject(response); // { state: 'truncated', reason: 'max-tokens', unfinished: [0] }
 */
export function endStateOfResponseObject(response: ResponseObject): EndState | undefined {
  switch (response.status) {
    case 'queued':
    case 'in_progress':
      return undefined;
    case 'incomplete': {
      const reason = response.incomplete_details?.reason;
      if (reason === 'content_filter') return { state: 'filtered', where: 'completion', categories: [], choices: [] };
      return {
        state: 'truncated',
        reason: reason === 'max_output_tokens' ? 'max-tokens' : 'unfinished-choice',
        unfinished: unfinishedItems(response),
      };
    }
    case 'failed':
    case 'cancelled':
      return { state: 'failed', error: responseFailure(response) };
    default:
      return { state: 'completed' };
  }
}

/**
 * Decides a stream's end state: aborted and errors as for chat (`decideEndState`); then the
 * terminal event (`terminal`: the response it carried, or the `error` event); no terminal
 * event -> `truncated` `no-done`, `unfinished` listing the items that never got their
 * `output_item.done`.
 *
 * @example
 * decideResponsesEndState({ sawDone: false }, undefined, [0]); // { state: 'truncated', reason: 'no-done', unfinished: [0] }
 */
export function decideResponsesEndState(
  how: FinishHow,
  terminal: ResponseObject | ResponseErrorEvent | undefined,
  open: number[],
): EndState {
  if (!('sawDone' in how)) return decideEndState(how, { choices: [], sawUsage: false });
  if (terminal === undefined) return { state: 'truncated', reason: 'no-done', unfinished: open };
  if (terminal.type === 'error') return { state: 'failed', error: errorEventFailure(terminal as ResponseErrorEvent) };
  return endStateOfResponseObject(terminal as ResponseObject) ?? { state: 'completed' };
}

/**
 * The error a truncated Responses stream reports (the partial kept), or undefined when the
 * end is the server's own (a limit: the text is all the model produced).
 *
 * @example
 * responsesTruncationError({ state: 'truncated', reason: 'no-done', unfinished: [0] }, partial)?.code; // 'SLUICE_STREAM_TRUNCATED'
 */
export function responsesTruncationError(
  end: Extract<EndState, { state: 'truncated' }>,
  partial?: ResponseObject,
  cause?: unknown,
): StreamTruncatedError | undefined {
  if (end.reason !== 'no-done') return undefined;
  const reason: StreamTruncationReason = end.reason;
  return new StreamTruncatedError(
    reason,
    'The stream ended before its terminal event (response.completed, .incomplete or .failed); the partial result is kept',
    { ...(partial !== undefined ? { partial } : {}), ...(cause !== undefined ? { cause } : {}) },
  );
}

// --- internal ---------------------------------------------------------------------------

function unfinishedItems(response: ResponseObject): number[] {
  const out: number[] = [];
  const items = Array.isArray(response.output) ? response.output : [];
  for (let i = 0; i < items.length; i++) {
    const status = (items[i] as { status?: unknown } | null)?.status;
    if (status === 'incomplete' || status === 'in_progress') out.push(i);
  }
  return out;
}

function responseFailure(response: ResponseObject): SluiceError {
  const info = response.error;
  const code = typeof info?.code === 'string' ? info.code : response.status === 'cancelled' ? 'cancelled' : undefined;
  const message =
    typeof info?.message === 'string' ? info.message : `the response ended with status ${String(response.status)}`;
  const body: ApiErrorBody = { error: { message, ...(code !== undefined ? { code } : {}) } };
  return new StreamErrorFrame(`The response failed: ${code !== undefined ? `${code}: ` : ''}${message}`, body);
}

function errorEventFailure(event: ResponseErrorEvent): SluiceError {
  const code = typeof event.code === 'string' && event.code !== '' ? event.code : undefined;
  const body: ApiErrorBody = {
    error: {
      message: event.message,
      ...(code !== undefined ? { code } : {}),
      ...(typeof event.param === 'string' ? { param: event.param } : {}),
    },
  };
  return new StreamErrorFrame(`The stream failed: ${code !== undefined ? `${code}: ` : ''}${event.message}`, body);
}
