/**
 * Every error answer the server sends, in the dialect of the route it came in on (Azure's
 * words on `/openai/...`, OpenAI's on `/v1/...`), each with its status and headers. Bodies
 * come from the one builder (protocol/error-body.ts); the map from a thrown error to a status
 * is protocol's `describeFailure`. Messages are our own words or SluiceError messages, which
 * never hold keys; stacks never leave the process.
 * @module
 */
import { OverloadedError } from '../errors.js';
import {
  describeFailure,
  dialectErrorBody,
  type ErrorDialect,
  type ErrorFields,
  retryHeaders,
  retrySeconds,
} from '../protocol/error-body.js';
import type { RequestProblem } from '../protocol/request.js';
import type { ApiErrorBody } from '../types.js';

/** A complete error answer: status, body, extra headers. */
export interface ErrorReply {
  status: number;
  body: ApiErrorBody;
  headers?: Record<string, string>;
}

/** Which Azure operation a request is, for the 429 message (Azure names them this way). */
export type Operation = 'ChatCompletions_Create' | 'Completions_Create' | 'Responses_Create' | 'Embeddings_Create';

/** 401: Azure's words byte for byte; OpenAI's `invalid_api_key`. */
export function unauthorized(dialect: ErrorDialect): ErrorReply {
  if (dialect === 'openai') {
    return reply(401, dialect, {
      code: 'invalid_api_key',
      message:
        'Incorrect API key provided. Send the key this server was started with as `Authorization: Bearer <key>`.',
      type: 'invalid_request_error',
      param: null,
    });
  }
  return reply(401, dialect, {
    code: '401',
    message:
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
  });
}

/** 404 for an unknown route: Azure's `Resource not found`; OpenAI's `Invalid URL (METHOD /path)`. */
export function notFound(dialect: ErrorDialect, method: string, path: string): ErrorReply {
  if (dialect === 'openai') {
    return reply(404, dialect, {
      code: null,
      message: `Invalid URL (${method} ${path.slice(0, 200)})`,
      type: 'invalid_request_error',
      param: null,
    });
  }
  return reply(404, dialect, { code: '404', message: 'Resource not found' });
}

/**
 * 404 for a response this server does not keep (never stored, expired, or answered by an
 * upstream, which keeps its own). `param` is `previous_response_id` when the request named it.
 */
export function responseNotFound(dialect: ErrorDialect, id: string, param: string | null = null): ErrorReply {
  const what = param === 'previous_response_id' ? 'Previous response' : 'Response';
  return reply(404, dialect, {
    code: param === 'previous_response_id' ? 'previous_response_not_found' : dialect === 'openai' ? null : 'NotFound',
    message: `${what} with id '${id.slice(0, 200)}' not found. This server keeps responses made with store: true for a limited time (see docs/server.md); create a new response instead.`,
    type: 'invalid_request_error',
    param,
  });
}

/** Azure's 400 for an operation the deployment's model does not do (embeddings on a chat model). */
export function operationNotSupported(dialect: ErrorDialect, operation: string, model: string | undefined): ErrorReply {
  return reply(400, dialect, {
    code: dialect === 'openai' ? 'operation_not_supported' : 'OperationNotSupported',
    message: `The ${operation} operation does not work with the specified model${model === undefined ? '' : `, ${model.slice(0, 200)}`}. Please choose a different model (a deployment that serves ${operation}) and try again.`,
    type: 'invalid_request_error',
    param: null,
  });
}

/** Azure's 404 for a deployment name it does not know. */
export const DEPLOYMENT_NOT_FOUND: ErrorReply = reply(404, 'azure', {
  code: 'DeploymentNotFound',
  message:
    'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
});

/** OpenAI's 404 for an unknown model on the `/v1` routes. */
export function modelNotFound(model: string): ErrorReply {
  return reply(404, 'openai', {
    code: 'model_not_found',
    message: `The model \`${model.slice(0, 200)}\` does not exist or you do not have access to it.`,
    type: 'invalid_request_error',
    param: 'model',
  });
}

export const MISSING_API_VERSION: ErrorReply = reply(400, 'azure', {
  code: 'MissingApiVersionParameter',
  message: 'The api-version query parameter (?api-version=) is required for all requests.',
  type: 'invalid_request_error',
  param: 'api-version',
});

export function invalidApiVersion(version: string): ErrorReply {
  return reply(400, 'azure', {
    code: 'InvalidApiVersionParameter',
    message: `The api-version '${version}' is invalid: expected a date such as 2024-10-21 or 2024-10-01-preview.`,
    type: 'invalid_request_error',
    param: 'api-version',
  });
}

export function methodNotAllowed(dialect: ErrorDialect, method: string, allow: string): ErrorReply {
  return {
    ...reply(405, dialect, {
      code: dialect === 'openai' ? 'method_not_allowed' : '405',
      message: `The method ${method} is not allowed on this route; allowed: ${allow}.`,
      type: 'invalid_request_error',
      param: null,
    }),
    headers: { allow },
  };
}

export function payloadTooLarge(dialect: ErrorDialect, limitBytes: number): ErrorReply {
  return reply(413, dialect, {
    code: dialect === 'openai' ? 'request_too_large' : 'RequestEntityTooLarge',
    message: `The request body is larger than this server's limit of ${limitBytes} bytes.`,
    type: 'invalid_request_error',
    param: null,
  });
}

