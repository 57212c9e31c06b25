import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Detokenizer, TokenTextDecoder } from './token-text.js';

/** A byte-level fake: token n is byte n; SentencePiece-like leading-space rule not modelled. */
const bytes: Detokenizer = {
  detokenize: (tokens, _special, last) => {
    const all = new TextDecoder().decode(Uint8Array.from([...(last ?? []), ...tokens]));
    const before = new TextDecoder().decode(Uint8Array.from(last ?? []));
    return all.startsWith(before) ? all.slice(before.length) : new TextDecoder().decode(Uint8Array.from(tokens));
  },
};

describe('TokenTextDecoder', () => {
  test('never emits part of a multi-byte character', () => {
    const text = 'héllo 世界 🎉!';
    const decoder = new TokenTextDecoder(bytes);
    const pieces: string[] = [];
    for (const b of new TextEncoder().encode(text)) pieces.push(decoder.push(b));
    pieces.push(decoder.flush());
    assert.equal(pieces.join(''), text);
    for (const p of pieces) assert.ok(!p.includes('\uFFFD'), JSON.stringify(p));
    // The emoji's four bytes came out as one piece, on its last byte.
    assert.ok(pieces.includes('🎉'));
  });

  test('an invalid byte sequence is given up after 4 tokens rather than held forever', () => {
    const decoder = new TokenTextDecoder(bytes);
    const out = [0xf0, 0x9f, 0x8e, 0x41].map((b) => decoder.push(b));
    assert.deepEqual(out.slice(0, 3), ['', '', '']);
    assert.match(out[3] ?? '', /\uFFFD.*A|\uFFFDA/u);
  });

  test('flush returns an unfinished character as a replacement', () => {
    const decoder = new TokenTextDecoder(bytes);
    assert.equal(decoder.push(0xe4), '');
    assert.equal(decoder.flush(), '\uFFFD');
    assert.equal(decoder.flush(), '');
  });
});
