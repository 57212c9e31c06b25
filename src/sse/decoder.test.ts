import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sameMap } from '../../test/support/hidden-class.js';
import { byteOpsUnderTest, decodeEveryWay, encode, events, run, slices } from '../../test/support/sse.js';
import { ErrorCodes, SseDecodeError } from '../errors.js';
import { portableByteOps } from './bytes.js';
import {
  createAttachedDecoder,
  createDecoder,
  createDecoderWith,
  DEFAULT_MAX_LINE_LENGTH,
  feedDecoder,
  type SseEvent,
} from './decoder.js';

const ev = (data: string, type = 'message', id = ''): SseEvent => ({ type, data, id });

describe('decoder: dispatching events', () => {
  it('dispatches a data line on the blank line that follows, as type message with an empty id', () => {
    assert.deepEqual(events(decodeEveryWay('data: hello\n\n')), [ev('hello')]);
  });

  it('does not dispatch before the blank line arrives', () => {
    const r = decodeEveryWay('data: hello\n');
    assert.deepEqual(events(r), []);
  });

  it('dispatches several events in order', () => {
    assert.deepEqual(events(decodeEveryWay('data: a\n\ndata: b\n\ndata: c\n\n')), [ev('a'), ev('b'), ev('c')]);
  });

  it('joins several data lines with LF', () => {
    assert.deepEqual(events(decodeEveryWay('data: a\ndata: b\ndata: c\n\n')), [ev('a\nb\nc')]);
  });

  it('keeps an empty data line as an empty line in the joined data', () => {
    assert.deepEqual(events(decodeEveryWay('data: a\ndata:\ndata: b\n\n')), [ev('a\n\nb')]);
    assert.deepEqual(events(decodeEveryWay('data: a\ndata\n\n')), [ev('a\n')]);
  });

  it('dispatches an event whose only data line is empty, with empty data', () => {
    assert.deepEqual(events(decodeEveryWay('data:\n\n')), [ev('')]);
    assert.deepEqual(events(decodeEveryWay('data\n\n')), [ev('')]);
  });

  it('does not dispatch when no data line came (empty data buffer)', () => {
    assert.deepEqual(events(decodeEveryWay('event: ping\n\nid: 1\n\n\n\n')), []);
  });

  it('resets the event type after a block without data, so the next event is a message', () => {
    assert.deepEqual(events(decodeEveryWay('event: ping\n\ndata: x\n\n')), [ev('x')]);
  });

  it('dispatches once for a blank line, however many blank lines follow', () => {
    assert.deepEqual(events(decodeEveryWay('data: a\n\n\n\n\ndata: b\n\n')), [ev('a'), ev('b')]);
  });

  it('treats a blank line arriving in the next chunk exactly like one in the same chunk', () => {
    for (const { ops } of byteOpsUnderTest) {
      const r = run([encode('event: e\nid: 7\ndata: x\n'), encode('\n')], undefined, ops);
      assert.deepEqual(events(r), [ev('x', 'e', '7')]);
    }
  });
});

