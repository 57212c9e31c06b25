// The gateway under test: fault-injecting Azure-shaped upstreams on 127.0.0.1, remote
// backends over them, a router backend, and `sluice serve`'s server in front; plus the two
// clients the tests ask through (the official openai SDK and Sluice's client), each reduced
// to the same outcome record.
import type { TestContext } from 'node:test';
import { AzureOpenAI } from 'openai';
import type { Backend } from '../../src/backend.js';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { createClient } from '../../src/client/client.js';
import type { Timeouts } from '../../src/client/options.js';
import { ApiError, type SluiceError } from '../../src/errors.js';
import type { AttemptRecord, GatewayEvents } from '../../src/gateway/events.js';
import { type BreakerSettings, createMemoryHealth } from '../../src/gateway/health.js';
import { createRouterBackend, type RouterOptions } from '../../src/gateway/router.js';
import type { RouteTarget } from '../../src/gateway/targets.js';
import { type AzureServer, type Scenario, startAzureServer } from '../../src/testing/azure-server.js';
import type { ChatCompletionRequest } from '../../src/types.js';
import { start } from './server.js';

export const MODEL = 'gpt-4o';
export const API_VERSION = '2024-10-21';
export const ASK: ChatCompletionRequest = { messages: [{ role: 'user', content: 'Tell me a story' }] };

export interface Gateway {
  url: string;
  upstreams: AzureServer[];
  targets: RouteTarget[];
  router: ReturnType<typeof createRouterBackend>;
  attempts: AttemptRecord[];
  breakers: Array<[string, string]>;
}

export interface GatewaySetup extends Partial<Omit<RouterOptions, 'targets' | 'model'>> {
  timeouts?: Timeouts;
  /** Extra targets that are not HTTP upstreams (the local model). */
  backends?: Backend[];
  /** A breaker for the router's in-memory health store (its changes are recorded in `breakers`). */
  breaker?: Partial<BreakerSettings>;
}

/** One upstream per scenario (deployment `d`), each a target of model `gpt-4o`, served on 127.0.0.1. */
export async function startGateway(t: TestContext, scenarios: Scenario[], setup: GatewaySetup = {}): Promise<Gateway> {
  const upstreams = await Promise.all(scenarios.map((scenario) => startAzureServer({ scenarios: { d: scenario } })));
  t.after(() => Promise.all(upstreams.map((u) => u.close())));
  const { timeouts, backends = [], breaker, ...routing } = setup;
  const targets: RouteTarget[] = [
    ...upstreams.map((u, i) => ({
      id: `${MODEL}/${i}:azure:127.0.0.1:${u.port}`,
      backend: createRemoteBackend({ endpoint: u.url, apiKey: 'upstream-key', deployment: 'd', maxRetries: 0 }),
      priority: 1,
      weight: 1,
      timeouts: timeouts ?? {},
    })),
    ...backends.map((backend, j) => ({
      id: `${MODEL}/${upstreams.length + j}:local`,
      backend,
      priority: 1,
      weight: 1,
      timeouts: {},
    })),
  ];
  const attempts: AttemptRecord[] = [];
  const breakers: Array<[string, string]> = [];
  const events: GatewayEvents = {
    attempt: (r) => attempts.push(r),
    breaker: (id, state) => breakers.push([id, state]),
  };
  const health = createMemoryHealth({ ...(breaker ? { breaker } : {}), onBreaker: (id, s) => events.breaker?.(id, s) });
  const router = createRouterBackend({ model: MODEL, targets, random: () => 0, events, health, ...routing });
  const { url } = await start(t, { deployments: { [MODEL]: router } });
  return { url, upstreams, targets, router, attempts, breakers };
}

/** What a client made of one request. */
export interface Outcome {
  /** HTTP status of the answer. */
  status: number | undefined;
  /** `x-sluice-target` (undefined when the client does not expose the answer's headers: Sluice's client on an HTTP error). */
  target: string | null | undefined;
  /** Choice 0's text as the client assembled it. */
  text: string;
  /** The error the client ended with, if any. */
  error: unknown;
  /** The error's body code, when it carried one (an error frame's or an HTTP error's). */
  errorCode: string | undefined;
}

export type ClientName = 'openai' | 'sluice';
export const CLIENTS: ClientName[] = ['openai', 'sluice'];

/** Streams ASK through the gateway with the official SDK or Sluice's client. */
export async function ask(
  client: ClientName,
  url: string,
  body: ChatCompletionRequest = ASK,
  signal?: AbortSignal,
): Promise<Outcome> {
  return client === 'openai' ? askSdk(url, body, signal) : askSluice(url, body, signal);
}

async function askSdk(url: string, body: ChatCompletionRequest, signal?: AbortSignal): Promise<Outcome> {
  const azure = new AzureOpenAI({
    endpoint: url,
    apiKey: 'k',
    apiVersion: API_VERSION,
    deployment: MODEL,
    maxRetries: 0,
  });
  const text = '';
  try {
    const { data, response } = await azure.chat.completions
      .create({ ...(body as object), model: MODEL, stream: true } as never, signal ? { signal } : {})
      .withResponse();
    const outcome: Outcome = {
      status: response.status,
      target: response.headers.get('x-sluice-target'),
      text,
      error: undefined,
      errorCode: undefined,
    };
    try {
      for await (const chunk of data as unknown as AsyncIterable<{
        choices: Array<{ delta?: { content?: string | null } }>;
      }>) {
        outcome.text += chunk.choices[0]?.delta?.content ?? '';
      }
    } catch (error) {
      outcome.error = error;
      outcome.errorCode = sdkCode(error);
    }
    return outcome;
  } catch (error) {
    const e = error as { status?: number; headers?: Headers };
    return {
      status: e.status,
      target: e.headers?.get?.('x-sluice-target'),
      text,
      error,
      errorCode: sdkCode(error),
    };
  }
}

function sdkCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; error?: { code?: unknown } };
  const code = e.code ?? e.error?.code;
  return typeof code === 'string' ? code : undefined;
}

async function askSluice(url: string, body: ChatCompletionRequest, signal?: AbortSignal): Promise<Outcome> {
  const client = createClient({ endpoint: url, apiKey: 'k', deployment: MODEL, maxRetries: 0 });
  const stream = client.chat.stream(body, signal ? { signal } : {});
  const result = await stream.final();
  const meta = await stream.meta.catch(() => undefined);
  const error = result.error;
  const content = result.response.choices.find((c) => c.index === 0)?.message.content;
  return {
    status: meta?.status ?? (error instanceof ApiError ? error.status : undefined),
    target: meta?.headers.get('x-sluice-target'),
    text: typeof content === 'string' ? content : '',
    error,
    errorCode: bodyCode(error),
  };
}

function bodyCode(error: SluiceError | undefined): string | undefined {
  const body = (error as { body?: { error?: { code?: unknown } } } | undefined)?.body;
  const code = body?.error?.code;
  return typeof code === 'string' ? code : undefined;
}
