import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AzureErrorAnswer,
  deploymentNotFound,
  forbidden,
  gatewayHtml,
  operationNotSupported,
  plainTextUnavailable,
  promptFiltered,
  promptFilteredSchemaSpelling,
  rateLimited,
  serverError,
  unauthorized,
  unauthorizedApim,
  unknownParameter,
} from '../../test/fixtures/azure-errors.js';
import {
  ApiError,
  AuthenticationError,
  BadRequestError,
  ContentFilterError,
  ErrorCodes,
  NotFoundError,
  RateLimitError,
  ServerError,
} from '../errors.js';
import { errorBody, errorFromResponse, parseRateLimit, requestIdOf } from './errors.js';

const fromAnswer = (a: AzureErrorAnswer) => errorFromResponse(a.status, new Headers(a.headers), a.body);

describe('errorFromResponse picks the class by status and body', () => {
  const cases: Array<[AzureErrorAnswer, new (...args: never[]) => ApiError, string]> = [
    [unauthorized, AuthenticationError, ErrorCodes.AUTH],
    [unauthorizedApim, AuthenticationError, ErrorCodes.AUTH],
    [forbidden, AuthenticationError, ErrorCodes.AUTH],
    [deploymentNotFound, NotFoundError, ErrorCodes.NOT_FOUND],
    [rateLimited, RateLimitError, ErrorCodes.RATE_LIMIT],
    [promptFiltered, ContentFilterError, ErrorCodes.CONTENT_FILTER],
    [promptFilteredSchemaSpelling, ContentFilterError, ErrorCodes.CONTENT_FILTER],
    [unknownParameter, BadRequestError, ErrorCodes.BAD_REQUEST],
    [operationNotSupported, BadRequestError, ErrorCodes.BAD_REQUEST],
    [serverError, ServerError, ErrorCodes.SERVER],
    [gatewayHtml, ServerError, ErrorCodes.SERVER],
    [plainTextUnavailable, ServerError, ErrorCodes.SERVER],
  ];
  for (const [answer, cls, code] of cases) {
    test(`${answer.name} (${answer.status}) -> ${cls.name}`, () => {
      const err = fromAnswer(answer);
      assert.ok(err instanceof cls, `got ${err.name}`);
      assert.equal(err.code, code);
      assert.equal(err.status, answer.status);
      assert.equal(err.name, cls.name);
    });
  }

  test('other 4xx are BadRequestError; odd statuses are a plain ApiError', () => {
    assert.ok(errorFromResponse(409, new Headers(), '{}') instanceof BadRequestError);
    assert.ok(errorFromResponse(422, new Headers(), '') instanceof BadRequestError);
    const odd = errorFromResponse(302, new Headers(), '');
    assert.equal(odd.constructor, ApiError);
    assert.equal(odd.code, ErrorCodes.API);
  });
});