describe('decoder: fields', () => {
  it('sets the event type from the event field', () => {
    assert.deepEqual(events(decodeEveryWay('event: update\ndata: x\n\n')), [ev('x', 'update')]);
  });

  it('uses message when the event field is empty', () => {
    assert.deepEqual(events(decodeEveryWay('event:\ndata: x\n\nevent\ndata: y\n\n')), [ev('x'), ev('y')]);
  });

  it('resets the event type to message after each dispatch', () => {
    assert.deepEqual(events(decodeEveryWay('event: a\ndata: 1\n\ndata: 2\n\n')), [ev('1', 'a'), ev('2')]);
  });

  it('lets the last event field of a block win', () => {
    assert.deepEqual(events(decodeEveryWay('event: a\nevent: b\ndata: 1\n\n')), [ev('1', 'b')]);
  });

  it('removes exactly one leading space after the colon, and only one', () => {
    assert.deepEqual(events(decodeEveryWay('data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\n')), [
      ev('x'),
      ev('x'),
      ev(' x'),
      ev('\tx'),
    ]);
  });

  it('keeps colons after the first one in the value', () => {
    assert.deepEqual(events(decodeEveryWay('data: a: b:c\n\n')), [ev('a: b:c')]);
  });

  it('treats a line without a colon as a field with an empty value', () => {
    assert.deepEqual(events(decodeEveryWay('data\ndata\n\n')), [ev('\n')]);
  });

  it('ignores unknown fields and compares field names case-sensitively', () => {
    const r = decodeEveryWay('Data: no\nDATA: no\ndatum: no\ndatabase: no\nfoo\n: c\ndata: yes\n\n');
    assert.deepEqual(events(r), [ev('yes')]);
  });

  it('keeps the last event ID across events until another id field changes it', () => {
    const r = decodeEveryWay('id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n');
    assert.deepEqual(events(r), [ev('a', 'message', '1'), ev('b', 'message', '1'), ev('c', 'message', '2')]);
    assert.equal(r.lastEventId, '2');
  });

  it('ignores an id containing NULL', () => {
    const r = decodeEveryWay('id: 1\ndata: a\n\nid: 2\u0000x\ndata: b\n\n');
    assert.deepEqual(events(r), [ev('a', 'message', '1'), ev('b', 'message', '1')]);
  });

  it('sets the last event ID to empty for an empty id field', () => {
    const r = decodeEveryWay('id: 1\ndata: a\n\nid\ndata: b\n\nid: 3\ndata: c\n\nid:\ndata: d\n\n');
    assert.deepEqual(
      events(r).map((e) => e.id),
      ['1', '', '3', ''],
    );
  });

  it('updates the last event ID from a block that dispatches nothing', () => {
    const r = decodeEveryWay('id: 5\n\ndata: x\n\n');
    assert.deepEqual(events(r), [ev('x', 'message', '5')]);
  });

  it('applies an id field even when it comes after the data lines of its block', () => {
    assert.deepEqual(events(decodeEveryWay('data: x\nid: 9\n\n')), [ev('x', 'message', '9')]);
  });

  it('reports retry when the value is all ASCII digits', () => {
    const r = decodeEveryWay('retry: 1500\nretry:0\nretry: 007\n');
    assert.deepEqual(r.log, [{ retry: 1500 }, { retry: 0 }, { retry: 7 }]);
  });

  it('ignores retry values that are empty or not all digits', () => {
    const r = decodeEveryWay('retry\nretry:\nretry: -1\nretry: 1.5\nretry: 10ms\nretry:  10\nretry: ١٢\n');
    assert.deepEqual(r.log, []);
  });

  it('reports comments with one leading space removed, without dispatching or breaking an event', () => {
    const r = decodeEveryWay(':hello\n: world\n:  two\n:\ndata: a\n: inside\ndata: b\n\n');
    assert.deepEqual(r.log, [
      { comment: 'hello' },
      { comment: 'world' },
      { comment: ' two' },
      { comment: '' },
      { comment: 'inside' },
      { event: ev('a\nb') },
    ]);
  });

  it('ignores comments when no onComment handler is given', () => {
    const seen: string[] = [];
    const d = createDecoder({ onEvent: (e) => seen.push(e.data) });
    d.feed(encode(': heartbeat\n\ndata: x\n\n'));
    assert.deepEqual(seen, ['x']);
  });
});

describe('decoder: line endings', () => {
  const body = (eol: string) => `event: e${eol}data: a${eol}data: b${eol}${eol}data: c${eol}${eol}`;
  const expected = [ev('a\nb', 'e'), ev('c')];

  it('accepts LF line endings', () => {
    assert.deepEqual(events(decodeEveryWay(body('\n'))), expected);
  });

  it('accepts CR line endings', () => {
    assert.deepEqual(events(decodeEveryWay(body('\r'))), expected);
  });

  it('accepts CRLF line endings', () => {
    assert.deepEqual(events(decodeEveryWay(body('\r\n'))), expected);
  });

  it('accepts all three mixed in one stream', () => {
    assert.deepEqual(events(decodeEveryWay('event: e\rdata: a\r\ndata: b\n\r\ndata: c\r\r')), expected);
  });

  it('treats a CR ending one chunk and an LF starting the next as one line ending', () => {
    for (const { ops } of byteOpsUnderTest) {
      const r = run([encode('data: a\r'), encode('\ndata: b\r'), encode('\n\r'), encode('\n')], undefined, ops);
      assert.deepEqual(events(r), [ev('a\nb')]);
    }
  });

  it('treats a CR ending one chunk followed by another CR as a blank line', () => {
    for (const { ops } of byteOpsUnderTest) {
      const r = run([encode('data: a\r'), encode('\rdata: b\r'), encode(''), encode('\r')], undefined, ops);
      assert.deepEqual(events(r), [ev('a'), ev('b')]);
    }
  });

  it('does not swallow an LF that follows a CR-ended line after other bytes', () => {
    assert.deepEqual(events(decodeEveryWay('data: a\rdata: b\n\n')), [ev('a\nb')]);
  });

  it('treats LF CR as two line endings', () => {
    assert.deepEqual(events(decodeEveryWay('data: a\n\rdata: b\n\n')), [ev('a'), ev('b')]);
  });

  it('ends a carried line at the first ending of the next chunk, whichever kind comes first', () => {
    // The decoder looks for CR once per chunk; these put CRs before, at and after the end of
    // the carried line, so a stale CR position would cut a line in the wrong place.
    const cases: Array<[string, string, SseEvent[]]> = [
      ['data: a', 'b\r\ndata: c\rdata: d\n\n', [ev('ab\nc\nd')]],
      ['data: a', 'b\ndata: c\r\n\r\n', [ev('ab\nc')]],
      ['data: a', 'b\rdata: c\n\r', [ev('ab\nc')]],
      ['data: a', '\r\r\rdata: b\r\r', [ev('a'), ev('b')]],
      ['data: a', 'b\n\ndata: c\r\r', [ev('ab'), ev('c')]],
    ];
    for (const { ops } of byteOpsUnderTest) {
      for (const [first, second, expected] of cases) {
        assert.deepEqual(events(run([encode(first), encode(second)], undefined, ops)), expected, `${first}|${second}`);
      }
    }
  });
});

