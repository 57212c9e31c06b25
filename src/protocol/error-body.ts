/**
 * The one builder of `{"error": {...}}` bodies, in both dialects, and the one map from a
 * thrown error to the status and body that describe it. The server's HTTP answers, its
 * stream error frames, `ResponseStream.toSSE` and the backends' BadRequestErrors all come
 * from here, so the same failure reads the same wherever it surfaces. No node-only imports.
 * @module
 */
import { ApiError, isSluiceError, ModelLoadError, OverloadedError } from '../errors.js';
import type { ApiErrorBody } from '../types.js';

/** `azure`: Azure's bodies (code first, `type`/`param` only where Azure sends them); `openai`: OpenAI's four fields. */
export type ErrorDialect = 'azure' | 'openai';

/** What one error says, before it takes a dialect's shape. */
export interface ErrorFields {
  /** Azure: `code` as Azure spells it (`DeploymentNotFound`, `429`); OpenAI: its snake_case code, or null. */
  code: string | null;
  message: string;
  /** OpenAI's error family: `invalid_request_error`, `server_error`, ...; Azure leaves it out when absent. */
  type?: string;
  /** The request field at fault, or null. */
  param?: string | null;
  innererror?: NonNullable<ApiErrorBody['error']['innererror']>;
}

/**
 * Azure's error body, `{"error": {"code", "message", ...extra}}`, as the server answers it.
 * Only the extras given appear (Azure leaves `type`/`param` out of most errors).
 *
 * @example
 * errorBody('DeploymentNotFound', 'The API deployment for this resource does not exist.');
 * // -> { error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' } }
 * errorBody('unknown_parameter', 'Unrecognized request argument supplied: foo', { type: 'invalid_request_error', param: 'foo' });
 */
export function errorBody(
  code: string,
  message: string,
  extra?: { type?: string; param?: string | null; innererror?: NonNullable<ApiErrorBody['error']['innererror']> },
): ApiErrorBody {
  const error: ApiErrorBody['error'] = { code, message };
  if (extra?.type !== undefined) error.type = extra.type;
  if (extra?.param !== undefined) error.param = extra.param;
  if (extra?.innererror !== undefined) error.innererror = extra.innererror;
  return { error };
}

/**
 * The body for `fields` in a dialect. OpenAI always sends `message`, `type`, `param` and
 * `code` (null when absent), in that order; Azure sends `code` and `message`, plus `type`
 * and `param` when they say something.
 *
 * @example
 * dialectErrorBody('openai', { code: 'invalid_api_key', message: 'Incorrect API key provided.', type: 'invalid_request_error' });
 * // -> { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }
 */
export function dialectErrorBody(dialect: ErrorDialect, fields: ErrorFields): ApiErrorBody {
  if (dialect === 'openai') {
    return {
      error: {
        message: fields.message,
        type: fields.type ?? 'invalid_request_error',
        param: fields.param ?? null,
        code: fields.code,
        ...(fields.innererror !== undefined ? { innererror: fields.innererror } : {}),
      },
    };
  }
  return errorBody(fields.code ?? String(fields.type ?? 'error'), fields.message, {
    ...(fields.type !== undefined ? { type: fields.type } : {}),
    ...(fields.param !== undefined ? { param: fields.param } : {}),
    ...(fields.innererror !== undefined ? { innererror: fields.innererror } : {}),
  });
}

/** A failure described for the wire: HTTP status, body, and how long to wait before retrying. */
export interface FailureReply {
  status: number;
  body: ApiErrorBody;
  /** Set for 429s (ours or an upstream's): the retry headers carry it. */
  retryAfterMs?: number;
}

/**
 * Maps anything thrown while producing a response to the status and body that describe it.
 * Upstream ApiErrors keep their status and body (bodies are already scrubbed by the
 * backend that received them); our own errors get our words; anything else is a bare 500
 * without its message, which might hold anything. An OverloadedError is a 429 whose
 * wording the server may replace (it knows the operation).
 *
 * @example
 * describeFailure(new ModelLoadError('No model at /x.gguf', '/x.gguf'), 'azure').status; // 500
 */
export function describeFailure(error: unknown, dialect: ErrorDialect = 'azure'): FailureReply {
  if (error instanceof OverloadedError) {
    const ms = Math.max(0, Math.ceil(error.retryAfterMs));
    return {
      status: 429,
      body: dialectErrorBody(dialect, {
        code: dialect === 'openai' ? 'rate_limit_exceeded' : '429',
        message: `Every model slot and queue place is taken. Please retry after ${retrySeconds(ms)} second${retrySeconds(ms) === 1 ? '' : 's'}.`,
        ...(dialect === 'openai' ? { type: 'requests' } : {}),
      }),
      retryAfterMs: ms,
    };
  }
  if (error instanceof ModelLoadError) return serverError(dialect, 500, 'ModelLoadFailed', error.message);
  if (error instanceof ApiError) {
    const status = error.status >= 400 && error.status <= 599 ? error.status : 502;
    const body = error.body ?? dialectErrorBody(dialect, { code: String(error.status), message: error.message });
    const retryMs = error.rateLimit?.retryAfterMs;
    return retryMs === undefined ? { status, body } : { status, body, retryAfterMs: Math.ceil(retryMs) };
  }
  if (isSluiceError(error)) {
    switch (error.code) {
      case 'SLUICE_ABORTED':
        return serverError(dialect, 503, 'ServiceUnavailable', error.message);
      case 'SLUICE_TIMEOUT':
        return serverError(dialect, 504, 'GatewayTimeout', error.message);
      case 'SLUICE_CONNECTION':
      case 'SLUICE_PROTOCOL':
      case 'SLUICE_STREAM_TRUNCATED':
      case 'SLUICE_STREAM_ERROR':
      case 'SLUICE_SSE_LINE_TOO_LONG': {
        // A relayed error frame keeps the upstream's own body.
        const frameBody = (error as { body?: ApiErrorBody }).body;
        if (frameBody?.error) return { status: 502, body: frameBody };
        return serverError(dialect, 502, 'BadGateway', error.message);
      }
      default:
        return serverError(dialect, 500, 'InternalServerError', error.message);
    }
  }
  return serverError(dialect, 500, 'InternalServerError', 'The server had an error while processing your request.');
}

/** `retry-after` in whole seconds: rounded up, at least 1 (0 would invite an instant retry). */
export function retrySeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The two retry headers Azure sends with a 429, from one delay: `retry-after-ms` exact,
 * `retry-after` in whole seconds rounded up. The only place either header is written.
 *
 * @example
 * retryHeaders(1200); // { 'retry-after-ms': '1200', 'retry-after': '2' }
 */
export function retryHeaders(ms: number): Record<'retry-after-ms' | 'retry-after', string> {
  const exact = Math.max(0, Math.ceil(ms));
  return { 'retry-after-ms': String(exact), 'retry-after': String(retrySeconds(exact)) };
}

// --- internal ---

function serverError(dialect: ErrorDialect, status: number, azureCode: string, message: string): FailureReply {
  return {
    status,
    body: dialectErrorBody(dialect, {
      code: dialect === 'openai' ? null : azureCode,
      message,
      type: 'server_error',
      param: null,
    }),
  };
}
