/**
 * HTTP error answers -> typed errors; rate-limit headers -> numbers. No Node-only imports:
 * the web page maps its HTTP errors with the same `errorFromResponse`.
 * @module
 */
import {
  ApiError,
  type ApiErrorDetails,
  AuthenticationError,
  BadRequestError,
  ContentFilterError,
  NotFoundError,
  RateLimitError,
  type RateLimitInfo,
  ServerError,
} from '../errors.js';
import type { ApiErrorBody, ContentFilterResults } from '../types.js';
import { toErrorBody } from './events.js';
import { excerpt } from './excerpt.js';
import { firedCategories } from './filters.js';
import { type HeaderLookup, retryAfterMs } from './retry-after.js';
import { redactSecrets } from './secrets.js';

/** Longest error message taken from a body, in characters (Azure's are far shorter). */
const MAX_MESSAGE_LENGTH = 1000;

/**
 * Builds the right ApiError subclass from an HTTP error answer:
 * 401/403 AuthenticationError, 404 NotFoundError, 429 RateLimitError, 400 with Azure code
 * `content_filter` ContentFilterError (`where: 'prompt'`, categories from `innererror` /
 * `inner_error` `content_filter_result(s)`), other 4xx BadRequestError, 5xx ServerError,
 * anything else ApiError. The message reads `<Azure code>: <message> (HTTP <status>,
 * request id <id>)`; non-JSON bodies (HTML error pages from gateways) contribute a short,
 * redacted excerpt. `body`, `requestId` and `rateLimit` are kept on the error.
 *
 * @example
 * const err = errorFromResponse(404, new Headers({ 'apim-request-id': 'r-1' }),
 *   '{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}');
 * err.code;    // 'SLUICE_NOT_FOUND'
 * err.message; // 'DeploymentNotFound: The API deployment for this resource does not exist. (HTTP 404, request id r-1)'
 */
export function errorFromResponse(status: number, headers: HeaderLookup, bodyText: string): ApiError {
  const body = parseBody(bodyText);
  const requestId = requestIdOf(headers);
  const rateLimit = parseRateLimit(headers);
  const details: ApiErrorDetails = {
    status,
    ...(body !== undefined ? { body } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    ...(Object.keys(rateLimit).length > 0 ? { rateLimit } : {}),
  };
  const message = describe(status, body, bodyText, requestId);

  if (status === 401 || status === 403) return new AuthenticationError(message, details);
  if (status === 404) return new NotFoundError(message, details);
  if (status === 429) return new RateLimitError(message, details);
  if (status === 400 && body !== undefined && isContentFilter(body)) {
    const results = promptFilterResults(body);
    const categories = firedCategories(results);
    return new ContentFilterError(message, {
      ...details,
      where: 'prompt',
      categories,
      ...(results !== undefined ? { results } : {}),
    });
  }
  if (status >= 400 && status < 500) return new BadRequestError(message, details);
  if (status >= 500 && status < 600) return new ServerError(message, details);
  return new ApiError(message, details);
}

/** `apim-request-id` (Azure API Management) or `x-request-id`, whichever is present. */
export function requestIdOf(headers: HeaderLookup): string | undefined {
  return headers.get('apim-request-id') ?? headers.get('x-request-id') ?? undefined;
}

/**
 * Reads rate-limit and retry headers. `remaining`/`limit` values that are negative (Azure's
 * `-1` placeholder) or not numbers are left out. `retryAfterMs` is what `retryAfterMs(headers, now)`
 * reads (`retry-after-ms`, else `retry-after` as seconds or an HTTP date). Reset headers (`x-ratelimit-reset-requests` / `-tokens`: seconds, or
 * OpenAI's `1s` / `6m0s` / `20ms` durations) are reported in ms; their `-1` and `0`
 * placeholders are left out, as they say nothing about when to retry.
 *
 * @example
 * parseRateLimit(new Headers({ 'retry-after': '2', 'x-ratelimit-remaining-requests': '0' }));
 * // -> { remainingRequests: 0, retryAfterMs: 2000 }
 */
export function parseRateLimit(headers: HeaderLookup, now: number = Date.now()): RateLimitInfo {
  const info: RateLimitInfo = {};
  const remainingRequests = count(headers.get('x-ratelimit-remaining-requests'));
  const remainingTokens = count(headers.get('x-ratelimit-remaining-tokens'));
  const limitRequests = count(headers.get('x-ratelimit-limit-requests'));
  const limitTokens = count(headers.get('x-ratelimit-limit-tokens'));
  const resetRequestsMs = duration(headers.get('x-ratelimit-reset-requests'));
  const resetTokensMs = duration(headers.get('x-ratelimit-reset-tokens'));
  const retryAfter = retryAfterMs(headers, now);
  if (remainingRequests !== undefined) info.remainingRequests = remainingRequests;
  if (remainingTokens !== undefined) info.remainingTokens = remainingTokens;
  if (limitRequests !== undefined) info.limitRequests = limitRequests;
  if (limitTokens !== undefined) info.limitTokens = limitTokens;
  if (resetRequestsMs !== undefined) info.resetRequestsMs = resetRequestsMs;
  if (resetTokensMs !== undefined) info.resetTokensMs = resetTokensMs;
  if (retryAfter !== undefined) info.retryAfterMs = retryAfter;
  return info;
}

/** The one error-body builder lives in error-body.ts; re-exported here for `sluice/protocol`. */
export { errorBody } from './error-body.js';

// --- internal ---------------------------------------------------------------------------

function parseBody(text: string): ApiErrorBody | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    return toErrorBody(JSON.parse(trimmed));
  } catch {
    return undefined;
  }
}

