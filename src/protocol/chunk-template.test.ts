import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ChunkTemplate } from './chunk-template.js';
import { readStreamEvent, STREAM_DONE } from './events.js';

const SAFE = '{"filtered":false,"severity":"safe"}';
const FILTERS = `{"hate":${SAFE},"self_harm":${SAFE},"sexual":${SAFE},"violence":${SAFE}}`;
const TAIL =
  '"created":1732550400,"id":"chatcmpl-T","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_x"';

/** Azure's content chunk with `text` as its delta (`text` already a JSON string token). */
function azureContent(token: string, filters = FILTERS): string {
  return `{"choices":[{"content_filter_results":${filters},"delta":{"content":${token}},"finish_reason":null,"index":0,"logprobs":null}],${TAIL}}`;
}

/** Reads `data` with the template, or parses and offers it as `readStreamEvent` does. */
function read(template: ChunkTemplate, data: string): { value: unknown; matched: boolean } {
  const matched = template.match(data);
  if (matched !== undefined) return { value: matched, matched: true };
  const value = JSON.parse(data) as object;
  template.learn(data, value);
  return { value, matched: false };
}

test('an Azure stream: every content chunk after the first is read from the template, equal to JSON.parse', () => {
  const template = new ChunkTemplate();
  const stream = [
    `{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":${FILTERS}}]}`,
    `{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],${TAIL}}`,
    ...['Once', ' upon', ' a "time"', ' café 🙂', '\\u00e9\\n', ' — end'].map((t) =>
      azureContent(t.includes('\\') ? `"${t}"` : JSON.stringify(t)),
    ),
    `{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],${TAIL}}`,
    `{"choices":[],${TAIL},"usage":{"completion_tokens":6,"prompt_tokens":9,"total_tokens":15}}`,
  ];
  const matched: boolean[] = [];
  for (const data of stream) {
    const got = read(template, data);
    assert.deepEqual(got.value, JSON.parse(data), data);
    matched.push(got.matched);
  }
  // The role chunk is the first template; the first content chunk differs from it (filters)
  // and becomes the next; the four after it match; finish and usage do not.
  assert.deepEqual(matched, [false, false, false, true, true, true, true, true, false, false]);
});

test('a chunk is proved only when the next begins like it: the first text chunk costs one parse', () => {
  const template = new ChunkTemplate();
  const role = `{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],${TAIL}}`;
  const parse = JSON.parse;
  let parses = 0;
  /** The `JSON.parse` calls `step` makes, the template's own included. */
  const parsesOf = (step: () => void): number => {
    parses = 0;
    JSON.parse = (text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      parses++;
      return parse(text, reviver);
    };
    try {
      step();
    } finally {
      JSON.parse = parse;
    }
    return parses;
  };
  // Role chunk, then the first text chunk: each parsed once, neither proved (they differ before the key).
  assert.equal(
    parsesOf(() => read(template, role)),
    1,
  );
  assert.equal(
    parsesOf(() => assert.equal(read(template, azureContent('"Once"')).matched, false)),
    1,
  );
  // The second text chunk begins like the first: the first is proved now, and the second matched.
  let second: unknown;
  assert.equal(
    parsesOf(() => {
      second = template.match(azureContent('" upon"'));
    }),
    1,
  );
  assert.deepEqual(second, JSON.parse(azureContent('" upon"')));
  assert.equal(
    parsesOf(() => assert.equal(read(template, azureContent('" a"')).matched, true)),
    0,
  );
});

test('a matched chunk is a fresh copy: changing one changes neither the next nor the template', () => {
  const template = new ChunkTemplate();
  read(template, azureContent('"a"'));
  const first = template.match(azureContent('"b"')) as {
    choices: Array<{ content_filter_results: { hate: { filtered: boolean } } }>;
  };
  first.choices[0]!.content_filter_results.hate.filtered = true;
  const second = template.match(azureContent('"c"'));
  assert.deepEqual(second, JSON.parse(azureContent('"c"')));
});

test('Completions chunks: choices[0].text is the varying string', () => {
  const template = new ChunkTemplate();
  const chunk = (t: string) =>
    `{"id":"cmpl-1","object":"text_completion","created":1,"model":"gpt-35-turbo-instruct","choices":[{"text":${JSON.stringify(t)},"index":0,"logprobs":null,"finish_reason":null}]}`;
  read(template, chunk('Once'));
  const got = template.match(chunk(' upon'));
  assert.deepEqual(got, JSON.parse(chunk(' upon')));
});

test('whitespace around the colon (servers that pretty-print) is found as well', () => {
  const template = new ChunkTemplate();
  const chunk = (t: string) => `{"choices": [{"index": 0, "delta": {"content": ${JSON.stringify(t)}}}], "id": "x"}`;
  read(template, chunk('a'));
  assert.deepEqual(template.match(chunk('b c')), JSON.parse(chunk('b c')));
});

