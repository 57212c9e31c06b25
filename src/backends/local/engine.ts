/**
 * Loads node-llama-cpp, the model, one context and its sequences. node-llama-cpp is imported
 * dynamically: code paths that never touch the local model don't pay for its import.
 * @module
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type {
  ChatWrapper,
  GbnfJsonSchema,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaGrammarEvaluationState,
  LlamaModel,
  LlamaText,
} from 'node-llama-cpp';
import { ModelLoadError } from '../../errors.js';
import { tightenGrammar } from './json-schema.js';

export interface LlamaEngineOptions {
  modelPath: string;
  threads: number;
  sequences: number;
  /** Tokens per sequence; default min(the model's training context, 2048). */
  contextSize?: number;
  /** Where the model path came from, for error messages. */
  pathSource: string;
}

/** What a chat template turns a conversation into. */
export interface TemplatedPrompt {
  tokens: number[];
  /** Plain-text stop triggers. */
  stops: string[];
  /** Token sequences that stop generation (special tokens have no text to match). */
  stopTokenSequences: number[][];
}

export interface LlamaEngine {
  model: LlamaModel;
  context: LlamaContext;
  sequences: LlamaContextSequence[];
  /** `general.name`, or the file name without `.gguf`. */
  modelName: string;
  /** Seconds since the epoch: the model file's modification time. */
  modelCreated: number;
  /** Tokens each sequence can hold (prompt + completion). */
  contextSize: number;
  trainContextSize: number;
  /** The length of the model's embedding vectors. */
  embeddingSize: number;
  /** Token ids run from 0 to this, exclusive. */
  vocabularySize: number;
  /** The embedding context (one sequence, created on first use, `threads` as for generation). */
  embeddingContext(): Promise<LlamaEmbeddingContext>;
  /** Null when the model has no chat template: chat then uses a plain transcript. */
  chatWrapper: ChatWrapper | null;
  /** Renders messages with the model's chat template (only when chatWrapper is set). */
  applyTemplate(history: ChatHistory): TemplatedPrompt;
  /** Compiles a GBNF grammar. */
  grammar(gbnf: string): Promise<LlamaGrammar>;
  /** Compiles a grammar for JSON matching `schema` (node-llama-cpp's JSON Schema subset, json-schema.ts). */
  jsonGrammar(schema: object): Promise<LlamaGrammar>;
  /** A fresh evaluation state of `grammar`: one per generation, it tracks what was written. */
  grammarState(grammar: LlamaGrammar): LlamaGrammarEvaluationState;
  dispose(): Promise<void>;
}

export type ChatHistory = Array<{ type: 'system' | 'user'; text: string } | { type: 'model'; response: string[] }>;

type NodeLlamaCpp = typeof import('node-llama-cpp');

/** One Llama runtime per process: starting it is slow (docs/backends.md) and it can host many models. */
let runtime: Promise<{ lib: NodeLlamaCpp; llama: Llama }> | undefined;

/**
 * The process's one node-llama-cpp runtime, started on first use with the prebuilt CPU binary:
 * never a build or a download. Benchmarks that measure raw node-llama-cpp start it here too.
 */
export function startRuntime(): Promise<{ lib: NodeLlamaCpp; llama: Llama }> {
  runtime ??= (async () => {
    const lib = await import('node-llama-cpp');
    // Never build or download anything: the prebuilt CPU binary or nothing.
    const llama = await lib.getLlama({
      gpu: false,
      build: 'never',
      usePrebuiltBinaries: true,
      skipDownload: true,
      progressLogs: false,
      logLevel: lib.LlamaLogLevel.warn,
    });
    return { lib, llama };
  })();
  runtime.catch(() => {
    runtime = undefined;
  });
  return runtime;
}

/**
 * @example
 * ```ts
 * const engine = await loadEngine({ modelPath, threads: 1, sequences: 4, pathSource: 'default' });
 * ```
 */
