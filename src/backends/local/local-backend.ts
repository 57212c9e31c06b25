/**
 * The local model backend: node-llama-cpp behind the Backend seam, with a pool of context
 * sequences, a bounded queue, pull-based generation and metrics for `/metrics`.
 * @module
 */
import { setMaxListeners } from 'node:events';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LlamaContextSequence } from 'node-llama-cpp';
import { abortError, linkSignals, untilAborted } from '../../abort.js';
import type { Backend, BackendRequest, EmbeddingsBackendRequest, ModelInfo } from '../../backend.js';
import {
  AbortError,
  type BadRequestError,
  ConfigError,
  isSluiceError,
  OverloadedError,
  ServerError,
  type SluiceError,
} from '../../errors.js';
import { chunkBuilder } from '../../protocol/chunks.js';
import { type EmbeddingsResponse, embeddingInputs } from '../../protocol/embeddings.js';
import type { RequestCapabilities } from '../../protocol/request.js';
import type { AnyChunk, ApiKind, ApiTypes, Usage } from '../../types.js';
import { badRequest } from './bad-request.js';
import { chatHistory, TRANSCRIPT_STOPS, transcriptPrompt } from './chat-prompt.js';
import { ChunkChannel } from './chunk-channel.js';
import { checkEmbeddingsBody, embed, embeddingCapabilities } from './embed.js';
import { type LlamaEngine, loadEngine } from './engine.js';
import { generateTurn, prepareOutput } from './generate-turn.js';
import { LOCAL_CAPABILITIES, planRequest, type RequestPlan } from './request-plan.js';
import { SlotPool } from './slot-pool.js';
import { completionBudget, requestCost } from './token-budget.js';

/** The bundled test model, found from the package root (not the cwd). */
export const DEFAULT_MODEL_PATH = fileURLToPath(
  new URL('../../../models/tinyllamas-stories-260k-f32.gguf', import.meta.url),
);

