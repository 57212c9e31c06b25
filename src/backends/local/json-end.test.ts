import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JsonEnd } from './json-end.js';

describe('JsonEnd', () => {
  test('stops at the closing bracket, whatever the split; brackets in strings and escapes do not count', () => {
    const text = '{"a": "}]\\"{", "b": [1, {"c": []}]}\n\n\n\n';
    const end = text.indexOf('\n');
    for (let size = 1; size <= text.length; size++) {
      const json = new JsonEnd();
      let out = '';
      let stopped = false;
      for (let i = 0; i < text.length && !stopped; i += size) {
        const r = json.push(text.slice(i, i + size));
        out += r.emit;
        stopped = r.stopped;
      }
      assert.equal(out, text.slice(0, end), `pieces of ${size}`);
      assert.ok(stopped);
    }
  });

  test('an unfinished value never stops', () => {
    const json = new JsonEnd();
    assert.deepEqual(json.push('{"a": [1, 2'), { emit: '{"a": [1, 2', stopped: false });
  });
});