export async function loadEngine(options: LlamaEngineOptions): Promise<LlamaEngine> {
  const { modelPath } = options;
  const fail = (why: string, cause?: unknown) =>
    new ModelLoadError(
      `Could not load the local model at ${modelPath} (${options.pathSource}): ${why}. ` +
        'Point SLUICE_MODEL or --model (createLocalBackend({ modelPath })) at a GGUF file.',
      modelPath,
      cause === undefined ? {} : { cause },
    );

  try {
    await access(modelPath, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw fail(code === 'ENOENT' ? 'no such file' : `the file is not readable (${code ?? 'error'})`, error);
  }
  const info = await stat(modelPath);
  if (!info.isFile()) throw fail('not a file');

  let lib: NodeLlamaCpp;
  let llama: Llama;
  try {
    ({ lib, llama } = await startRuntime());
  } catch (error) {
    throw fail(`node-llama-cpp could not start (${messageOf(error)})`, error);
  }

  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  } catch (error) {
    throw fail(`not a usable GGUF model (${messageOf(error)})`, error);
  }

  let context: LlamaContext;
  try {
    const contextSize = options.contextSize ?? Math.min(model.trainContextSize, 2048);
    context = await model.createContext({ contextSize, sequences: options.sequences, threads: options.threads });
  } catch (error) {
    await model.dispose();
    throw fail(`could not create a context (${messageOf(error)})`, error);
  }
  const sequences = Array.from({ length: options.sequences }, () => context.getSequence());

  const metadata = model.fileInfo.metadata;
  const chatWrapper = metadata.tokenizer?.chat_template ? lib.resolveChatWrapper(model) : null;
  const contextSize = sequences[0]?.contextSize ?? context.contextSize;
  let embedding: Promise<LlamaEmbeddingContext> | undefined;

  return {
    model,
    context,
    sequences,
    modelName: metadata.general?.name || basename(modelPath).replace(/\.gguf$/i, ''),
    modelCreated: Math.floor(info.mtimeMs / 1000),
    contextSize,
    trainContextSize: model.trainContextSize,
    embeddingSize: model.embeddingVectorSize,
    vocabularySize: metadata.tokenizer?.ggml?.tokens?.length ?? 0,
    embeddingContext() {
      embedding ??= model.createEmbeddingContext({ contextSize, threads: options.threads });
      embedding.catch(() => {
        embedding = undefined; // a later request tries again
      });
      return embedding;
    },
    chatWrapper,
    applyTemplate(history) {
      if (!chatWrapper) throw new Error('This model has no chat template');
      const state = chatWrapper.generateContextState({ chatHistory: history });
      return {
        tokens: state.contextText.tokenize(model.tokenizer),
        ...splitTriggers(state.stopGenerationTriggers, model),
      };
    },
    grammar(gbnf) {
      return llama.createGrammar({ grammar: gbnf });
    },
    async jsonGrammar(schema) {
      // A plain-JSON schema: the library's generic type only helps literals written in code.
      const create = llama.createGrammarForJsonSchema as (s: GbnfJsonSchema) => Promise<LlamaGrammar>;
      const generated = await create.call(llama, schema as GbnfJsonSchema);
      return llama.createGrammar({ grammar: tightenGrammar(generated.grammar) });
    },
    grammarState(grammar) {
      return new lib.LlamaGrammarEvaluationState({ model, grammar });
    },
    async dispose() {
      await (await embedding?.catch(() => undefined))?.dispose();
      await context.dispose();
      await model.dispose();
    },
  };
}

// --- internal ---

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Plain-text triggers are matched on text; ones with special tokens are matched on tokens. */
function splitTriggers(
  triggers: readonly LlamaText[],
  model: LlamaModel,
): { stops: string[]; stopTokenSequences: number[][] } {
  const stops: string[] = [];
  const stopTokenSequences: number[][] = [];
  for (const trigger of triggers) {
    if (trigger.values.every((v) => typeof v === 'string')) {
      const text = trigger.values.join('');
      if (text) stops.push(text);
    } else {
      const tokens = trigger.tokenize(model.tokenizer, 'trimLeadingSpace');
      if (tokens.length > 0) stopTokenSequences.push(tokens);
    }
  }
  return { stops, stopTokenSequences };
}
