// Embeddings on the real tiny model (models/): determinism, the model's dimension, distinct
// texts, batches in order, base64 = float, token arrays, and the bounds as 400s naming the
// parameter. Expected numbers come from the model itself (its vector size, its tokenizer).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EmbeddingsBackendRequest } from '../../backend.js';
import { AbortError, BadRequestError } from '../../errors.js';
import { decodeEmbedding } from '../../protocol/embeddings.js';
import { createLocalBackend, DEFAULT_MODEL_PATH, type LocalBackend } from './local-backend.js';

let backend: LocalBackend;
let contextSize: number;
before(async () => {
  backend = createLocalBackend({ sequences: 1, queueSize: 2 });
  contextSize = (await backend.load()).contextSize;
});
after(() => backend.close());

const never = () => new AbortController().signal;
const embed = (body: EmbeddingsBackendRequest['body'], signal = never()) => backend.embed!({ body }, signal);
const vectorOf = (e: { embedding: number[] | string }) => e.embedding as number[];

async function refusal(body: unknown): Promise<BadRequestError> {
  const error = await embed(body as EmbeddingsBackendRequest['body']).then(
    () => assert.fail('expected a 400'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof BadRequestError, String(error));
  assert.equal(error.status, 400);
  return error;
}

describe('local embeddings', () => {
  test('the same text gives the same vector, of the model dimension, unit length; another text another vector', async () => {
    const a = await embed({ input: 'Once upon a time' });
    const b = await embed({ input: 'Once upon a time' });
    const c = await embed({ input: 'The dog ran to the park' });
    const size = vectorOf(a.data[0]!).length;
    // The model's embedding length, read from the model file's header.
    const { readGgufFileInfo } = await import('node-llama-cpp');
    const { metadata } = await readGgufFileInfo(DEFAULT_MODEL_PATH);
    const header = metadata as unknown as Record<string, { embedding_length?: number }>;
    assert.equal(size, header[metadata.general.architecture]?.embedding_length);
    assert.deepEqual(a.data, b.data);
    assert.equal(vectorOf(c.data[0]!).length, size);
    assert.notDeepEqual(vectorOf(a.data[0]!), vectorOf(c.data[0]!));
    const norm = Math.hypot(...vectorOf(a.data[0]!));
    assert.ok(Math.abs(norm - 1) < 1e-6, `norm ${norm}`);
    assert.equal(a.object, 'list');
    assert.equal(a.data[0]!.object, 'embedding');
    assert.equal(a.model, (await backend.models())[0]!.id);
    const tokens = (await backend.countTokens('Once upon a time')) + 1; // BOS
    assert.deepEqual(a.usage, { prompt_tokens: tokens, total_tokens: tokens });
  });

  test('a batch keeps its order and indexes: each entry equals that text embedded alone', async () => {
    const texts = ['a cat', 'Once upon a time', 'a big red ball', 'a cat'];
    const batch = await embed({ input: texts });
    assert.deepEqual(
      batch.data.map((d) => d.index),
      [0, 1, 2, 3],
    );
    for (const [i, text] of texts.entries()) {
      const alone = await embed({ input: text });
      assert.deepEqual(batch.data[i]!.embedding, alone.data[0]!.embedding, text);
    }
    assert.deepEqual(batch.data[0]!.embedding, batch.data[3]!.embedding);
    assert.notDeepEqual(batch.data[0]!.embedding, batch.data[1]!.embedding);
    let tokens = 0;
    for (const text of texts) tokens += (await backend.countTokens(text)) + 1;
    assert.equal(batch.usage.prompt_tokens, tokens);
  });

  test('base64 decodes to the float vector (float32 of each value), and the model dimension', async () => {
    const texts = ['Once upon a time', 'a dog'];
    const floats = await embed({ input: texts, encoding_format: 'float' });
    const encoded = await embed({ input: texts, encoding_format: 'base64' });
    for (const i of [0, 1]) {
      const text = encoded.data[i]!.embedding;
      assert.equal(typeof text, 'string');
      const decoded = decodeEmbedding(text as string);
      assert.deepEqual(
        decoded,
        vectorOf(floats.data[i]!).map((v) => Math.fround(v)),
      );
    }
  });

  test('token arrays: one array is one input, arrays of arrays several, each its own vector', async () => {
    const byText = await embed({ input: 'Once upon a time' });
    const single = await embed({ input: [1, 2, 3] });
    const nested = await embed({ input: [[1, 2, 3], [4]] });
    assert.equal(single.data.length, 1);
    assert.deepEqual(single.data[0]!.embedding, nested.data[0]!.embedding);
    assert.equal(nested.data.length, 2);
    assert.notDeepEqual(byText.data[0]!.embedding, single.data[0]!.embedding);
  });

  test('bounds: an input over the context is a 400 naming input and the limit; empty, too many, wrong types', async () => {
    const long = 'Once upon a time there was a dog. '.repeat(200);
    const tooLong = await refusal({ input: ['short', long] });
    assert.equal(tooLong.body?.error.param, 'input');
    assert.match(tooLong.message, new RegExp(`at most ${contextSize - 1} tokens`));
    assert.match(tooLong.message, /^Input 1 has \d+ tokens/);
    const tokens = await refusal({ input: [Array.from({ length: contextSize }, () => 1)] });
    assert.equal(tokens.body?.error.param, 'input');
    assert.equal((await refusal({ input: [] })).body?.error.param, 'input');
    assert.equal((await refusal({ input: '' })).body?.error.param, 'input');
    assert.equal((await refusal({})).body?.error.code, 'missing_required_parameter');
    assert.equal((await refusal({ input: Array.from({ length: 2049 }, () => 'a') })).body?.error.param, 'input');
    assert.equal((await refusal({ input: ['a', 3] })).body?.error.param, 'input[1]');
    assert.equal((await refusal({ input: [[1, 2.5]] })).body?.error.param, 'input[0]');
    assert.equal((await refusal({ input: [[100000]] })).body?.error.param, 'input[0]');
    assert.equal((await refusal({ input: 'a', encoding_format: 'hex' })).body?.error.param, 'encoding_format');
  });

  test('dimensions: the model size is accepted, another is a 400 naming dimensions', async () => {
    const size = vectorOf((await embed({ input: 'a' })).data[0]!).length;
    assert.equal(vectorOf((await embed({ input: 'a', dimensions: size })).data[0]!).length, size);
    const refused = await refusal({ input: 'a', dimensions: 8 });
    assert.equal(refused.body?.error.param, 'dimensions');
    assert.equal(refused.body?.error.code, 'unsupported_parameter');
    assert.match(refused.message, new RegExp(`own ${size}`));
  });

  test('an aborted signal ends the request with AbortError', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(embed({ input: 'a' }, controller.signal), AbortError);
  });
});
