/**
 * One way to ask for an answer, whatever the target: an Azure/OpenAI client, or the local
 * model behind the backend seam. Both give a ResponseStream, so the commands never care.
 * node-llama-cpp is imported only when the local model is actually used.
 * @module
 */
import { abortError } from '../abort.js';
import type { ResponsesCalls } from '../client/client.js';
import type { Timeouts } from '../client/options.js';
import type { ResponseStream } from '../client/response-stream.js';
import type { ApiKind, ApiTypes } from '../types.js';
import type { CliTarget } from './config.js';

export interface CallSettings {
  signal: AbortSignal;
  timeouts?: Timeouts;
}

export interface CreateResult<K extends ApiKind> {
  response: ApiTypes[K]['response'];
  requestId?: string;
}

export interface Engine {
  readonly target: CliTarget;
  stream<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], call: CallSettings): ResponseStream<K>;
  /** Non-streaming (`--no-stream`): the whole response at once. */
  create<K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], call: CallSettings): Promise<CreateResult<K>>;
  /** The Responses API (`--api responses`); remote targets only. */
  responses?: ResponsesCalls;
  /** Starts loading what the first request needs (the local model), in the background. */
  warm?(): Promise<void>;
  /** The model's context size in tokens, when known (the local model, once loaded). */
  contextTokens?(): number | undefined;
  close(): Promise<void>;
}

export interface EngineOptions {
  /** `--retries` (remote only). */
  retries?: number;
}

/**
 * @example
 * const engine = await openEngine({ kind: 'local', implicit: true }, {});
 * const stream = engine.stream('completions', { prompt: 'Once upon a time' }, { signal });
 */
export async function openEngine(target: CliTarget, options: EngineOptions): Promise<Engine> {
  const client = await import('../index.js');
  if (target.kind === 'local') {
    const { createLocalBackend } = await import('../backends/local/index.js');
    const backend = createLocalBackend({
      ...(target.modelPath !== undefined ? { modelPath: target.modelPath } : {}),
      ...(target.threads !== undefined ? { threads: target.threads } : {}),
      // The CLI already resolved SLUICE_MODEL (environment or .env) into modelPath.
      env: {},
      // One request at a time: a single sequence keeps memory and start-up minimal.
      sequences: 1,
    });
    const stream = <K extends ApiKind>(kind: K, body: ApiTypes[K]['request'], call: CallSettings) =>
      client.streamFromBackend(backend, { kind, body }, { signal: call.signal, timeouts: call.timeouts });
    return {
      target,
      stream,
      async create(kind, body, call) {
        const result = await stream(kind, body, call).final();
        if (result.end.state === 'failed') throw result.end.error;
        if (result.end.state === 'aborted') throw result.error ?? abortError(call.signal);
        return { response: result.response };
      },
      warm: async () => {
        await backend.load();
      },
      contextTokens: () => backend.capabilities?.maxTokens,
      close: () => backend.close?.() ?? Promise.resolve(),
    };
  }
  const sluice = client.createClient(
    target.kind === 'azure'
      ? {
          endpoint: target.endpoint,
          route: target.route,
          apiKey: target.apiKey,
          deployment: target.deployment,
          ...(target.apiVersion !== undefined ? { apiVersion: target.apiVersion } : {}),
          ...(options.retries !== undefined ? { maxRetries: options.retries } : {}),
        }
      : {
          baseURL: target.baseURL,
          apiKey: target.apiKey,
          deployment: target.model,
          ...(options.retries !== undefined ? { maxRetries: options.retries } : {}),
        },
  );
  return {
    target,
    stream: (kind, body, call) => sluice.stream(kind, body, call),
    async create(kind, body, call) {
      const response = await sluice.create(kind, body, call);
      return { response, requestId: response.meta?.requestId };
    },
    responses: sluice.responses,
    close: async () => {},
  };
}