describe('decoder: byte order mark', () => {
  it('strips one leading BOM', () => {
    assert.deepEqual(events(decodeEveryWay('\uFEFFdata: a\n\n')), [ev('a')]);
  });

  it('strips a BOM split across chunks', () => {
    for (const { ops } of byteOpsUnderTest) {
      const bytes = encode('\uFEFFdata: a\n\n');
      for (const cut of [1, 2, 3]) {
        const r = run(
          [bytes.subarray(0, 1), new Uint8Array(0), bytes.subarray(1, cut), bytes.subarray(cut)],
          undefined,
          ops,
        );
        assert.deepEqual(events(r), [ev('a')]);
      }
    }
  });

  it('strips only one BOM: a second one is part of the first field name', () => {
    assert.deepEqual(events(decodeEveryWay('\uFEFF\uFEFFdata: a\n\ndata: b\n\n')), [ev('b')]);
  });

  it('keeps a BOM that is not at the very start of the stream', () => {
    assert.deepEqual(events(decodeEveryWay('data: \uFEFFa\n\n\uFEFFdata: b\n\ndata: c\n\n')), [ev('\uFEFFa'), ev('c')]);
  });

  it('decodes the first bytes normally when they only begin like a BOM', () => {
    const bytes = new Uint8Array([0xef, 0xbb, ...encode('data: a\n\ndata: b\n\n')]);
    const expectedFieldName = new TextDecoder().decode(new Uint8Array([0xef, 0xbb, ...encode('data')]));
    assert.notEqual(expectedFieldName, 'data');
    assert.deepEqual(events(decodeEveryWay(bytes)), [ev('b')]);
  });

  it('strips the BOM again after end(), for the next stream', () => {
    for (const { ops } of byteOpsUnderTest) {
      const seen: string[] = [];
      const d = createDecoderWith(ops, { onEvent: (e) => seen.push(e.data) });
      d.feed(encode('\uFEFFdata: a\n\n'));
      d.end();
      d.feed(encode('\uFEFF'));
      d.feed(encode('data: b\n\n'));
      assert.deepEqual(seen, ['a', 'b']);
    }
  });
});

describe('decoder: UTF-8', () => {
  it('keeps multi-byte characters intact when chunks split them', () => {
    const text = 'héllo — 日本語 🙂🚀 naïve';
    assert.deepEqual(events(decodeEveryWay(`data: ${text}\nevent: ✓\n\n`)), [ev(text, '✓')]);
  });

  it('turns invalid UTF-8 into U+FFFD exactly as a WHATWG UTF-8 decoder does', () => {
    const cases = [
      [0xff],
      [0xc0, 0x80], // overlong
      [0xed, 0xa0, 0x80], // encoded surrogate
      [0xe2, 0x82], // truncated, then the line ends
      [0xf0, 0x9f, 0x99], // truncated 4-byte sequence
      [0x61, 0x80, 0x62], // stray continuation byte
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    ];
    for (const bad of cases) {
      const value = new Uint8Array([0x78, ...bad, 0x79]);
      const expected = new TextDecoder().decode(value);
      assert.ok(expected.includes('\uFFFD'));
      const bytes = new Uint8Array([...encode('data: '), ...value, ...encode('\nid: '), ...value, ...encode('\n\n')]);
      assert.deepEqual(events(decodeEveryWay(bytes)), [ev(expected, 'message', expected)], `bytes ${bad}`);
    }
  });

  it('does not let an invalid byte swallow the line ending after it', () => {
    const bytes = new Uint8Array([...encode('data: a'), 0xe2, 0x0a, 0x0a, ...encode('data: b\n\n')]);
    assert.deepEqual(events(decodeEveryWay(bytes)), [ev('a\uFFFD'), ev('b')]);
  });
});

