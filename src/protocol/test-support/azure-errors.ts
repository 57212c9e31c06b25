/**
 * Realistic Azure OpenAI HTTP error answers (status, headers, body text) for tests of
 * `errorFromResponse`, the client's retry logic and the server's error bodies.
 * @module
 */

export interface AzureErrorAnswer {
  name: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

function answer(name: string, status: number, headers: Record<string, string>, body: unknown): AzureErrorAnswer {
  return { name, status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

/** The prompt filter's verdict on a jailbreak attempt (Azure's actual spelling). */
export const JAILBREAK_RESULTS = {
  hate: { filtered: false, severity: 'safe' },
  jailbreak: { detected: true, filtered: true },
  self_harm: { filtered: false, severity: 'safe' },
  sexual: { filtered: false, severity: 'safe' },
  violence: { filtered: false, severity: 'safe' },
};

/** 400 content_filter on the prompt, `innererror.content_filter_result` (what Azure sends). */
export const promptFiltered = answer(
  'promptFiltered',
  400,
  {
    'content-type': 'application/json',
    'apim-request-id': '4c8b2f8e-1d5a-4e0f-9b1a-6f3c2d7e8a90',
    'x-ms-region': 'Sweden Central',
  },
  {
    error: {
      message:
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
      type: null,
      param: 'prompt',
      code: 'content_filter',
      status: 400,
      innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: JAILBREAK_RESULTS },
    },
  },
);

/** The same refusal with the schema's spelling: `inner_error.content_filter_results`. */
export const promptFilteredSchemaSpelling = answer(
  'promptFilteredSchemaSpelling',
  400,
  { 'content-type': 'application/json', 'x-request-id': 'req-7d1f0c2a' },
  {
    error: {
      code: 'content_filter',
      message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
      param: 'prompt',
      inner_error: {
        code: 'ResponsibleAIPolicyViolation',
        content_filter_results: {
          hate: { filtered: true, severity: 'high' },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: false, severity: 'safe' },
          violence: { filtered: true, severity: 'medium' },
          custom_blocklists: { filtered: false, details: [] },
        },
      },
    },
  },
);

/** 429 with both retry headers and the rate-limit headers (Azure sends -1 placeholders at times). */
export const rateLimited = answer(
  'rateLimited',
  429,
  {
    'content-type': 'application/json',
    'apim-request-id': 'b1f6a2c4-9e0d-4f7b-8a3c-2d5e6f7a8b9c',
    'retry-after': '7',
    'retry-after-ms': '6500',
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-remaining-tokens': '1200',
    'x-ratelimit-limit-requests': '60',
    'x-ratelimit-limit-tokens': '10000',
    'x-ratelimit-reset-requests': '-1',
    'x-ratelimit-reset-tokens': '0',
  },
  {
    error: {
      code: '429',
      message:
        'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 7 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.',
    },
  },
);

/** 401: bad key (Azure's wording). */
export const unauthorized = answer(
  'unauthorized',
  401,
  { 'content-type': 'application/json', 'apim-request-id': '0a1b2c3d-0000-4000-8000-000000000401' },
  {
    error: {
      code: '401',
      message:
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    },
  },
);

/** 401 in API Management's own shape (`statusCode` + `message`, no `error` wrapper). */
export const unauthorizedApim = answer(
  'unauthorizedApim',
  401,
  { 'content-type': 'application/json' },
  {
    statusCode: 401,
    message:
      'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.',
  },
);

/** 403 from a network rule. */
export const forbidden = answer(
  'forbidden',
  403,
  { 'content-type': 'application/json', 'x-request-id': 'req-403' },
  { error: { code: 'AuthenticationTypeDisabled', message: 'Key based authentication is disabled for this resource.' } },
);

/** 404: unknown deployment. */
export const deploymentNotFound = answer(
  'deploymentNotFound',
  404,
  { 'content-type': 'application/json', 'apim-request-id': 'f00d0000-1111-4222-8333-444455556666' },
  {
    error: {
      code: 'DeploymentNotFound',
      message:
        'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
    },
  },
);

/** 400: unknown parameter (OpenAI-style body with type and param). */
export const unknownParameter = answer(
  'unknownParameter',
  400,
  { 'content-type': 'application/json' },
  {
    error: {
      message: 'Unrecognized request argument supplied: stream_options',
      type: 'invalid_request_error',
      param: 'stream_options',
      code: 'unknown_parameter',
    },
  },
);

/** 400: Completions on a chat-only deployment. */
export const operationNotSupported = answer(
  'operationNotSupported',
  400,
  { 'content-type': 'application/json' },
  {
    error: {
      code: 'OperationNotSupported',
      message:
        'The completion operation does not work with the specified model, gpt-4o. Please choose different model and try again.',
    },
  },
);

/** 500 with OpenAI's server_error body. */
export const serverError = answer(
  'serverError',
  500,
  { 'content-type': 'application/json', 'x-request-id': 'req-500' },
  {
    error: {
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      param: null,
      code: null,
    },
  },
);

/** 502 HTML error page from a gateway in front of the API. */
export const gatewayHtml = answer(
  'gatewayHtml',
  502,
  { 'content-type': 'text/html' },
  `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title><style>body{font-family:sans-serif}</style></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>
${'<!-- padding -->\n'.repeat(200)}</body></html>`,
);

/** 503 with a plain-text body. */
export const plainTextUnavailable = answer(
  'plainTextUnavailable',
  503,
  { 'content-type': 'text/plain', 'retry-after': 'Wed, 21 Oct 2026 07:28:00 GMT' },
  'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
);

export const azureErrorAnswers: AzureErrorAnswer[] = [
  promptFiltered,
  promptFilteredSchemaSpelling,
  rateLimited,
  unauthorized,
  unauthorizedApim,
  forbidden,
  deploymentNotFound,
  unknownParameter,
  operationNotSupported,
  serverError,
  gatewayHtml,
  plainTextUnavailable,
];
