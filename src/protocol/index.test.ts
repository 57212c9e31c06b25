import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as protocol from './index.js';

test('the entry point exports the agreed API (values; types are erased)', () => {
  assert.deepStrictEqual(Object.keys(protocol).sort(), [
    'chunkBuilder',
    'createAccumulator',
    'decideEndState',
    'errorBody',
    'errorFromResponse',
    'excerpt',
    'filterServiceError',
    'firedCategories',
    'mergeFilterResults',
    'parseRateLimit',
    'parseStreamEvent',
    'promptFilteredState',
    'redactSecrets',
    'requestIdOf',
    'safeFilterResults',
    'textDeltas',
    'toErrorBody',
    'truncationError',
  ]);
  for (const value of Object.values(protocol)) assert.equal(typeof value, 'function');
});
