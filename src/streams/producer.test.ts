import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyDigest } from '../util/credentials.js';
import { keyHashOf } from './producer.js';

test("a stream's owner is the credential the server's key check reads: api-key, else the Bearer token", () => {
  const hex = (key: string) => keyDigest(key).toString('hex');
  assert.equal(keyHashOf({ 'api-key': 's3cret' }), hex('s3cret'));
  assert.equal(keyHashOf({ authorization: 'Bearer t0ken' }), hex('t0ken'));
  // An empty api-key header is no key: the server authenticates by the Bearer token, and so must
  // the owner check (before, the owner became '' and any keyless reader matched it).
  assert.equal(keyHashOf({ 'api-key': '', authorization: 'Bearer t0ken' }), hex('t0ken'));
  assert.equal(keyHashOf({}), hex(''));
});
