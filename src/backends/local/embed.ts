/**
 * Embeddings on the local model: each input through node-llama-cpp's embedding context, one
 * after another, the vector scaled to unit length (as OpenAI's are, so a dot product is the
 * cosine similarity), in the body's `encoding_format`. Every input is checked before any is
 * embedded: a 400 belongs before model time.
 * @module
 */
import type { Token } from 'node-llama-cpp';
import { throwIfAborted } from '../../abort.js';
import {
  type EmbeddingsRequest,
  type EmbeddingsResponse,
  embeddingInputs,
  encodeEmbedding,
} from '../../protocol/embeddings.js';
import { inputTooLong, type RequestCapabilities, validateEmbeddingsRequest } from '../../protocol/request.js';
import { badRequest } from './bad-request.js';
import type { LlamaEngine } from './engine.js';

/** What the local model's embeddings honour: its own vector size, inputs within its context. */
export function embeddingCapabilities(engine: LlamaEngine): RequestCapabilities {
  return { embeddingDimensions: engine.embeddingSize, maxInputTokens: engine.contextSize - 1 };
}

/**
 * Refuses a body the embeddings cannot honour (a BadRequestError naming the parameter); with
 * no capabilities (the model not loaded yet), only the wire rules.
 *
 * @example
 * checkEmbeddingsBody({ input: [] }); // throws: 'input' must contain at least one input.
 */
export function checkEmbeddingsBody(body: unknown, capabilities?: RequestCapabilities): EmbeddingsRequest {
  const checked = validateEmbeddingsRequest(body, { capabilities });
  if (!checked.ok) throw badRequest(checked.problem.param, checked.problem.message, checked.problem.code);
  return checked.body;
}

/**
 * Embeds every input of `body`; `onTokens` counts what the model read.
 *
 * @example
 * const answer = await embed(engine, { input: ['a dog', 'a cat'] }, signal);
 * answer.data[1].embedding.length; // engine.embeddingSize
 */
export async function embed(
  engine: LlamaEngine,
  body: EmbeddingsRequest,
  signal: AbortSignal,
  onTokens: (count: number) => void = () => {},
): Promise<EmbeddingsResponse> {
  checkEmbeddingsBody(body, embeddingCapabilities(engine));
  const context = await engine.embeddingContext();
  // The model reads at most contextSize - 1 tokens (BOS included): the library's own bound.
  const limit = engine.contextSize - 1;
  const inputs = embeddingInputs(body.input).map((input, index) => {
    if (typeof input !== 'string') {
      const bad = input.findIndex((token) => token >= engine.vocabularySize);
      if (bad !== -1) {
        throw badRequest(
          `input[${index}]`,
          `Input ${index} has the token id ${input[bad]}; this model's token ids run from 0 to ${engine.vocabularySize - 1}.`,
        );
      }
    }
    // A copy: the library prepends BOS to a token array in place.
    const prepared = typeof input === 'string' ? input : ([...input] as Token[]);
    const tokens = context.calculateInputLength(prepared);
    if (tokens > limit) {
      const problem = inputTooLong(index, tokens, limit);
      throw badRequest(problem.param, problem.message, problem.code);
    }
    return { prepared, tokens };
  });
  const base64 = body.encoding_format === 'base64';
  const data: EmbeddingsResponse['data'] = [];
  let promptTokens = 0;
  for (const [index, { prepared, tokens }] of inputs.entries()) {
    throwIfAborted(signal);
    const { vector } = await context.getEmbeddingFor(prepared);
    const unit = unitLength(vector);
    data.push({ object: 'embedding', index, embedding: base64 ? encodeEmbedding(unit) : unit });
    promptTokens += tokens;
    onTokens(tokens);
  }
  return {
    object: 'list',
    data,
    model: engine.modelName,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** The vector scaled to length 1 (a zero vector stays zero). */
function unitLength(vector: readonly number[]): number[] {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum);
  return norm === 0 ? [...vector] : vector.map((v) => v / norm);
}
