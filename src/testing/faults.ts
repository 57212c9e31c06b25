/**
 * Named upstream faults for the Azure-shaped test server: each one a Scenario, so a gateway
 * (or any client) can be tested against the failures real deployments show — rate limits,
 * outages, resets, silences, streams that break half-way. The faults are those of the
 * published gateway fault benchmarks; `docs/gateway.md` lists what Sluice's gateway makes of each.
 *
 * @example
 * const upstream = await startAzureServer({ scenarios: { gpt: faultScenario('cut-mid-stream') } });
 * @module
 */
import { safeFilterResults } from '../protocol/chunks.js';
import type { ApiKind } from '../types.js';
import {
  azureError,
  chatChunks,
  completionChunks,
  type Reply,
  reply,
  reset,
  type Scenario,
  type StreamItem,
  stream,
} from './azure-server.js';

/** Every fault the catalogue knows, in the order the docs list them. */
export const FAULTS = [
  'rate-limited',
  'server-error',
  'reset-before-headers',
  'silent-before-headers',
  'slow-first-token',
  'cut-mid-stream',
  'stall-mid-stream',
  'malformed-chunk',
  'missing-done',
  'error-frame',
  'content-filter-400',
  'flapping',
] as const;

export type Fault = (typeof FAULTS)[number];

export interface FaultOptions {
  /** The API the stream is shaped for; default `chat`. */
  kind?: ApiKind;
  /** The answer's pieces, one content chunk each; default four words. Mid-stream faults strike after half. */
  texts?: string[];
  /** `rate-limited`: the delay asked for; default 1 000 ms. */
  retryAfterMs?: number;
  /** `slow-first-token`: the silence after the role chunk; default 2 000 ms. */
  slowMs?: number;
}

export const DEFAULT_FAULT_TEXTS: readonly string[] = Object.freeze(['Once', ' upon', ' a', ' time']);

/**
 * The Scenario that shows `fault`:
 * - `rate-limited`: 429 with `retry-after-ms` and `retry-after`, Azure's body;
 * - `server-error`: 500 with Azure's body;
 * - `reset-before-headers`: the connection is reset, nothing is answered;
 * - `silent-before-headers`: the request is read and never answered;
 * - `slow-first-token`: headers, prompt-filter and role chunks, then `slowMs` of silence, then the answer;
 * - `cut-mid-stream`: half the answer, a 50 ms pause, then the socket is destroyed;
 * - `stall-mid-stream`: half the answer, then silence with the socket open;
 * - `malformed-chunk`: half the answer, then a `data:` line that is not JSON;
 * - `missing-done`: the whole answer and its finish chunk, then the end of the body without `[DONE]`;
 * - `error-frame`: half the answer, then `data: {"error": ...}`;
 * - `content-filter-400`: Azure's 400 `content_filter` refusal of the prompt;
 * - `flapping`: requests 1, 3, 5… of the deployment get a 500, the others the whole answer.
 *
 * @example
 * faultScenario('rate-limited', { retryAfterMs: 250 });
 */
export function faultScenario(fault: Fault, options: FaultOptions = {}): Scenario {
  const texts = options.texts ?? [...DEFAULT_FAULT_TEXTS];
  const whole = (o: { done?: boolean } = {}) =>
    (options.kind === 'completions' ? completionChunks : chatChunks)(texts, o);
  // Prompt filter (and role, for chat), then half the content chunks.
  const preamble = options.kind === 'completions' ? 1 : 2;
  const half = () => whole().slice(0, preamble + Math.ceil(texts.length / 2));
  const after = (item: StreamItem) => stream([...half(), item]);
  switch (fault) {
    case 'rate-limited': {
      const ms = options.retryAfterMs ?? 1_000;
      const seconds = Math.max(1, Math.ceil(ms / 1000));
      return reply(
        429,
        azureError(
          '429',
          `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after ${seconds} second${seconds === 1 ? '' : 's'}.`,
        ),
        { 'retry-after-ms': String(ms), 'retry-after': String(seconds) },
      );
    }
    case 'server-error':
      return serverError();
    case 'reset-before-headers':
      return reset();
    case 'silent-before-headers':
      return stream(whole(), { headersDelayMs: Number.POSITIVE_INFINITY });
    case 'slow-first-token': {
      const items = whole();
      return stream([...items.slice(0, preamble), { delay: options.slowMs ?? 2_000 }, ...items.slice(preamble)]);
    }
    case 'cut-mid-stream':
      // The pause lets the half answer leave before the socket is destroyed (a destroy drops unsent bytes).
      return stream([...half(), { delay: 50 }, { cut: true }]);
    case 'stall-mid-stream':
      return after({ stall: true });
    case 'malformed-chunk':
      return after({ raw: 'data: {"id":"chatcmpl-test","choices":[{"index":0,"delta":{"content":"\n\n' });
    case 'missing-done':
      return stream(whole({ done: false }));
    case 'error-frame':
      return after({
        error: azureError('server_error', 'The server had an error while processing your request. Sorry about that!'),
      });
    case 'content-filter-400':
      return reply(400, {
        error: {
          message:
            "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
          type: null,
          param: 'prompt',
          code: 'content_filter',
          status: 400,
          innererror: {
            code: 'ResponsibleAIPolicyViolation',
            content_filter_result: { ...safeFilterResults(), jailbreak: { detected: true, filtered: true } },
          },
        },
      });
    case 'flapping': {
      const ok = stream(whole());
      return (_request, n) => (n % 2 === 0 ? serverError() : ok);
    }
  }
}

function serverError(): Reply {
  return reply(500, azureError('InternalServerError', 'The server had an error while processing your request.'));
}
