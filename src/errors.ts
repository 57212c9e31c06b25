/**
 * Every error Sluice throws or reports, in one file. Match on `code`, not `instanceof`:
 * codes are stable across versions and survive being serialized.
 *
 * No message ever contains a key or token: messages are built from status, Azure's error
 * body and our own words only.
 * @module
 */
import type { ResponseObject } from './protocol/responses/types.js';
import type { AnyResponse, ApiErrorBody, ContentFilterResults } from './types.js';

export const ErrorCodes = {
  /** An SSE line exceeded the decoder's `maxLineLength`. */
  SSE_LINE_TOO_LONG: 'SLUICE_SSE_LINE_TOO_LONG',
  /** A `data:` payload was not valid JSON, or a 200 answer was not `text/event-stream`. */
  PROTOCOL: 'SLUICE_PROTOCOL',
  /** The server answered with an HTTP error (status + Azure error body). */
  API: 'SLUICE_API',
  /** 401 / 403: bad key, token or endpoint. */
  AUTH: 'SLUICE_AUTH',
  /** 404, e.g. DeploymentNotFound. */
  NOT_FOUND: 'SLUICE_NOT_FOUND',
  /** 429 after all retries. */
  RATE_LIMIT: 'SLUICE_RATE_LIMIT',
  /** The prompt (400 content_filter) or the completion (finish_reason content_filter) was filtered. */
  CONTENT_FILTER: 'SLUICE_CONTENT_FILTER',
  /** 400 and other 4xx: the request itself is wrong. */
  BAD_REQUEST: 'SLUICE_BAD_REQUEST',
  /** 5xx after all retries. */
  SERVER: 'SLUICE_SERVER',
  /** DNS, refused or reset connection, TLS: the request never got an HTTP answer. */
  CONNECTION: 'SLUICE_CONNECTION',
  /** A time-out; `phase` says which (headers, first-token, idle, total). */
  TIMEOUT: 'SLUICE_TIMEOUT',
  /** The stream ended without `[DONE]` or with an unfinished choice. */
  STREAM_TRUNCATED: 'SLUICE_STREAM_TRUNCATED',
  /** The server sent an error frame mid-stream (`data: {"error":...}` or `event: error`). */
  STREAM_ERROR: 'SLUICE_STREAM_ERROR',
  /** The caller aborted. */
  ABORTED: 'SLUICE_ABORTED',
  /** A setting is missing or invalid. */
  CONFIG: 'SLUICE_CONFIG',
  /** The local model could not be loaded. */
  MODEL_LOAD: 'SLUICE_MODEL_LOAD',
  /** The local backend's pool and queue are full (answered as 429 with retry-after-ms). */
  OVERLOADED: 'SLUICE_OVERLOADED',
  /** A non-streaming answer was larger than the client's `maxResponseBytes`. */
  RESPONSE_TOO_LARGE: 'SLUICE_RESPONSE_TOO_LARGE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** What arrived before a failure, in the non-streaming shape of its API. */
export type PartialResult = AnyResponse | ResponseObject;

export interface SluiceErrorOptions {
  cause?: unknown;
  /** What arrived before the failure, accumulated into the non-streaming shape. */
  partial?: PartialResult;
}

/** Base class: `name` is the class name, `code` is stable, `partial` keeps what arrived. */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  partial: PartialResult | undefined;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.partial = options.partial;
  }
}

export type SseDecodeErrorType = 'line-too-long';

export class SseDecodeError extends SluiceError {
  readonly type: SseDecodeErrorType;
  constructor(type: SseDecodeErrorType, message: string, options?: SluiceErrorOptions) {
    super(ErrorCodes.SSE_LINE_TOO_LONG, message, options);
    this.type = type;
  }
}

export type ProtocolErrorType = 'not-event-stream' | 'invalid-json' | 'unexpected-shape';

export class ProtocolError extends SluiceError {
  readonly type: ProtocolErrorType;
  constructor(type: ProtocolErrorType, message: string, options?: SluiceErrorOptions) {
    super(ErrorCodes.PROTOCOL, message, options);
    this.type = type;
  }
}

