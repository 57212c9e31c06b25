import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { StopMatcher } from './stop-matcher.js';

/** Feeds pieces through a matcher; returns the output and whether it stopped. */
function run(stops: string[], pieces: string[]): { out: string; stopped: boolean } {
  const m = new StopMatcher(stops);
  let out = '';
  for (const piece of pieces) {
    const r = m.push(piece);
    out += r.emit;
    if (r.stopped) return { out, stopped: true };
  }
  return { out: out + m.flush(), stopped: false };
}

describe('StopMatcher', () => {
  test('cuts the text before the stop sequence, even split across pieces', () => {
    assert.deepEqual(run(['\nUser:'], ['Hello', '\nUs', 'er: hi']), { out: 'Hello', stopped: true });
    assert.deepEqual(run(['END'], ['aE', 'N', 'Dz']), { out: 'a', stopped: true });
  });

  test('holds back a possible prefix, then releases it when it does not complete', () => {
    const m = new StopMatcher(['\nUser:']);
    assert.deepEqual(m.push('Hi\nUs'), { emit: 'Hi', stopped: false });
    assert.deepEqual(m.push('ual'), { emit: '\nUsual', stopped: false });
  });

  test('the stop that completes first wins; on a tie, the longer one', () => {
    assert.deepEqual(run(['bb', 'a'], ['xxbba']), { out: 'xx', stopped: true });
    assert.deepEqual(run(['a\nb', '\n'], ['a\nb']), { out: 'a', stopped: true });
    assert.deepEqual(run(['ab', 'xab'], ['zxab']), { out: 'z', stopped: true });
  });

  test('held text is flushed at the end', () => {
    assert.deepEqual(run(['STOP'], ['abc', 'ST']), { out: 'abcST', stopped: false });
  });

  test('no stops or empty stops pass text straight through', () => {
    assert.deepEqual(run([], ['a', 'b']), { out: 'ab', stopped: false });
    assert.deepEqual(run([''], ['a', 'b']), { out: 'ab', stopped: false });
  });

  test('property: the output does not depend on how the text is split', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\n'), maxLength: 40 }),
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\n'), minLength: 1, maxLength: 3 }), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.array(fc.nat(40), { maxLength: 8 }),
        (text, stops, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const pieces: string[] = [];
          let last = 0;
          for (const p of points) {
            pieces.push(text.slice(last, p));
            last = p;
          }
          pieces.push(text.slice(last));
          // Reference: reveal the text one character at a time; the first stop to complete
          // (the longest, if several complete together) cuts it.
          let expected = { out: text, stopped: false };
          for (let end = 1; end <= text.length; end++) {
            const done = stops.filter((s) => s.length <= end && text.slice(end - s.length, end) === s);
            if (done.length > 0) {
              const longest = Math.max(...done.map((s) => s.length));
              expected = { out: text.slice(0, end - longest), stopped: true };
              break;
            }
          }
          assert.deepEqual(run(stops, pieces), expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
