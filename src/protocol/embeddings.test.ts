// The embeddings rules of the one request validator, without a model: what an upstream gets
// (no capabilities: only the wire rules) and what a backend stating its limits refuses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkEmbeddingsResponse, embeddingInputs } from './embeddings.js';
import { parseEmbeddingsRequest, validateEmbeddingsRequest } from './request.js';

const caps = { embeddingDimensions: 64, maxInputTokens: 4 };
const param = (value: unknown, capabilities?: typeof caps) => {
  const v = validateEmbeddingsRequest(value, { capabilities });
  return v.ok ? 'ok' : v.problem.param;
};

describe('embeddings requests', () => {
  test('the four input shapes, and how many inputs each is', () => {
    assert.deepEqual(embeddingInputs('a'), ['a']);
    assert.deepEqual(embeddingInputs(['a', 'b']), ['a', 'b']);
    assert.deepEqual(embeddingInputs([1, 2]), [[1, 2]]);
    assert.deepEqual(embeddingInputs([[1], [2, 3]]), [[1], [2, 3]]);
    for (const input of ['a', ['a', 'b'], [1, 2], [[1], [2, 3]]]) assert.equal(param({ input }), 'ok');
  });

  test('an upstream gets any dimensions and any token-array length; a stated backend refuses past its limits', () => {
    assert.equal(param({ input: 'a', dimensions: 8 }), 'ok');
    assert.equal(param({ input: 'a', dimensions: 8 }, caps), 'dimensions');
    assert.equal(param({ input: 'a', dimensions: 64 }, caps), 'ok');
    assert.equal(param({ input: [1, 2, 3, 4, 5] }), 'ok');
    assert.equal(param({ input: [1, 2, 3, 4, 5] }, caps), 'input');
    assert.equal(param({ input: [[1], [1, 2, 3, 4]] }, caps), 'ok');
  });

  test('wrong shapes name the field; unknown fields pass; bad JSON is invalid_json', () => {
    assert.equal(param({ input: 3 }), 'input');
    assert.equal(param({ input: [[1], 'a'] }), 'input[1]');
    assert.equal(param({ input: [-1] }), 'input[0]');
    assert.equal(param({ input: [''] }), 'input[0]');
    assert.equal(param({ input: 'a', dimensions: 0 }), 'dimensions');
    assert.equal(param({ input: 'a', user: 1 }), 'user');
    assert.equal(param({ input: 'a', encoding_format: 'float16' }), 'encoding_format');
    assert.equal(param({ input: 'a', something_new: true }), 'ok');
    assert.equal(param([]), null);
    const bad = parseEmbeddingsRequest('{');
    assert.ok(!bad.ok && bad.problem.code === 'invalid_json');
  });

  test('an answer with a negative or fractional index is refused', () => {
    const answer = (index: unknown) => ({ object: 'list', data: [{ object: 'embedding', index, embedding: [1] }] });
    assert.doesNotThrow(() => checkEmbeddingsResponse(answer(0), 1));
    assert.throws(() => checkEmbeddingsResponse(answer(-1), 1), /index/);
    assert.throws(() => checkEmbeddingsResponse(answer(0.5), 1), /index/);
    assert.throws(() => checkEmbeddingsResponse(answer('__proto__'), 1), /index/);
  });
});
