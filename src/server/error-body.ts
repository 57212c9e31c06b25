/**
 * Every error answer the server sends, in Azure's shape (`{"error": {...}}`), and the map
 * from a thrown error to status + body + headers. Messages come from our own words or from
 * SluiceError messages, which never hold keys; stacks never leave the process.
 * @module
 */
import { ApiError, isSluiceError, ModelLoadError, OverloadedError } from '../errors.js';
import type { ApiErrorBody } from '../types.js';

/** A complete error answer: status, Azure-shaped body, extra headers. */
export interface ErrorReply {
  status: number;
  body: ApiErrorBody;
  headers?: Record<string, string>;
}

/** Which Azure operation a request is, for the 429 message (Azure names them this way). */
export type Operation = 'ChatCompletions_Create' | 'Completions_Create';

/** Azure's 401, byte for byte. */
export const UNAUTHORIZED: ErrorReply = {
  status: 401,
  body: {
    error: {
      code: '401',
      message:
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    },
  },
};

/** Azure's 404 for an unknown route. */
export const NOT_FOUND: ErrorReply = { status: 404, body: { error: { code: '404', message: 'Resource not found' } } };

/** Azure's 404 for a deployment name it does not know. */
export const DEPLOYMENT_NOT_FOUND: ErrorReply = {
  status: 404,
  body: {
    error: {
      code: 'DeploymentNotFound',
      message:
        'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
    },
  },
};

/** OpenAI's 404 for an unknown model on the `/v1` routes. */
export function modelNotFound(model: string): ErrorReply {
  return {
    status: 404,
    body: {
      error: {
        code: 'model_not_found',
        message: `The model \`${model}\` does not exist or you do not have access to it.`,
        type: 'invalid_request_error',
        param: 'model',
      },
    },
  };
}

export const MISSING_API_VERSION: ErrorReply = invalidRequest(
  'The api-version query parameter (?api-version=) is required for all requests.',
  'api-version',
  'MissingApiVersionParameter',
);

export function invalidApiVersion(version: string): ErrorReply {
  return invalidRequest(
    `The api-version '${version}' is invalid: expected a date such as 2024-10-21 or 2024-10-01-preview.`,
    'api-version',
    'InvalidApiVersionParameter',
  );
}

export function methodNotAllowed(method: string, allow: string): ErrorReply {
  return {
    status: 405,
    body: {
      error: {
        code: '405',
        message: `The method ${method} is not allowed on this route; allowed: ${allow}.`,
        type: 'invalid_request_error',
        param: null,
      },
    },
    headers: { allow },
  };
}

export function payloadTooLarge(limitBytes: number): ErrorReply {
  return {
    status: 413,
    body: {
      error: {
        code: 'RequestEntityTooLarge',
        message: `The request body is larger than this server's limit of ${limitBytes} bytes.`,
        type: 'invalid_request_error',
        param: null,
      },
    },
  };
}

/** A 400 in OpenAI/Azure's validation shape: message, type, param, code. */
export function invalidRequest(message: string, param: string | null, code: string): ErrorReply {
  return { status: 400, body: { error: { code, message, type: 'invalid_request_error', param } } };
}

/** Azure's 429 with both retry headers (`retry-after` in whole seconds, rounded up). */
export function tooManyRequests(
  retryAfterMs: number,
  operation: Operation,
  apiVersion: string | undefined,
): ErrorReply {
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  const version = apiVersion ? ` under Azure OpenAI API version ${apiVersion}` : '';
  return {
    status: 429,
    body: {
      error: {
        code: '429',
        message: `Requests to the ${operation} Operation${version} have exceeded the capacity of this Sluice server: every model slot and queue place is taken. Please retry after ${seconds} second${seconds === 1 ? '' : 's'}.`,
      },
    },
    headers: { 'retry-after-ms': String(ms), 'retry-after': String(seconds) },
  };
}

const INTERNAL: ErrorReply = {
  status: 500,
  body: {
    error: {
      code: 'InternalServerError',
      message: 'The server had an error while processing your request.',
      type: 'server_error',
      param: null,
    },
  },
};

/**
 * Maps anything a backend throws to an answer. Upstream ApiErrors pass through with their
 * status and body (never their headers, except the retry delay); unknown errors become a
 * bare 500 without the message, which might hold anything.
 */
export function replyForError(error: unknown, operation: Operation, apiVersion: string | undefined): ErrorReply {
  if (error instanceof OverloadedError) return tooManyRequests(error.retryAfterMs, operation, apiVersion);
  if (error instanceof ModelLoadError) return serverError(500, 'ModelLoadFailed', error.message);
  if (error instanceof ApiError) {
    const retryMs = error.rateLimit?.retryAfterMs;
    const reply: ErrorReply = {
      status: error.status >= 400 && error.status <= 599 ? error.status : 502,
      body: error.body ?? { error: { code: String(error.status), message: error.message } },
    };
    if (retryMs !== undefined) {
      reply.headers = {
        'retry-after-ms': String(Math.ceil(retryMs)),
        'retry-after': String(Math.max(1, Math.ceil(retryMs / 1000))),
      };
    }
    return reply;
  }
  if (isSluiceError(error)) {
    switch (error.code) {
      case 'SLUICE_ABORTED':
        return serverError(503, 'ServiceUnavailable', error.message);
      case 'SLUICE_TIMEOUT':
        return serverError(504, 'GatewayTimeout', error.message);
      case 'SLUICE_CONNECTION':
      case 'SLUICE_PROTOCOL':
      case 'SLUICE_STREAM_TRUNCATED':
      case 'SLUICE_STREAM_ERROR':
      case 'SLUICE_SSE_LINE_TOO_LONG':
        return serverError(502, 'BadGateway', error.message);
      default:
        return serverError(500, 'InternalServerError', error.message);
    }
  }
  return INTERNAL;
}

function serverError(status: number, code: string, message: string): ErrorReply {
  return { status, body: { error: { code, message, type: 'server_error', param: null } } };
}