export interface LocalBackendOptions {
  /** A GGUF file. Default: `SLUICE_MODEL`, else the bundled tiny test model. */
  modelPath?: string;
  /**
   * CPU threads per evaluation. Default 1: for tiny models, more threads only contend
   * (figures in docs/backends.md). Larger models (1B+) want about the number of physical
   * cores.
   */
  threads?: number;
  /** Requests generated at once, each on its own context sequence. Default 4. */
  sequences?: number;
  /** Requests that may wait for a sequence; beyond that, OverloadedError. Default 16. */
  queueSize?: number;
  /** Tokens per sequence (prompt + completion). Default min(the model's training context, 2048). */
  contextSize?: number;
  /** Chunks generated ahead of a slow reader. Default 1. 0: generate only what was read. */
  readAhead?: number;
  /** Top-k cut for sampling; 0 (default) keeps every token, like OpenAI. */
  topK?: number;
  /** Environment to read `SLUICE_MODEL` from. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** Counters for `/metrics`; all totals count since the backend was created. */
export interface LocalBackendStats {
  /** The model is loaded (after the first request or `load()`). */
  loaded: boolean;
  modelPath: string;
  /** Pool size (`sequences` option). */
  sequences: number;
  /** Requests holding a sequence now. */
  active: number;
  /** Requests waiting for a sequence now. */
  queued: number;
  /** Queue capacity (`queueSize` option). */
  queueSize: number;
  /** Requests received; each ends as exactly one of rejected, completed, aborted, cancelled, failed (or is in flight). */
  requests: number;
  /** Requests refused with OverloadedError. */
  rejected: number;
  /** Requests that streamed to the end. */
  completed: number;
  /** Requests whose signal aborted (while queued or generating). */
  aborted: number;
  /** Requests whose reader stopped iterating early (break / return()). */
  cancelled: number;
  /** Requests that ended with an error (bad input, model load, generation). */
  failed: number;
  /** Prompt tokens evaluated (as reported in usage). */
  promptTokens: number;
  /** Tokens generated, counted as each is sampled. */
  tokensGenerated: number;
  /** Moving average of the time a request holds a sequence, in ms. */
  averageRequestMs: number;
}

export interface LoadedModelInfo {
  name: string;
  path: string;
  /** Tokens each sequence holds. */
  contextSize: number;
  trainContextSize: number;
  /** True when chat uses the model's template; false: the plain transcript. */
  chatTemplate: boolean;
}

export interface LocalBackend extends Backend {
  models(): Promise<ModelInfo[]>;
  /** Aborts running and queued requests, then frees the model's memory. */
  close(): Promise<void>;
  /** Loads the model now (idempotent); requests otherwise load it on first use. */
  load(): Promise<LoadedModelInfo>;
  stats(): LocalBackendStats;
  /** Counts tokens as the model's tokenizer does (loads the model). */
  countTokens(text: string): Promise<number>;
}

/**
 * Creates a backend that runs a GGUF model in-process with node-llama-cpp.
 *
 * @example
 * ```ts
 * const backend = createLocalBackend({ sequences: 2 });
 * const body = { prompt: 'Once upon a time', max_tokens: 20 };
 * for await (const chunk of backend.stream({ kind: 'completions', body }, AbortSignal.timeout(10_000))) {
 *   process.stdout.write(chunk.choices[0]?.text ?? '');
 * }
 * await backend.close();
 * ```
 */
export function createLocalBackend(options: LocalBackendOptions = {}): LocalBackend {
  const env = options.env ?? process.env;
  const fromEnv = env.SLUICE_MODEL || undefined;
  const modelPath = resolve(options.modelPath ?? fromEnv ?? DEFAULT_MODEL_PATH);
  const pathSource =
    options.modelPath !== undefined ? 'the modelPath option' : fromEnv ? 'SLUICE_MODEL' : 'the default model';
  const sequences = positive(options.sequences ?? 4, 'sequences');
  const threads = positive(options.threads ?? 1, 'threads');
  const readAhead = Math.max(0, Math.floor(options.readAhead ?? 1));
  const topK = Math.max(0, Math.floor(options.topK ?? 0));
  const queueSize = Math.max(0, Math.floor(options.queueSize ?? 16));
  const pool = new SlotPool({ size: sequences, queueSize });
  // Embeddings run one request at a time on their own context (one sequence), with their own queue.
  const embedPool = new SlotPool({ size: 1, queueSize });
  const closing = new AbortController();
  // Each live request links its signal to `closing` (removed when it ends): up to pool + queue
  // listeners at once, plus the ones being refused. Not a leak, so not a warning; beyond that it would be.
  setMaxListeners(2 * (sequences + queueSize) + 10, closing.signal);
  const running = new Set<Promise<void>>();

  let engine: LlamaEngine | undefined;
  let engineLoading: Promise<LlamaEngine> | undefined;
  const counters = {
    requests: 0,
    rejected: 0,
    completed: 0,
    aborted: 0,
    cancelled: 0,
    failed: 0,
    promptTokens: 0,
    tokensGenerated: 0,
  };
  const countToken = () => {
    counters.tokensGenerated++;
  };

  /** What this model honours; once loaded, `max_tokens` above the context size is refused, not cut. */
  function capabilities(): RequestCapabilities {
    return engine
      ? { ...LOCAL_CAPABILITIES, maxTokens: engine.contextSize, ...embeddingCapabilities(engine) }
      : LOCAL_CAPABILITIES;
  }

  function getEngine(): Promise<LlamaEngine> {
    if (engine) return Promise.resolve(engine);
    if (closing.signal.aborted) return Promise.reject(abortError(closing.signal));
    engineLoading ??= loadEngine({ modelPath, threads, sequences, contextSize: options.contextSize, pathSource }).then(
      (loaded) => {
        engine = loaded;
        return loaded;
      },
      (error: unknown) => {
        engineLoading = undefined; // a later request may find the file fixed
        throw error;
      },
    );
    return engineLoading;
  }

  /** Serves one request, writing chunks into `channel`; never throws. */
  async function produce(request: BackendRequest, signal: AbortSignal, channel: ChunkChannel<AnyChunk>): Promise<void> {
    counters.requests++;
    let slot: number | undefined;
    let ending: Ending;
    try {
      const plan = planRequest(request, capabilities());
      const contextSize = engine?.contextSize ?? options.contextSize ?? 2048;
      const cost = requestCost({ prompts: plan.prompts.length, n: plan.n, maxTokens: plan.maxTokens }, contextSize);
      slot = await pool.acquire(signal, cost);
      // The first request waits for the model to load: an abort must not wait with it.
      const loaded = await untilAborted(getEngine(), signal);
      const sequence = loaded.sequences[slot];
      if (!sequence) throw new Error(`No sequence for slot ${slot}`);
      // Each request starts clean, so the same seed gives the same text on any sequence.
      await sequence.clearHistory();
      const finished = await generateAll(plan, loaded, sequence, signal, channel);
      ending = finished ? { kind: 'completed' } : signal.aborted ? aborted(signal) : { kind: 'cancelled' };
    } catch (error) {
      ending = classify(error, signal);
    } finally {
      // The sequence goes back before the reader hears how the stream ended.
      if (slot !== undefined) pool.release(slot);
    }
    counters[ending.kind]++;
    // An abort drops buffered chunks: the reader learns at once.
    if ('error' in ending) channel.fail(ending.error, ending.kind !== 'failed');
    else if (ending.kind === 'completed') channel.end();
  }

  /** Every choice of every prompt, one after another on the request's sequence. Returns false if stopped early. */
  async function generateAll(
    plan: RequestPlan,
    loaded: LlamaEngine,
    sequence: LlamaContextSequence,
    signal: AbortSignal,
    channel: ChunkChannel<AnyChunk>,
  ): Promise<boolean> {
    const chunks = chunkBuilder<ApiKind>(plan.kind, {
      model: loaded.modelName,
      systemFingerprint: null,
      usageNull: plan.includeUsage,
    });
    const prompts = buildPrompts(plan, loaded);
    const output = await prepareOutput(plan.output, loaded);
    const usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

    // Every prompt must fit before any is answered: a 400 belongs before the first chunk.
    for (const prompt of prompts) {
      if (prompt.tokens.length >= loaded.contextSize) {
        throw contextExceeded(prompt.tokens.length, loaded.contextSize, plan.kind === 'chat' ? 'messages' : 'prompt');
      }
    }
    for (const [p, prompt] of prompts.entries()) {
      usage.prompt_tokens += prompt.tokens.length;
      counters.promptTokens += prompt.tokens.length;
      const maxTokens = completionBudget(plan.maxTokens, prompt.tokens.length, loaded.contextSize);
      for (let i = 0; i < plan.n; i++) {
        const index = p * plan.n + i;
        const role = chunks.role(index);
        if (role && !(await channel.push(role))) return false;
        if (plan.echo && prompt.text && !(await channel.push(chunks.content(index, prompt.text)))) return false;
        const turn = generateTurn(
          sequence,
          {
            promptTokens: prompt.tokens,
            maxTokens,
            temperature: plan.temperature,
            topP: plan.topP,
            topK,
            seed: plan.seed + index,
            presencePenalty: plan.presencePenalty,
            frequencyPenalty: plan.frequencyPenalty,
            stops: [...prompt.stops, ...plan.stops],
            stopTokenSequences: prompt.stopTokenSequences,
            trimLeadingWhitespace: prompt.trimLeadingWhitespace,
            onToken: countToken,
          },
          output,
          loaded,
          signal,
        );
        let call = -1;
        for (;;) {
          const piece = await turn.next();
          if (piece.done) {
            usage.completion_tokens += piece.value.completionTokens;
            if (!(await channel.push(chunks.finish(index, piece.value.finishReason)))) return false;
            break;
          }
          const event = piece.value;
          const chunk =
            event.type === 'text'
              ? chunks.content(index, event.text)
              : event.type === 'call'
                ? chunks.toolCall(index, ++call, event.id, event.name)
                : chunks.toolArguments(index, call, event.text);
          if (!(await channel.push(chunk))) {
            await turn.return({ finishReason: 'stop', completionTokens: 0 });
            return false;
          }
        }
      }
    }
    if (plan.includeUsage) {
      usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
      if (!(await channel.push(chunks.usage(usage)))) return false;
    }
    return true;
  }

  async function* run(request: BackendRequest, callerSignal: AbortSignal): AsyncGenerator<AnyChunk> {
    // Closing the backend aborts every request too.
    const link = linkSignals(callerSignal, closing.signal);
    const signal = link.signal;
    const channel = new ChunkChannel<AnyChunk>(readAhead, signal);
    const producing = produce(request, signal, channel);
    running.add(producing);
    try {
      for (;;) {
        const next = await channel.take();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // A reader that stops early (break, return()) stops generation; wait until the
      // sequence is back in the pool so the caller can rely on it.
      channel.close();
      await producing;
      channel.dispose();
      link.dispose();
      running.delete(producing);
    }
  }

  /** Embeds a request's inputs, one request at a time; errors as for a stream's first chunk. */
  async function embedRequest(
    request: EmbeddingsBackendRequest,
    callerSignal: AbortSignal,
  ): Promise<EmbeddingsResponse> {
    const body = checkEmbeddingsBody(request.body);
    const link = linkSignals(callerSignal, closing.signal);
    const signal = link.signal;
    let slot: number | undefined;
    const work = (async () => {
      try {
        slot = await embedPool.acquire(signal, embeddingInputs(body.input).length);
        const loaded = await untilAborted(getEngine(), signal);
        return await embed(loaded, body, signal, (tokens) => {
          counters.promptTokens += tokens;
        });
      } catch (error) {
        const ending = classify(error, signal);
        throw 'error' in ending ? ending.error : error;
      } finally {
        if (slot !== undefined) embedPool.release(slot);
        link.dispose();
      }
    })();
    const settled = work.then(
      () => {},
      () => {},
    );
    running.add(settled);
    try {
      return await work;
    } finally {
      running.delete(settled);
    }
  }

  return {
    name: `local:${basename(modelPath).replace(/\.gguf$/i, '')}`,
    get capabilities() {
      return capabilities();
    },
    stream<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): AsyncIterable<ApiTypes[K]['chunk']> {
      return run(request as BackendRequest, signal) as AsyncIterable<ApiTypes[K]['chunk']>;
    },
    embed: embedRequest,
    async load() {
      const loaded = await getEngine();
      return {
        name: loaded.modelName,
        path: modelPath,
        contextSize: loaded.contextSize,
        trainContextSize: loaded.trainContextSize,
        chatTemplate: loaded.chatWrapper !== null,
      };
    },
    async models(): Promise<ModelInfo[]> {
      const loaded = await getEngine();
      return [{ id: loaded.modelName, object: 'model', created: loaded.modelCreated, owned_by: 'sluice' }];
    },
    async countTokens(text: string) {
      return (await getEngine()).model.tokenize(text).length;
    },
    stats() {
      return {
        loaded: engine !== undefined,
        modelPath,
        sequences,
        active: pool.active,
        queued: pool.queued,
        queueSize: pool.queueSize,
        ...counters,
        averageRequestMs: Math.round(pool.averageHoldMs),
      };
    },
    async close() {
      closing.abort(new AbortError('The local backend is closed'));
      pool.rejectQueued(abortError(closing.signal));
      embedPool.rejectQueued(abortError(closing.signal));
      await Promise.allSettled(running);
      const loaded = engine ?? (await engineLoading?.catch(() => undefined));
      engine = undefined;
      engineLoading = undefined;
      await loaded?.dispose();
    },
  };
}

// --- internal ---

interface Prompt {
  /** The prompt's text, for `echo`. */
  text: string;
  tokens: number[];
  stops: string[];
  stopTokenSequences: number[][];
  trimLeadingWhitespace: boolean;
}

function buildPrompts(plan: RequestPlan, engine: LlamaEngine): Prompt[] {
  const { model } = engine;
  const withBos = (tokens: number[]): number[] => {
    const bos = model.tokens.bos;
    return bos !== null && model.tokens.shouldPrependBosToken ? [bos, ...tokens] : tokens;
  };
  if (plan.kind === 'completions') {
    return plan.prompts.map((text) => ({
      text,
      tokens: withBos(model.tokenize(text)),
      stops: [],
      stopTokenSequences: [],
      trimLeadingWhitespace: false,
    }));
  }
  if (engine.chatWrapper) {
    const templated = engine.applyTemplate(chatHistory(plan.messages));
    return [{ text: '', ...templated, trimLeadingWhitespace: false }];
  }
  // User text is tokenized as text: it can never smuggle in a control token.
  return [
    {
      text: '',
      tokens: withBos(model.tokenize(transcriptPrompt(plan.messages))),
      stops: [...TRANSCRIPT_STOPS],
      stopTokenSequences: [],
      trimLeadingWhitespace: true,
    },
  ];
}

type Ending = { kind: 'completed' | 'cancelled' } | { kind: 'aborted' | 'rejected' | 'failed'; error: SluiceError };

function aborted(signal: AbortSignal): Ending {
  return { kind: 'aborted', error: abortError(signal) };
}

function classify(error: unknown, signal: AbortSignal): Ending {
  if (error instanceof OverloadedError) return { kind: 'rejected', error };
  if (signal.aborted) return aborted(signal);
  if (isSluiceError(error)) return { kind: 'failed', error };
  return {
    kind: 'failed',
    error: new ServerError(`Local generation failed: ${messageOf(error)}`, { status: 500, cause: error }),
  };
}

/**
 * OpenAI's wording and Azure's shape, so clients that shorten a conversation on
 * `context_length_exceeded` recognise it; the message gives both numbers.
 */
function contextExceeded(promptTokens: number, contextSize: number, param: 'messages' | 'prompt'): BadRequestError {
  const fix = param === 'messages' ? 'drop the oldest turns of the conversation' : 'shorten the prompt';
  const message =
    `This model's maximum context length is ${contextSize} tokens. However, your ${param} resulted in ` +
    `${promptTokens} tokens, which leaves no room for a completion. Please reduce the length of the ${param} (${fix}).`;
  return badRequest(param, message, 'context_length_exceeded');
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`${name} must be a positive integer, got ${value}`, name);
  return value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