describe('decoder: input buffers', () => {
  it('calls onEvent as a method of its handlers; feedDecoder feeds as feed() does', () => {
    const seen: Array<[unknown, string]> = [];
    const handlers = {
      onEvent(this: unknown, e: SseEvent) {
        seen.push([this, e.data]);
      },
    };
    const decoder = createDecoder(handlers);
    feedDecoder(decoder, encode('data: a\n\ndata: '));
    decoder.feed(encode('b\n\n'));
    feedDecoder(decoder, encode('data: c\n\n'));
    assert.deepEqual(seen, [
      [handlers, 'a'],
      [handlers, 'b'],
      [handlers, 'c'],
    ]);
  });

  it('reads only the bytes of a view with an offset into a larger buffer', () => {
    const big = encode('XXXXXdata: inside\n\nYYYYY');
    for (const { ops } of byteOpsUnderTest) {
      const r = run([big.subarray(5, big.length - 5)], undefined, ops);
      assert.deepEqual(events(r), [ev('inside')]);
    }
  });

  it('copies an unfinished line, so the caller may reuse its buffer', () => {
    for (const { ops } of byteOpsUnderTest) {
      const buffer = encode('data: abc');
      const seen: string[] = [];
      const d = createDecoderWith(ops, { onEvent: (e) => seen.push(e.data) });
      d.feed(buffer);
      buffer.fill(0x7a); // 'zzzzzzzzz'
      d.feed(encode('def\n\n'));
      assert.deepEqual(seen, ['abcdef']);
    }
  });

  it('decodes a long line spread over many small chunks', () => {
    const value = 'x'.repeat(300_000) + '日本'.repeat(1000);
    for (const { ops } of byteOpsUnderTest) {
      const r = run(slices(encode(`data: ${value}\n\n`), 7), undefined, ops);
      assert.deepEqual(events(r), [ev(value)]);
    }
  });

  it('keeps the unfinished lines of decoders that run at once apart', () => {
    // Carried lines live in buffers from a shared pool on Node: each decoder must keep its own.
    for (const { ops } of byteOpsUnderTest) {
      const seen: string[][] = [[], [], []];
      const decoders = seen.map((list) => createDecoderWith(ops, { onEvent: (e) => list.push(e.data) }));
      const long = 'z'.repeat(5000); // grows the carry past its first size
      for (const [i, d] of decoders.entries()) d.feed(encode(`data: ${i}-start-`));
      for (const [i, d] of decoders.entries()) d.feed(encode(`${i === 1 ? long : ''}middle-${i}`));
      for (const [i, d] of decoders.entries()) d.feed(encode(`-end-${i}\n\n`));
      assert.deepEqual(seen, [
        ['0-start-middle-0-end-0'],
        [`1-start-${long}middle-1-end-1`],
        ['2-start-middle-2-end-2'],
      ]);
    }
  });

  it('accepts a Node Buffer as input', () => {
    const seen: string[] = [];
    const d = createDecoder({ onEvent: (e) => seen.push(e.data) });
    d.feed(Buffer.from('data: from a buffer\n\n'));
    assert.deepEqual(seen, ['from a buffer']);
  });
});