/** Parsed `x-ratelimit-*` and retry headers. Placeholders (-1) are reported as undefined. */
export interface RateLimitInfo {
  remainingRequests?: number;
  remainingTokens?: number;
  limitRequests?: number;
  limitTokens?: number;
  /** Milliseconds the server asked us to wait (retry-after-ms, or retry-after). */
  retryAfterMs?: number;
  /** `x-ratelimit-reset-requests` in ms (its -1 / 0 placeholders are left out). */
  resetRequestsMs?: number;
  /** `x-ratelimit-reset-tokens` in ms (its -1 / 0 placeholders are left out). */
  resetTokensMs?: number;
}

export interface ApiErrorDetails extends SluiceErrorOptions {
  status: number;
  body?: ApiErrorBody;
  /** `apim-request-id` or `x-request-id`. */
  requestId?: string;
  rateLimit?: RateLimitInfo;
}

/** An HTTP error answer. Subclasses by status family; all carry Azure's error body. */
export class ApiError extends SluiceError {
  readonly status: number;
  readonly body: ApiErrorBody | undefined;
  readonly requestId: string | undefined;
  readonly rateLimit: RateLimitInfo | undefined;

  constructor(message: string, details: ApiErrorDetails, code: ErrorCode = ErrorCodes.API) {
    super(code, message, details);
    this.status = details.status;
    this.body = details.body;
    this.requestId = details.requestId;
    this.rateLimit = details.rateLimit;
  }

  /** Azure's `error.code` (e.g. `DeploymentNotFound`, `content_filter`, `429`). */
  get apiCode(): string | undefined {
    return this.body?.error.code ?? undefined;
  }
}

export class AuthenticationError extends ApiError {
  constructor(message: string, details: ApiErrorDetails) {
    super(message, details, ErrorCodes.AUTH);
  }
}
export class NotFoundError extends ApiError {
  constructor(message: string, details: ApiErrorDetails) {
    super(message, details, ErrorCodes.NOT_FOUND);
  }
}
export class RateLimitError extends ApiError {
  constructor(message: string, details: ApiErrorDetails) {
    super(message, details, ErrorCodes.RATE_LIMIT);
  }
}
export class BadRequestError extends ApiError {
  constructor(message: string, details: ApiErrorDetails) {
    super(message, details, ErrorCodes.BAD_REQUEST);
  }
}
export class ServerError extends ApiError {
  constructor(message: string, details: ApiErrorDetails) {
    super(message, details, ErrorCodes.SERVER);
  }
}

/** Where content was filtered: a 400 on the prompt, or a finish_reason on a choice. */
export class ContentFilterError extends ApiError {
  readonly where: 'prompt' | 'completion';
  /** Categories that fired, e.g. `['violence', 'jailbreak']`. */
  readonly categories: string[];
  readonly results: ContentFilterResults | undefined;
  constructor(
    message: string,
    details: ApiErrorDetails & { where: 'prompt' | 'completion'; categories: string[]; results?: ContentFilterResults },
  ) {
    super(message, details, ErrorCodes.CONTENT_FILTER);
    this.where = details.where;
    this.categories = details.categories;
    this.results = details.results;
  }
}

export class ConnectionError extends SluiceError {
  constructor(message: string, options?: SluiceErrorOptions) {
    super(ErrorCodes.CONNECTION, message, options);
  }
}

export type TimeoutPhase = 'headers' | 'first-token' | 'idle' | 'total';