function describe(status: number, body: ApiErrorBody | undefined, text: string, requestId: string | undefined): string {
  let what: string;
  if (body !== undefined) {
    const code = body.error.code;
    const message = clip(redactSecrets(body.error.message.trim()) || '(no message)');
    // Azure repeats the status as the code for 401/429 ("429"); saying it twice helps no one.
    what =
      code !== undefined && code !== null && code !== '' && code !== String(status) ? `${code}: ${message}` : message;
  } else {
    what = describeNonJson(status, text);
  }
  const where = requestId !== undefined ? `HTTP ${status}, request id ${requestId}` : `HTTP ${status}`;
  return `${what} (${where})`;
}

function describeNonJson(status: number, text: string): string {
  if (text.trim() === '') return `The server answered HTTP ${status} with an empty body`;
  // HTML error pages from gateways: the title says it best; otherwise the visible text.
  const title = /<title[^>]*>([^<]{1,300})<\/title>/i.exec(text.slice(0, 4096));
  if (title?.[1] !== undefined) return `The server answered with an HTML page: ${excerpt(title[1])}`;
  const looksHtml = /^\s*</.test(text);
  const visible = looksHtml ? text.slice(0, 8192).replace(/<[^>]*>/g, ' ') : text;
  return `${looksHtml ? 'The server answered with an HTML page: ' : ''}${excerpt(visible)}`;
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message;
}

function isContentFilter(body: ApiErrorBody): boolean {
  const inner = body.error.innererror ?? body.error.inner_error;
  return body.error.code === 'content_filter' || inner?.code === 'ResponsibleAIPolicyViolation';
}

/** The prompt's filter results, whichever of the four spellings Azure used. */
function promptFilterResults(body: ApiErrorBody): ContentFilterResults | undefined {
  const inner = body.error.innererror ?? body.error.inner_error;
  return inner?.content_filter_result ?? inner?.content_filter_results ?? undefined;
}

function count(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Seconds (`"12"`, `"0.5"`) or Go-style durations (`"6m0s"`, `"20ms"`) -> ms; placeholders -> undefined. */
function duration(value: string | null): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return seconds > 0 ? seconds * 1000 : undefined; // -1 / 0: placeholders
  if (!/^(\d+(?:\.\d+)?(ms|h|m|s))+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(DURATION_PART)) total += Number(match[1]) * (UNIT_MS[match[2]!] ?? 0);
  return total > 0 ? total : undefined;
}
