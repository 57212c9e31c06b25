import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError } from '../errors.js';
import type { AnyChunk, AnyResponse } from '../types.js';
import {
  checkChunk,
  checkResponse,
  DEFAULT_MAX_CHOICES,
  DEFAULT_SHAPE_LIMITS,
  MAX_TOOL_CALLS,
  shapeLimitsFor,
} from './shape.js';

const parse = (json: string) => JSON.parse(json) as AnyChunk;
const malformed = (fragment: RegExp) => (err: unknown) =>
  err instanceof ProtocolError && err.type === 'unexpected-shape' && fragment.test(err.message);

describe('checkChunk', () => {
  test('an ordinary chunk passes unchanged', () => {
    const json = '{"id":"c","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}';
    assert.deepStrictEqual(checkChunk(parse(json), DEFAULT_SHAPE_LIMITS), JSON.parse(json));
  });

  test('a usage chunk without choices (missing or null) gets choices: []', () => {
    const usage = '"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}';
    assert.deepStrictEqual(checkChunk(parse(`{"id":"c",${usage}}`), DEFAULT_SHAPE_LIMITS).choices, []);
    assert.deepStrictEqual(checkChunk(parse(`{"id":"c","choices":null,${usage}}`), DEFAULT_SHAPE_LIMITS).choices, []);
    const prompts = '{"id":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}';
    assert.deepStrictEqual(checkChunk(parse(prompts), DEFAULT_SHAPE_LIMITS).choices, []);
  });

  test('a chunk with nothing in it, or choices of the wrong type, is malformed', () => {
    assert.throws(() => checkChunk(parse('{}'), DEFAULT_SHAPE_LIMITS), malformed(/nothing where `choices`/));
    assert.throws(() => checkChunk(parse('{"choices":null}'), DEFAULT_SHAPE_LIMITS), malformed(/null where/));
    assert.throws(() => checkChunk(parse('{"choices":{"0":{}}}'), DEFAULT_SHAPE_LIMITS), malformed(/a object where/));
    assert.throws(() => checkChunk(parse('{"choices":"x","usage":{}}'), DEFAULT_SHAPE_LIMITS), malformed(/string/));
  });

  test('null or non-object choices and deltas are malformed', () => {
    assert.throws(
      () => checkChunk(parse('{"choices":[null]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/choices\[0\] is null/),
    );
    assert.throws(
      () => checkChunk(parse('{"choices":[{"index":0},7]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/choices\[1\] is 7/),
    );
    assert.throws(
      () => checkChunk(parse('{"choices":[{"index":0,"delta":null,"finish_reason":"stop"}]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/choices\[0\]\.delta is null/),
    );
  });

  test('an annotation choice (no delta) passes; a missing index becomes 0', () => {
    const chunk = checkChunk(
      parse('{"choices":[{"content_filter_results":{},"finish_reason":null}]}'),
      DEFAULT_SHAPE_LIMITS,
    );
    assert.equal(chunk.choices[0]?.index, 0);
  });

  test('choice indexes are bounded: 1e9 is refused before anything is allocated', () => {
    assert.throws(
      () => checkChunk(parse('{"choices":[{"index":1000000000,"delta":{"content":"x"}}]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/choices\[0\]\.index is 1000000000, beyond the 128 choices/),
    );
    assert.throws(
      () => checkChunk(parse('{"choices":[{"index":-1}]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/not an index/),
    );
    assert.throws(
      () => checkChunk(parse('{"choices":[{"index":1.5}]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/not an index/),
    );
    assert.throws(
      () => checkChunk(parse('{"choices":[{"index":"0"}]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/not an index/),
    );
    const last = DEFAULT_MAX_CHOICES - 1;
    assert.equal(checkChunk(parse(`{"choices":[{"index":${last}}]}`), DEFAULT_SHAPE_LIMITS).choices[0]?.index, last);
  });

  test('tool calls: an array of objects with bounded indexes (a missing index is legal)', () => {
    const call = (calls: string) => parse(`{"choices":[{"index":0,"delta":{"tool_calls":${calls}}}]}`);
    assert.doesNotThrow(() => checkChunk(call('[{"id":"t","function":{"name":"f"}}]'), DEFAULT_SHAPE_LIMITS));
    assert.throws(() => checkChunk(call('[null]'), DEFAULT_SHAPE_LIMITS), malformed(/tool_calls\[0\] is null/));
    assert.throws(() => checkChunk(call('{"index":0}'), DEFAULT_SHAPE_LIMITS), malformed(/not an array/));
    assert.throws(
      () => checkChunk(call(`[{"index":${MAX_TOOL_CALLS}}]`), DEFAULT_SHAPE_LIMITS),
      malformed(/beyond the 128 tool calls/),
    );
  });

  test('prompt filter results: an array of objects with bounded prompt indexes', () => {
    assert.throws(
      () => checkChunk(parse('{"choices":[],"prompt_filter_results":[null]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/prompt filter result 0 is null/),
    );
    assert.throws(
      () =>
        checkChunk(parse('{"choices":[],"prompt_filter_results":[{"prompt_index":99999999}]}'), DEFAULT_SHAPE_LIMITS),
      malformed(/beyond the 128 prompts/),
    );
  });

  test('the message excerpts the chunk and says what to check', () => {
    assert.throws(
      () => checkChunk(parse('{"weird":true}'), DEFAULT_SHAPE_LIMITS),
      malformed(/OpenAI-compatible API\. What arrived before is kept\. \(\{"weird":true\}\)/),
    );
  });
});

describe('checkResponse', () => {
  test('bounds choice indexes and refuses null choices', () => {
    const response = (choices: string) => JSON.parse(`{"id":"r","choices":${choices}}`) as AnyResponse;
    assert.doesNotThrow(() => checkResponse(response('[{"index":0,"message":{"content":"x"}}]'), DEFAULT_SHAPE_LIMITS));
    assert.throws(() => checkResponse(response('[null]'), DEFAULT_SHAPE_LIMITS), malformed(/choices\[0\] is null/));
    assert.throws(
      () => checkResponse(response('[{"index":1000000000}]'), DEFAULT_SHAPE_LIMITS),
      malformed(/beyond the 128 choices/),
    );
    assert.throws(() => checkResponse(response('null'), DEFAULT_SHAPE_LIMITS), malformed(/null where `choices`/));
  });
});

describe('shapeLimitsFor', () => {
  test('n × prompts when that is more than the default', () => {
    assert.equal(shapeLimitsFor('completions', { prompt: ['a', 'b', 'c'], n: 100 }).maxChoices, 300);
    assert.equal(
      shapeLimitsFor('completions', { prompt: [[1, 2], [3]] as unknown as string[], n: 100 }).maxChoices,
      200,
    );
    assert.equal(shapeLimitsFor('completions', { prompt: [1, 2, 3] as unknown as string[], n: 2 }).maxChoices, 128);
    assert.equal(shapeLimitsFor('chat', { messages: [], n: 200 }).maxChoices, 200);
  });
  test('the defaults otherwise', () => {
    assert.deepStrictEqual(shapeLimitsFor('chat', { messages: [], n: 4 }), DEFAULT_SHAPE_LIMITS);
    assert.deepStrictEqual(shapeLimitsFor('chat'), DEFAULT_SHAPE_LIMITS);
    assert.deepStrictEqual(shapeLimitsFor('completions', { prompt: 'x', n: -5 }), DEFAULT_SHAPE_LIMITS);
  });
});