export function unsupportedMediaType(dialect: ErrorDialect, got: string | undefined): ErrorReply {
  return reply(415, dialect, {
    code: dialect === 'openai' ? 'unsupported_media_type' : 'UnsupportedMediaType',
    message: `The request body must be JSON sent with Content-Type: application/json${got ? `; got ${JSON.stringify(got.slice(0, 80))}` : ' (none was sent)'}.`,
    type: 'invalid_request_error',
    param: null,
  });
}

/** 403 for a browser page on an origin this server does not allow (see --cors-origin). */
export function originNotAllowed(dialect: ErrorDialect, origin: string): ErrorReply {
  return reply(403, dialect, {
    code: dialect === 'openai' ? 'origin_not_allowed' : 'OriginNotAllowed',
    message: `Requests from the web origin ${JSON.stringify(origin.slice(0, 200))} are not allowed. Start the server with --cors-origin ${origin.slice(0, 200)} to allow that page.`,
    type: 'invalid_request_error',
    param: null,
  });
}

/** 421 for a Host header that names another server (DNS rebinding on a loopback bind). */
export function hostNotAllowed(dialect: ErrorDialect, host: string): ErrorReply {
  return reply(421, dialect, {
    code: dialect === 'openai' ? 'host_not_allowed' : 'MisdirectedRequest',
    message: `This server listens on a loopback address and answers only to localhost, 127.0.0.1 or [::1], not to the host ${JSON.stringify(host.slice(0, 200))}. Use http://127.0.0.1:<port>, or listen on another address with --host.`,
    type: 'invalid_request_error',
    param: null,
  });
}

/** A 400 naming the parameter, from the one request validator. */
export function invalidRequest(dialect: ErrorDialect, problem: RequestProblem): ErrorReply {
  return reply(400, dialect, { ...problem, type: 'invalid_request_error' });
}

/**
 * The 429 with both retry headers; Azure names the operation and api-version. `exceeded`
 * says what was exceeded (default: this server's capacity; a key's limit names the key).
 */
export function tooManyRequests(
  dialect: ErrorDialect,
  retryAfterMs: number,
  operation: Operation,
  apiVersion: string | undefined,
  exceeded = 'the capacity of this Sluice server: every model slot and queue place is taken',
): ErrorReply {
  const seconds = retrySeconds(retryAfterMs);
  const wait = `Please retry after ${seconds} second${seconds === 1 ? '' : 's'}.`;
  const fields: ErrorFields =
    dialect === 'openai'
      ? {
          code: 'rate_limit_exceeded',
          message: `Rate limit reached: ${exceeded}. ${wait}`,
          type: 'requests',
          param: null,
        }
      : {
          code: '429',
          message: `Requests to the ${operation} Operation${apiVersion ? ` under Azure OpenAI API version ${apiVersion}` : ''} have exceeded ${exceeded}. ${wait}`,
        };
  return { ...reply(429, dialect, fields), headers: retryHeaders(retryAfterMs) };
}

/** 403 for a key that may not do this (budget spent, model not allowed, not an admin). */
export function forbidden(dialect: ErrorDialect, azureCode: string, message: string): ErrorReply {
  return reply(403, dialect, {
    code: dialect === 'openai' ? snakeCase(azureCode) : azureCode,
    message,
    type: 'invalid_request_error',
    param: null,
  });
}

/**
 * Maps anything a backend throws to an answer (see protocol's describeFailure); our own
 * overload gets the 429 with the operation named. Upstream retry delays are kept (in the
 * two retry headers), never other upstream headers.
 */
export function replyForError(
  error: unknown,
  dialect: ErrorDialect,
  operation: Operation,
  apiVersion: string | undefined,
): ErrorReply {
  if (error instanceof OverloadedError) return tooManyRequests(dialect, error.retryAfterMs, operation, apiVersion);
  const failure = describeFailure(error, dialect);
  const answer: ErrorReply = { status: failure.status, body: failure.body };
  if (failure.retryAfterMs !== undefined) answer.headers = retryHeaders(failure.retryAfterMs);
  return answer;
}

/** 404 for `GET /sluice/v1/usage` on a server without per-key access. */
export function usageNotKept(): ErrorReply {
  return reply(404, 'azure', {
    code: 'UsageNotKept',
    message: 'This server keeps no usage ledger: define client keys (keys:) in the gateway configuration file.',
    type: 'invalid_request_error',
    param: null,
  });
}

/** A raw HTTP/1.1 error response, for sockets Node's parser gave up on (no ServerResponse exists). */
export function rawErrorResponse(status: number, reason: string, message: string): string {
  const body = JSON.stringify(
    dialectErrorBody('azure', { code: String(status), message, type: 'invalid_request_error', param: null }),
  );
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

// --- internal ---

/** `BudgetExceeded` -> `budget_exceeded`. */
function snakeCase(code: string): string {
  return code.replace(/(?<=[a-z0-9])([A-Z])/g, '_$1').toLowerCase();
}

function reply(status: number, dialect: ErrorDialect, fields: ErrorFields): ErrorReply {
  return { status, body: dialectErrorBody(dialect, fields) };
}
