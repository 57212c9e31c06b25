// The source text kept beside a parsed chunk for a relay: found again for the same object
// only, invisible to everything that reads or copies the object, and dropped on request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forgetSourceJson, keepSourceJson, sourceJsonOf } from './source-json.js';

test('the source text is found for its own object, and nothing that reads or copies it sees it', () => {
  const json = '{"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}';
  const chunk = JSON.parse(json) as Record<string, unknown>;
  keepSourceJson(chunk, json);
  assert.equal(sourceJsonOf(chunk), json);
  assert.equal(sourceJsonOf(JSON.parse(json)), undefined, 'an equal object is another object');
  assert.deepEqual(Object.keys(chunk), ['id', 'choices']);
  assert.deepEqual(Reflect.ownKeys(chunk), ['id', 'choices']);
  assert.equal(JSON.stringify(chunk), json);
  for (const copy of [{ ...chunk }, structuredClone(chunk), Object.assign({}, chunk)]) {
    assert.equal(sourceJsonOf(copy), undefined);
    assert.deepEqual(copy, JSON.parse(json));
  }
  assert.equal(sourceJsonOf(new Proxy(chunk, {})), undefined);
});

test('forgetting drops it; text with a line break, and an object that cannot be extended, keep nothing', () => {
  const chunk = { a: 1 };
  keepSourceJson(chunk, '{"a":1}');
  forgetSourceJson(chunk);
  assert.equal(sourceJsonOf(chunk), undefined);
  keepSourceJson(chunk, '{"a":1}');
  assert.equal(sourceJsonOf(chunk), '{"a":1}', 'kept again after a forget');
  forgetSourceJson({ b: 2 }); // never kept: nothing to do

  const multiline = { a: 1 };
  keepSourceJson(multiline, '{\n"a":1}');
  assert.equal(sourceJsonOf(multiline), undefined);
  const frozen = Object.freeze({ a: 1 });
  keepSourceJson(frozen, '{"a":1}');
  assert.equal(sourceJsonOf(frozen), undefined);
});