describe('decoder: end of input', () => {
  it('reports a clean end when the last event had its blank line', () => {
    assert.deepEqual(decodeEveryWay('data: a\n\n').end, { unterminated: false });
    assert.deepEqual(decodeEveryWay('').end, { unterminated: false });
    assert.deepEqual(decodeEveryWay(': bye\n').end, { unterminated: false });
  });

  it('does not dispatch an event missing its blank line, but reports it with its data', () => {
    const r = decodeEveryWay('data: {"a":1}\n\ndata: [DONE]\n');
    assert.deepEqual(events(r), [ev('{"a":1}')]);
    assert.deepEqual(r.end, { unterminated: true, pendingData: '[DONE]' });
  });

  it('reports the data of a final line that lacks its line ending', () => {
    assert.deepEqual(decodeEveryWay('data: [DONE]').end, { unterminated: true, pendingData: '[DONE]' });
    assert.deepEqual(decodeEveryWay('data: a\ndata: b').end, { unterminated: true, pendingData: 'a\nb' });
    assert.deepEqual(decodeEveryWay('data: a\ndata').end, { unterminated: true, pendingData: 'a\n' });
    assert.deepEqual(decodeEveryWay('data:x').end, { unterminated: true, pendingData: 'x' });
  });

  it('reports pending fields without data as unterminated, without pendingData', () => {
    assert.deepEqual(decodeEveryWay('event: x\n').end, { unterminated: true });
    assert.deepEqual(decodeEveryWay('data: a\n\nevent: x').end, { unterminated: true });
  });

  it('discards a final line without its line ending: an unfinished id does not change the last event ID', () => {
    const r = decodeEveryWay('id: 1\ndata: a\n\nid: 2');
    assert.equal(r.lastEventId, '1');
    assert.deepEqual(r.end, { unterminated: true });
  });

  it('treats a final CR as a complete line ending', () => {
    assert.deepEqual(decodeEveryWay('data: a\r\r').end, { unterminated: false });
    assert.deepEqual(decodeEveryWay('data: a\r').end, { unterminated: true, pendingData: 'a' });
  });

  it('keeps the last event ID after end(), and forgets it on reset()', () => {
    for (const { ops } of byteOpsUnderTest) {
      const seen: SseEvent[] = [];
      const d = createDecoderWith(ops, { onEvent: (e) => seen.push(e) });
      d.feed(encode('id: 42\ndata: a\n\ndata: partial'));
      assert.deepEqual(d.end(), { unterminated: true, pendingData: 'partial' });
      assert.equal(d.lastEventId, '42');
      d.feed(encode('data: b\n\n'));
      d.reset();
      assert.equal(d.lastEventId, '');
      d.feed(encode('data: c\n\n'));
      assert.deepEqual(seen, [ev('a', 'message', '42'), ev('b', 'message', '42'), ev('c')]);
    }
  });

  it('drops a half-received event on reset()', () => {
    const seen: string[] = [];
    const d = createDecoder({ onEvent: (e) => seen.push(e.data) });
    d.feed(encode('data: stale\n'));
    d.reset();
    d.feed(encode('\ndata: fresh\n\n'));
    assert.deepEqual(seen, ['fresh']);
  });
});

