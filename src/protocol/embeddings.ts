/**
 * The Embeddings API's wire types (`POST /openai/deployments/{d}/embeddings`,
 * `/openai/v1/embeddings`, `/v1/embeddings`), the base64 encoding OpenAI uses for vectors
 * (little-endian float32, as `encoding_format: "base64"` returns them) and the shape check of
 * an answer. Embeddings is its own family beside Chat Completions and Completions (`ApiKind`):
 * one request, one JSON answer, no stream, so it does not travel through the chunk seam.
 * Browser-safe (no Buffer): the client and the server share it.
 * @module
 */
import { ProtocolError } from '../errors.js';
import { excerpt } from './excerpt.js';

/** `input`: one text, several texts, one token array or several (token ids of the model). */
export type EmbeddingsInput = string | string[] | number[] | number[][];

export interface EmbeddingsRequest {
  input: EmbeddingsInput;
  /** Model (OpenAI, Azure v1) or deployment name; optional on Azure deployment routes. */
  model?: string;
  /** `float` (the default) or `base64` (each vector as little-endian float32 bytes, base64). */
  encoding_format?: 'float' | 'base64';
  /** Fewer dimensions than the model's (models trained for it only). */
  dimensions?: number;
  user?: string;
  [k: string]: unknown;
}

export interface Embedding {
  object: 'embedding';
  index: number;
  /** The vector, or its base64 form when `encoding_format: "base64"` was asked. */
  embedding: number[] | string;
  [k: string]: unknown;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number; [k: string]: unknown };
  [k: string]: unknown;
}

/** An answer whose vectors are numbers (what the client returns unless base64 was asked). */
export type FloatEmbeddingsResponse = EmbeddingsResponse & { data: Array<Embedding & { embedding: number[] }> };

/** Inputs one request may carry: OpenAI's limit. */
export const MAX_EMBEDDING_INPUTS = 2048;

/**
 * A vector as OpenAI's `base64` encoding: its float32 values, little-endian, in base64.
 *
 * @example
 * encodeEmbedding([1, -2]); // 'AACAPwAAAMA='
 */
export function encodeEmbedding(vector: ArrayLike<number>): string {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i] as number, true);
  let binary = '';
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * The numbers of a `base64` vector. Throws ProtocolError when the text is not base64 of
 * whole float32 values.
 *
 * @example
 * decodeEmbedding('AACAPwAAAMA='); // [1, -2]
 */
export function decodeEmbedding(text: string): number[] {
  let binary: string;
  try {
    binary = atob(text);
  } catch (cause) {
    throw new ProtocolError('unexpected-shape', `An embedding is not valid base64: ${excerpt(text)}`, { cause });
  }
  if (binary.length % 4 !== 0) {
    throw new ProtocolError(
      'unexpected-shape',
      `A base64 embedding has ${binary.length} bytes, not whole float32 values.`,
    );
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const vector = new Array<number>(bytes.length / 4);
  for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * 4, true);
  return vector;
}

/**
 * Checks an embeddings answer: `data` an array of at most `maxItems` entries, each an object
 * with an integer `index` and an `embedding` that is an array of numbers or a string. Returns
 * it; throws ProtocolError naming what is wrong.
 *
 * @example
 * checkEmbeddingsResponse(JSON.parse(text), 1);
 */
export function checkEmbeddingsResponse(value: unknown, maxItems = MAX_EMBEDDING_INPUTS): EmbeddingsResponse {
  const shape = (why: string) => new ProtocolError('unexpected-shape', `The embeddings answer ${why}.`);
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { data?: unknown }).data)) {
    throw shape('has no data array');
  }
  const data = (value as { data: unknown[] }).data;
  if (data.length > maxItems) throw shape(`has ${data.length} embeddings for at most ${maxItems} inputs`);
  for (const item of data) {
    if (typeof item !== 'object' || item === null) throw shape('has an entry that is not an object');
    const { index, embedding } = item as { index?: unknown; embedding?: unknown };
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= maxItems) {
      throw shape(`has an entry whose index is ${excerpt(String(index))}`);
    }
    if (typeof embedding !== 'string' && !(Array.isArray(embedding) && embedding.every((v) => typeof v === 'number'))) {
      throw shape('has an embedding that is neither numbers nor base64 text');
    }
  }
  return value as EmbeddingsResponse;
}

/**
 * How many inputs a request carries: 1 for a string or one token array, else the array's length.
 *
 * @example
 * embeddingInputs(['a', 'b']); // ['a', 'b']
 * embeddingInputs([1, 2, 3]); // [[1, 2, 3]]
 */
export function embeddingInputs(input: EmbeddingsInput): Array<string | number[]> {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]];
  return input as Array<string | number[]>;
}