describe('errorFromResponse messages and details', () => {
  test('Azure code, message, status and request id, readable', () => {
    const err = fromAnswer(deploymentNotFound);
    assert.equal(
      err.message,
      'DeploymentNotFound: The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again. (HTTP 404, request id f00d0000-1111-4222-8333-444455556666)',
    );
    assert.equal(err.apiCode, 'DeploymentNotFound');
    assert.equal(err.requestId, 'f00d0000-1111-4222-8333-444455556666');
    assert.deepStrictEqual(err.body, JSON.parse(deploymentNotFound.body));
  });

  test('a code that only repeats the status is not repeated', () => {
    assert.match(
      fromAnswer(unauthorized).message,
      /^Access denied due to invalid subscription key .* \(HTTP 401, request id 0a1b2c3d-0000-4000-8000-000000000401\)$/,
    );
  });

  test('x-request-id is used when apim-request-id is absent', () => {
    assert.equal(fromAnswer(serverError).requestId, 'req-500');
    assert.match(fromAnswer(serverError).message, /\(HTTP 500, request id req-500\)$/);
    assert.equal(requestIdOf(new Headers({ 'apim-request-id': 'a', 'x-request-id': 'b' })), 'a');
    assert.equal(requestIdOf(new Headers()), undefined);
  });

  test('no request id: just the status', () => {
    assert.match(
      fromAnswer(unknownParameter).message,
      /^unknown_parameter: Unrecognized request argument supplied: stream_options \(HTTP 400\)$/,
    );
  });

  test("API Management's {statusCode, message} body", () => {
    const err = fromAnswer(unauthorizedApim);
    assert.equal(err.body?.error.code, '401');
    assert.match(err.message, /^Unauthorized\. Access token is missing/);
  });

  test('prompt filtered, innererror.content_filter_result: categories that fired', () => {
    const err = fromAnswer(promptFiltered);
    assert.ok(err instanceof ContentFilterError);
    assert.equal(err.where, 'prompt');
    assert.deepStrictEqual(err.categories, ['jailbreak']);
    assert.equal(err.results?.jailbreak?.detected, true);
    assert.match(err.message, /^content_filter: The response was filtered/);
  });

  test('prompt filtered, inner_error.content_filter_results (schema spelling)', () => {
    const err = fromAnswer(promptFilteredSchemaSpelling);
    assert.ok(err instanceof ContentFilterError);
    assert.deepStrictEqual(err.categories, ['hate', 'violence']);
  });

  test('a ResponsibleAIPolicyViolation inner code is a content filter even under another outer code', () => {
    const body = JSON.stringify({
      error: {
        code: 'BadRequest',
        message: 'blocked',
        innererror: {
          code: 'ResponsibleAIPolicyViolation',
          content_filter_result: { hate: { filtered: true, severity: 'high' } },
        },
      },
    });
    const err = errorFromResponse(400, new Headers(), body);
    assert.ok(err instanceof ContentFilterError);
    assert.deepStrictEqual(err.categories, ['hate']);
  });

  test('a 400 content_filter without inner results still is a ContentFilterError, with no categories', () => {
    const err = errorFromResponse(400, new Headers(), '{"error":{"code":"content_filter","message":"filtered"}}');
    assert.ok(err instanceof ContentFilterError);
    assert.deepStrictEqual(err.categories, []);
    assert.equal(err.results, undefined);
  });

  test('HTML error page: the title, not the whole page', () => {
    const err = fromAnswer(gatewayHtml);
    assert.equal(err.message, 'The server answered with an HTML page: 502 Bad Gateway (HTTP 502)');
    assert.equal(err.body, undefined);
  });

  test('HTML without a title: its visible text, cut short', () => {
    const html = `<html><body><h1>Service Unavailable</h1>${'<p>filler text</p>'.repeat(500)}</body></html>`;
    const err = errorFromResponse(503, new Headers(), html);
    assert.match(err.message, /^The server answered with an HTML page: Service Unavailable filler text/);
    assert.ok(err.message.length < 300);
  });

  test('plain text and empty bodies', () => {
    assert.equal(
      fromAnswer(plainTextUnavailable).message,
      'upstream connect error or disconnect/reset before headers. reset reason: connection termination (HTTP 503)',
    );
    assert.equal(
      errorFromResponse(500, new Headers(), '').message,
      'The server answered HTTP 500 with an empty body (HTTP 500)',
    );
  });

  test('broken JSON bodies fall back to an excerpt', () => {
    const err = errorFromResponse(500, new Headers(), '{"error": {"message": "cut');
    assert.equal(err.body, undefined);
    assert.match(err.message, /^\{"error": \{"message": "cut \(HTTP 500\)$/);
  });

  test('rate-limit headers are kept on the error', () => {
    const err = fromAnswer(rateLimited);
    assert.deepStrictEqual(err.rateLimit, {
      remainingRequests: 0,
      remainingTokens: 1200,
      limitRequests: 60,
      limitTokens: 10000,
      retryAfterMs: 6500,
    });
    assert.equal(fromAnswer(deploymentNotFound).rateLimit, undefined);
  });

  test('messages never carry credentials a gateway echoed back', () => {
    const body = JSON.stringify({
      error: {
        code: 'Bad',
        message:
          'Invalid header api-key: 0123456789abcdef0123456789abcdef; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig',
      },
    });
    const err = errorFromResponse(400, new Headers(), body);
    assert.doesNotMatch(err.message, /0123456789abcdef|eyJhbGci/);
    const html = errorFromResponse(
      502,
      new Headers(),
      '<html><body>bad upstream https://x/openai?api-key=SECRETSECRET</body></html>',
    );
    assert.doesNotMatch(html.message, /SECRETSECRET/);
  });
});

describe('parseRateLimit', () => {
  const NOW = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');

  test('remaining and limit headers; -1 placeholders left out', () => {
    const info = parseRateLimit(
      new Headers({
        'x-ratelimit-remaining-requests': '59',
        'x-ratelimit-remaining-tokens': '-1',
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-limit-tokens': 'abc',
      }),
    );
    assert.deepStrictEqual(info, { remainingRequests: 59, limitRequests: 60 });
  });

  test('retry-after-ms wins over retry-after', () => {
    assert.equal(parseRateLimit(new Headers({ 'retry-after-ms': '1500', 'retry-after': '9' })).retryAfterMs, 1500);
  });

  test('retry-after in seconds, also fractional', () => {
    assert.equal(parseRateLimit(new Headers({ 'retry-after': '7' })).retryAfterMs, 7000);
    assert.equal(parseRateLimit(new Headers({ 'retry-after': '0.5' })).retryAfterMs, 500);
  });

  test('retry-after as an HTTP date, relative to now, never negative', () => {
    assert.equal(
      parseRateLimit(new Headers({ 'retry-after': 'Wed, 21 Oct 2026 07:28:30 GMT' }), NOW).retryAfterMs,
      30_000,
    );
    assert.equal(parseRateLimit(new Headers({ 'retry-after': 'Wed, 21 Oct 2026 07:27:00 GMT' }), NOW).retryAfterMs, 0);
  });

  test('garbage and negative retry values are left out', () => {
    assert.deepStrictEqual(parseRateLimit(new Headers({ 'retry-after': 'soon', 'retry-after-ms': 'x' })), {});
    assert.deepStrictEqual(parseRateLimit(new Headers({ 'retry-after': '-3' })), {});
    assert.equal(parseRateLimit(new Headers({ 'retry-after-ms': '-5', 'retry-after': '2' })).retryAfterMs, 2000);
  });

  test('reset headers: seconds and Go durations in ms; -1 and 0 placeholders left out', () => {
    assert.deepStrictEqual(
      parseRateLimit(new Headers({ 'x-ratelimit-reset-requests': '12', 'x-ratelimit-reset-tokens': '6m0.5s' })),
      {
        resetRequestsMs: 12_000,
        resetTokensMs: 360_500,
      },
    );
    assert.deepStrictEqual(
      parseRateLimit(new Headers({ 'x-ratelimit-reset-requests': '20ms', 'x-ratelimit-reset-tokens': '1h2m' })),
      {
        resetRequestsMs: 20,
        resetTokensMs: 3_720_000,
      },
    );
    assert.deepStrictEqual(
      parseRateLimit(new Headers({ 'x-ratelimit-reset-requests': '-1', 'x-ratelimit-reset-tokens': '0' })),
      {},
    );
    assert.deepStrictEqual(
      parseRateLimit(new Headers({ 'x-ratelimit-reset-requests': '0s', 'x-ratelimit-reset-tokens': '5 minutes' })),
      {},
    );
  });

  test('the 429 fixture', () => {
    assert.deepStrictEqual(parseRateLimit(new Headers(rateLimited.headers)), {
      remainingRequests: 0,
      remainingTokens: 1200,
      limitRequests: 60,
      limitTokens: 10000,
      retryAfterMs: 6500,
    });
  });
});

describe('errorBody', () => {
  test('code and message only, as Azure answers most errors', () => {
    assert.deepStrictEqual(errorBody('DeploymentNotFound', 'The API deployment for this resource does not exist.'), {
      error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist.' },
    });
  });

  test('with type, param and innererror when given', () => {
    assert.deepStrictEqual(
      errorBody('unknown_parameter', 'Unrecognized request argument supplied: foo', {
        type: 'invalid_request_error',
        param: 'foo',
      }),
      {
        error: {
          code: 'unknown_parameter',
          message: 'Unrecognized request argument supplied: foo',
          type: 'invalid_request_error',
          param: 'foo',
        },
      },
    );
    const body = errorBody('content_filter', 'filtered', {
      param: 'prompt',
      innererror: {
        code: 'ResponsibleAIPolicyViolation',
        content_filter_result: { hate: { filtered: true, severity: 'high' } },
      },
    });
    assert.equal(body.error.param, 'prompt');
    // What the server answers, the client parses back to the same ContentFilterError.
    const err = errorFromResponse(400, new Headers(), JSON.stringify(body));
    assert.ok(err instanceof ContentFilterError);
    assert.deepStrictEqual(err.categories, ['hate']);
  });
});