describe('decoder: maxLineLength', () => {
  it('defaults to 16 MiB', () => {
    assert.equal(DEFAULT_MAX_LINE_LENGTH, 16 * 1024 * 1024);
  });

  it('accepts a line of exactly maxLineLength bytes', () => {
    const line = `data: ${'x'.repeat(94)}`;
    assert.equal(line.length, 100);
    assert.deepEqual(events(decodeEveryWay(`${line}\n\n`, { maxLineLength: 100 })), [ev('x'.repeat(94))]);
  });

  it('throws SseDecodeError line-too-long for a longer line, naming the option', () => {
    for (const { ops } of byteOpsUnderTest) {
      for (const size of [1, 8, 1000]) {
        const chunks = slices(encode(`data: ok\n\ndata: ${'x'.repeat(95)}\n\ndata: never\n\n`), size);
        const seen: string[] = [];
        const d = createDecoderWith(ops, { onEvent: (e) => seen.push(e.data) }, { maxLineLength: 100 });
        const err = (() => {
          try {
            for (const c of chunks) d.feed(c);
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        assert.ok(err instanceof SseDecodeError, `size ${size}`);
        assert.equal(err.type, 'line-too-long');
        assert.equal(err.code, ErrorCodes.SSE_LINE_TOO_LONG);
        assert.match(err.message, /maxLineLength/);
        assert.deepEqual(seen, ['ok'], 'the events before the long line are dispatched, none after');
      }
    }
  });

  it('throws while the long line is still arriving, before it ends (memory stays bounded)', () => {
    const d = createDecoder({ onEvent: () => {} }, { maxLineLength: 64 * 1024 });
    const piece = encode('y'.repeat(16 * 1024));
    assert.throws(() => {
      d.feed(encode('data: '));
      for (let i = 0; i < 1000; i++) d.feed(piece); // would be 16 MB if buffered
    }, SseDecodeError);
  });

  it('counts line endings out of the line length, and CR as a line ending', () => {
    const line = 'data: 1234';
    assert.deepEqual(events(decodeEveryWay(`${line}\r\n\r\n${line}\r\r`, { maxLineLength: line.length })), [
      ev('1234'),
      ev('1234'),
    ]);
  });

  it('keeps failing after the error until reset() or end()', () => {
    const seen: string[] = [];
    const d = createDecoder({ onEvent: (e) => seen.push(e.data) }, { maxLineLength: 10 });
    assert.throws(() => d.feed(encode('data: 0123456789\n')), SseDecodeError);
    assert.throws(() => d.feed(encode('data: a\n\n')), SseDecodeError);
    d.reset();
    d.feed(encode('data: a\n\n'));
    assert.throws(() => d.feed(encode('data: 0123456789')), SseDecodeError);
    assert.deepEqual(d.end(), { unterminated: true });
    d.feed(encode('data: b\n\n'));
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('rejects a maxLineLength that is not a whole number >= 0', () => {
    for (const bad of [-1, 1.5, Number.NaN, '10' as unknown as number]) {
      assert.throws(() => createDecoder({ onEvent: () => {} }, { maxLineLength: bad }), /maxLineLength/);
    }
    assert.doesNotThrow(() => createDecoder({ onEvent: () => {} }, { maxLineLength: Number.POSITIVE_INFINITY }));
  });
});

describe('decoder: misuse', () => {
  it('rejects handlers without onEvent, with a hint', () => {
    assert.throws(() => createDecoder({} as never), /onEvent/);
    assert.throws(() => createDecoder((() => {}) as never), /onEvent/);
  });

  it('rejects text passed to feed() instead of bytes, with a hint', () => {
    const d = createDecoder({ onEvent: () => {} });
    assert.throws(() => d.feed('data: x\n\n' as never), { name: 'TypeError', message: /TextEncoder/ });
  });

  it('keeps feed, end and reset working when taken off the decoder (as event handlers are)', () => {
    const seen: string[] = [];
    const { feed, end, reset } = createDecoder({ onEvent: (e) => seen.push(e.data) });
    feed(encode('id: 7\ndata: a\n\ndata: b'));
    assert.deepEqual(end(), { unterminated: true, pendingData: 'b' });
    reset();
    feed(encode('data: c\n\n'));
    assert.deepEqual(seen, ['a', 'c']);
  });

  it('calls every handler as a method of the handlers object (a class instance works)', () => {
    class Collector {
      seen: string[] = [];
      onEvent(e: SseEvent) {
        this.seen.push(e.data);
      }
      onComment(text: string) {
        this.seen.push(`:${text}`);
      }
      onRetry(ms: number) {
        this.seen.push(`retry ${ms}`);
      }
    }
    const collector = new Collector();
    const d = createDecoder(collector);
    d.feed(encode('data: a\n\n: c\nretry: 5\ndata: b\ndata: c\n\n'));
    assert.deepEqual(collector.seen, ['a', ':c', 'retry 5', 'b\nc']);
  });

  it('works with the portable byte operations on their own', () => {
    const seen: string[] = [];
    const d = createDecoderWith(portableByteOps, { onEvent: (e) => seen.push(e.data) });
    d.feed(encode('data: ok\n\n'));
    assert.deepEqual(seen, ['ok']);
  });
});

describe("decoder: attached (a stream reader's own)", () => {
  it('decodes as any decoder, through its methods, with the same hidden class and no bound functions', () => {
    const seen: string[] = [];
    const attached = createAttachedDecoder({ onEvent: (e) => seen.push(e.data) });
    attached.feed(encode('data: a\n\nda'));
    feedDecoder(attached, encode('ta: b\n\n'));
    assert.deepEqual(attached.end(), { unterminated: false });
    assert.deepEqual(seen, ['a', 'b']);
    const detachable = createDecoder({ onEvent() {} });
    assert.ok(sameMap(attached, detachable), 'one hidden class for every decoder');
    // The steps are the shared methods, not a function made per decoder.
    assert.equal(attached.feed, Object.getPrototypeOf(attached).feed);
    assert.notEqual(detachable.feed, Object.getPrototypeOf(detachable).feed);
  });
});