test('hostile texts: whatever is matched equals JSON.parse, and no prototype is touched', () => {
  const template = new ChunkTemplate();
  const chunk = (t: string) =>
    `{"__proto__":{"polluted":1},"choices":[{"delta":{"content":${t}}}],"constructor":{"x":1}}`;
  read(template, chunk('"a"'));
  for (const token of [
    '"b"',
    '"\\""',
    '"a","x":"y"',
    '"a"}],"choices":[{"delta":{"content":"z"}}],"q":["',
    '"\\u0000"',
    '"\u0001"',
    '"\\ud800"',
    '"a\\"',
    // Short plain deltas are sliced out, not parsed: the characters that make them no string.
    '"eleven char\u001f"',
    '"eleven char\u007f"',
    '"\ud800 lone"',
    '"twelve "char"',
    '"twelve\\char"',
  ]) {
    const data = chunk(token);
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      assert.equal(template.match(data), undefined, data);
      continue;
    }
    const got = template.match(data);
    if (got !== undefined) assert.deepEqual(got, parsed, data);
  }
  const got = template.match(chunk('"b"')) as Record<string, unknown>;
  assert.ok(Object.hasOwn(got, '__proto__'));
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('a duplicated key: the template varies the value JSON.parse keeps, not the one it drops', () => {
  const template = new ChunkTemplate();
  const chunk = (first: string, last: string) => `{"choices":[{"delta":{"content":"${first}","content":"${last}"}}]}`;
  read(template, chunk('x', 'y'));
  // The first "content" is the one dropped: a chunk differing there must not be read as "y" changed.
  const data = chunk('changed', 'y');
  const got = template.match(data);
  if (got !== undefined) assert.deepEqual(got, JSON.parse(data));
  assert.deepEqual(template.match(chunk('x', 'z')), JSON.parse(chunk('x', 'z')));
});

test('"content" inside another string or key is not taken for the slot', () => {
  const template = new ChunkTemplate();
  const chunk = (t: string) =>
    `{"note":"\\"content\\":\\"no\\"","content":"decoy","choices":[{"delta":{"content":${JSON.stringify(t)}}}]}`;
  read(template, chunk('real'));
  assert.deepEqual(template.match(chunk('other')), JSON.parse(chunk('other')));
  assert.equal(template.match(chunk('other').replace('"decoy"', '"changed"')), undefined);
});

test('a stream whose chunks never repeat (a per-chunk random field) stops proving templates', () => {
  const template = new ChunkTemplate();
  const chunk = (t: string, pad: string) => `{"choices":[{"delta":{"content":"${t}"}}],"obfuscation":"${pad}"}`;
  const pads = ['x', 'yy', 'zzz', 'wwww', 'vvvvv', 'uuuuuu'];
  for (const pad of pads) assert.equal(read(template, chunk('t', pad)).matched, false);
  // Given up: even a chunk that repeats the last one exactly is parsed from now on.
  assert.equal(template.match(chunk('s', 'uuuuuu')), undefined);
});

test('a chunk nested deeper than a template may be is parsed, never copied (no stack to overflow)', () => {
  const template = new ChunkTemplate();
  const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
  const chunk = (t: string) => `{"choices":[{"delta":{"content":"${t}"}}],"x":${deep}}`;
  assert.equal(read(template, chunk('a')).matched, false);
  assert.equal(template.match(chunk('b')), undefined);
  // A shallow stream afterwards still gets its template.
  const shallow = (t: string) => `{"choices":[{"delta":{"content":"${t}"}}]}`;
  read(template, shallow('a'));
  assert.deepEqual(template.match(shallow('b')), JSON.parse(shallow('b')));
});

test('readStreamEvent with a template: same chunks, [DONE] and error frames as without', () => {
  const template = new ChunkTemplate();
  const events = [
    azureContent('"a"'),
    azureContent('"b"'),
    '{"error":{"message":"boom","code":"500"}}',
    azureContent('"c"'),
    '[DONE]',
  ];
  for (const data of events) {
    const withTemplate = readStreamEvent({ type: 'message', data, id: '' }, { keepSourceJson: true }, template);
    const without = readStreamEvent({ type: 'message', data, id: '' });
    if (without === STREAM_DONE) assert.equal(withTemplate, STREAM_DONE);
    else assert.deepEqual(withTemplate, without);
  }
  assert.throws(
    () => readStreamEvent({ type: 'message', data: azureContent('"a'), id: '' }, undefined, template),
    /not JSON/,
  );
});

/** Mostly `undefined` (as before), now and then a value of `arbitrary`. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary, weight: 1 });
}

// Any text at all, after any template: a match is always exactly what JSON.parse returns.
test('property: a matched text always equals JSON.parse of it', () => {
  const jsonString = fc.oneof(
    fc.string().map((s) => JSON.stringify(s)),
    fc.string({ unit: 'binary' }).map((s) => JSON.stringify(s)),
    fc.constantFrom('"\\u00e9"', '"\\ud83d\\ude42"', '"a\\/b"', '"\\"', '"a"b"', '""', '"\\x"', '"\t"'),
  );
  const filters = fc.constantFrom('{}', FILTERS, '{"hate":{"filtered":true,"severity":"high"}}');
  let matches = 0;
  const edit = fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom('', '"', '\\', ',', '}', ' ', 'x', '"content":"q"'));
  fc.assert(
    fc.property(
      fc.string().map((s) => JSON.stringify(s)),
      filters,
      fc.array(fc.tuple(jsonString, sometimes(filters), sometimes(edit))),
      (first, f0, rest) => {
        const template = new ChunkTemplate();
        read(template, azureContent(first, f0));
        for (const [token, f, change] of rest) {
          let data = azureContent(token, f ?? f0);
          if (change !== undefined) {
            const [at, drop, insert] = change;
            const i = at % (data.length + 1);
            data = data.slice(0, i) + insert + data.slice(i + drop);
          }
          let parsed: unknown;
          let valid = true;
          try {
            parsed = JSON.parse(data);
          } catch {
            valid = false;
          }
          const got = template.match(data);
          if (got !== undefined) {
            assert.ok(valid, `matched invalid JSON: ${data}`);
            assert.deepEqual(got, parsed);
            matches++;
          } else if (valid && parsed !== null && typeof parsed === 'object') {
            template.learn(data, parsed);
          }
        }
      },
    ),
    { numRuns: 500 },
  );
  assert.ok(matches > 500, `only ${matches} texts matched a template: the property says little`);
});
