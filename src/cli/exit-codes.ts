/**
 * The CLI's exit codes: one table from error `code` to exit status, and the meanings that
 * `sluice --help` and docs/cli.md print. A test keeps all three in step.
 * @module
 */
import { type ErrorCode, ErrorCodes } from '../errors.js';
import type { EndState } from '../protocol/end-state.js';

/** Exit statuses, by meaning. */
export const ExitCode = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  AUTH: 3,
  RATE_LIMITED: 4,
  CONTENT_FILTERED: 5,
  STREAM_BROKEN: 6,
  NETWORK: 7,
  TIMEOUT: 8,
  SERVICE: 9,
  LOG_UNAVAILABLE: 10,
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** What each status means, in the order `--help` and the docs list them. */
export const EXIT_CODE_MEANINGS: ReadonlyArray<{ code: ExitCodeValue; meaning: string }> = [
  { code: ExitCode.OK, meaning: 'success: the answer arrived complete' },
  { code: ExitCode.UNEXPECTED, meaning: 'unexpected error (a bug: please report it)' },
  {
    code: ExitCode.USAGE,
    meaning:
      'usage or configuration error (bad flag, missing setting, unknown deployment, 400; a broken settings file, a missing template parameter, an attachment refused, a models list the endpoint does not offer)',
  },
  { code: ExitCode.AUTH, meaning: 'authentication failed (401/403: key, token or endpoint)' },
  { code: ExitCode.RATE_LIMITED, meaning: 'rate limited (429) after all retries, or the local model is overloaded' },
  { code: ExitCode.CONTENT_FILTERED, meaning: 'the prompt or the answer was blocked by the content filter' },
  {
    code: ExitCode.STREAM_BROKEN,
    meaning: 'the stream was truncated, carried an error frame or was malformed (or lacked choices asked for with -n)',
  },
  { code: ExitCode.NETWORK, meaning: 'network failure: the service could not be reached' },
  { code: ExitCode.TIMEOUT, meaning: 'time-out (--timeout, --idle-timeout or the headers limit)' },
  { code: ExitCode.SERVICE, meaning: 'the service failed (5xx or another HTTP error) after all retries' },
  {
    code: ExitCode.LOG_UNAVAILABLE,
    meaning:
      'the log cannot be used: its database is locked, damaged or read-only, or its setting cannot be saved (sluice logs, --continue, --cid; logging never fails a request)',
  },
  { code: ExitCode.INTERRUPTED, meaning: 'interrupted (Ctrl-C); what arrived was kept' },
];

/** Every error code, mapped; `satisfies` makes a new code in src/errors.ts a type error here. */
export const EXIT_CODE_BY_ERROR = {
  [ErrorCodes.SSE_LINE_TOO_LONG]: ExitCode.STREAM_BROKEN,
  [ErrorCodes.PROTOCOL]: ExitCode.STREAM_BROKEN,
  [ErrorCodes.API]: ExitCode.SERVICE,
  [ErrorCodes.AUTH]: ExitCode.AUTH,
  [ErrorCodes.NOT_FOUND]: ExitCode.USAGE,
  [ErrorCodes.RATE_LIMIT]: ExitCode.RATE_LIMITED,
  [ErrorCodes.CONTENT_FILTER]: ExitCode.CONTENT_FILTERED,
  [ErrorCodes.BAD_REQUEST]: ExitCode.USAGE,
  [ErrorCodes.SERVER]: ExitCode.SERVICE,
  [ErrorCodes.CONNECTION]: ExitCode.NETWORK,
  [ErrorCodes.TIMEOUT]: ExitCode.TIMEOUT,
  [ErrorCodes.STREAM_TRUNCATED]: ExitCode.STREAM_BROKEN,
  [ErrorCodes.STREAM_ERROR]: ExitCode.STREAM_BROKEN,
  [ErrorCodes.ABORTED]: ExitCode.INTERRUPTED,
  [ErrorCodes.CONFIG]: ExitCode.USAGE,
  [ErrorCodes.MODEL_LOAD]: ExitCode.USAGE,
  [ErrorCodes.OVERLOADED]: ExitCode.RATE_LIMITED,
  [ErrorCodes.RESPONSE_TOO_LARGE]: ExitCode.STREAM_BROKEN,
} as const satisfies Record<ErrorCode, ExitCodeValue>;

/**
 * The exit status for an error: its `code` looked up in the table, 1 for anything else.
 * @example
 * exitCodeForError(new AuthenticationError('denied', { status: 401 })) // 3
 */
export function exitCodeForError(error: unknown): ExitCodeValue {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && Object.hasOwn(EXIT_CODE_BY_ERROR, code)) {
    return EXIT_CODE_BY_ERROR[code as ErrorCode];
  }
  return ExitCode.UNEXPECTED;
}

/**
 * The exit status for how a stream ended.
 * @example
 * exitCodeForEnd({ state: 'truncated', reason: 'no-done', unfinished: [0] }) // 6
 */
export function exitCodeForEnd(end: EndState): ExitCodeValue {
  switch (end.state) {
    case 'completed':
      return ExitCode.OK;
    case 'filtered':
      return ExitCode.CONTENT_FILTERED;
    case 'truncated':
      // A limit is the answer's own end (as a chat `length` finish); only a broken stream fails.
      return end.reason === 'no-done' || end.reason === 'unfinished-choice' ? ExitCode.STREAM_BROKEN : ExitCode.OK;
    case 'aborted':
      return ExitCode.INTERRUPTED;
    case 'failed':
      return exitCodeForError(end.error);
  }
}