export class TimeoutError extends SluiceError {
  readonly phase: TimeoutPhase;
  readonly timeoutMs: number;
  constructor(phase: TimeoutPhase, timeoutMs: number, options?: SluiceErrorOptions) {
    super(ErrorCodes.TIMEOUT, `${TIMEOUT_WORDS[phase]} after ${timeoutMs} ms`, options);
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

const TIMEOUT_WORDS: Record<TimeoutPhase, string> = {
  headers: 'No response headers',
  'first-token': 'No first token',
  idle: 'No chunk arrived',
  total: 'The overall deadline passed',
};

/** A stream fault: the answer stopped because the stream broke (end state `truncated`). */
export type StreamTruncationReason = 'no-done' | 'unfinished-choice';

/**
 * A limit: the answer stopped because it hit one (finish_reason `length`; the end state
 * stays `completed`, the text is all the model produced). Which one matters to the user:
 * raising `max_tokens` helps with `max-tokens` and never with `context-length`.
 */
export type LengthLimitReason = 'max-tokens' | 'context-length';

/**
 * Why an answer stopped short:
 * - `no-done`: the stream ended without `[DONE]` (connection cut, server gone);
 * - `unfinished-choice`: `[DONE]` came, but a choice never got its finish_reason;
 * - `max-tokens`: the answer used all the tokens the request allowed it;
 * - `context-length`: the model's context window is full: prompt (with the conversation so
 *   far) and answer together used all of it, before the request's token allowance ran out.
 */
export type TruncationReason = StreamTruncationReason | LengthLimitReason;

/** Each truncation reason in words fit for a user (no option names: the CLI and the page add their own advice). */
export const TRUNCATION_REASON_TEXT: Readonly<Record<TruncationReason, string>> = Object.freeze({
  'no-done': 'the stream ended before the server marked it done',
  'unfinished-choice': 'the stream ended before the server finished the answer',
  'max-tokens': 'the answer reached its token limit',
  'context-length': "the model's context is full: the conversation and the answer together fill all of it",
});

export class StreamTruncatedError extends SluiceError {
  readonly reason: StreamTruncationReason;
  constructor(reason: StreamTruncationReason, message: string, options?: SluiceErrorOptions) {
    super(ErrorCodes.STREAM_TRUNCATED, message, options);
    this.reason = reason;
  }
}

/** An error frame inside a 200 stream. */
export class StreamErrorFrame extends SluiceError {
  readonly body: ApiErrorBody | undefined;
  constructor(message: string, body?: ApiErrorBody, options?: SluiceErrorOptions) {
    super(ErrorCodes.STREAM_ERROR, message, options);
    this.body = body;
  }
}

export class AbortError extends SluiceError {
  constructor(message = 'The request was aborted', options?: SluiceErrorOptions) {
    super(ErrorCodes.ABORTED, message, options);
  }
}

export class ConfigError extends SluiceError {
  /** The setting to fix, e.g. `AZURE_OPENAI_ENDPOINT` or `--model`. */
  readonly setting: string | undefined;
  constructor(message: string, setting?: string, options?: SluiceErrorOptions) {
    super(ErrorCodes.CONFIG, message, options);
    this.setting = setting;
  }
}

export class ModelLoadError extends SluiceError {
  readonly modelPath: string;
  constructor(message: string, modelPath: string, options?: SluiceErrorOptions) {
    super(ErrorCodes.MODEL_LOAD, message, options);
    this.modelPath = modelPath;
  }
}

export class OverloadedError extends SluiceError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, options?: SluiceErrorOptions) {
    super(ErrorCodes.OVERLOADED, `All model slots and the queue are full; retry after ${retryAfterMs} ms`, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * A non-streaming answer was larger than the limit (the client's `maxResponseBytes`):
 * reading stopped at the limit, so nothing past it was held in memory.
 */
export class ResponseTooLargeError extends SluiceError {
  /** The limit that was exceeded, in bytes. */
  readonly limitBytes: number;
  constructor(limitBytes: number, options?: SluiceErrorOptions) {
    super(
      ErrorCodes.RESPONSE_TOO_LARGE,
      `The answer is larger than ${limitBytes} bytes, the limit for a non-streaming answer; reading stopped there. Stream the request instead, or raise the limit.`,
      options,
    );
    this.limitBytes = limitBytes;
  }
}

/** True for any Sluice error; narrows `unknown` in catch blocks. */
export function isSluiceError(value: unknown): value is SluiceError {
  return value instanceof SluiceError;
}
