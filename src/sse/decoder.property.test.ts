// Property tests: chunking never changes the result; the decoder agrees with an independent
// implementation (eventsource-parser) and with the WHATWG UTF-8 decoder; encoder output
// always decodes back to what was encoded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { byteOpsUnderTest, cutAt, encode, events, type LogEntry, run } from '../../test/support/sse.js';
import type { ByteOps } from './bytes.js';
import { createDecoderWith, type DecoderOptions } from './decoder.js';
import { encodeComment, encodeEvent } from './encoder.js';

const RUNS = Number(process.env.SLUICE_PROPERTY_RUNS ?? 300);

// --- generators ---

const lineEnding = fc.constantFrom('\n', '\r', '\r\n');
/** Text without CR/LF (those would only make more lines), incl. astral chars and NULL. */
const lineText = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom('a', ' ', ':', '\0', 'é', '日', '🙂', '\uFEFF', '1'),
      fc.string({ unit: 'grapheme', maxLength: 1 }),
    ),
    maxLength: 12,
  })
  .map((s) => s.replace(/[\r\n]/g, ''));
const fieldName = fc.constantFrom('data', 'data', 'data', 'event', 'id', 'retry', '', 'foo', 'Data', 'dat', 'database');
const separator = fc.constantFrom(':', ': ', '', ':  ');
const sseLine = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fieldName, separator, lineText).map(([n, s, v]) => `${n}${s}${v}`) },
  { weight: 1, arbitrary: fc.nat({ max: 99999 }).map((n) => `retry: ${n}`) },
  { weight: 1, arbitrary: lineText.map((v) => `:${v}`) },
  { weight: 3, arbitrary: fc.constant('') },
);
/** A plausible event stream: optional BOM, lines with mixed endings, maybe an unfinished last line. */
const sseText = fc
  .tuple(
    fc.boolean(),
    fc.array(fc.tuple(sseLine, lineEnding), { maxLength: 30 }),
    fc.option(sseLine, { nil: undefined }),
  )
  .map(([bom, lines, last]) => (bom ? '\uFEFF' : '') + lines.map(([l, e]) => l + e).join('') + (last ?? ''));
/** Bytes of such a stream with some raw invalid UTF-8 mixed in, or plain random bytes. */
const sseBytes = fc.oneof(
  sseText.map(encode),
  fc
    .tuple(
      sseText,
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x80, 0xff, 0xc3, 0xe2, 0xf0, 0xef, 0xbb, 0xbf)), { maxLength: 4 }),
    )
    .map(([text, inserts]) => {
      const bytes = [...encode(text)];
      for (const [at, b] of inserts) bytes.splice(at % (bytes.length + 1), 0, b);
      return new Uint8Array(bytes);
    }),
  fc.uint8Array({ maxLength: 200 }),
);
const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 40 });

// --- helpers ---

interface Outcome {
  log: LogEntry[];
  end?: unknown;
  lastEventId?: string;
  error?: string;
}

function outcome(chunks: Uint8Array[], options: DecoderOptions | undefined, ops: ByteOps): Outcome {
  try {
    return run(chunks, options, ops);
  } catch (e) {
    // The log up to the error is part of the result: it must not depend on chunking either.
    const log: LogEntry[] = [];
    const d = createDecoderWith(
      ops,
      {
        onEvent: (event) => log.push({ event }),
        onRetry: (retry) => log.push({ retry }),
        onComment: (comment) => log.push({ comment }),
      },
      options,
    );
    try {
      for (const c of chunks) d.feed(c);
    } catch {}
    return { log, error: (e as Error).name };
  }
}

/** What eventsource-parser (an independent implementation) reports, mapped to our shapes. */
function oracle(text: string): LogEntry[] {
  const log: LogEntry[] = [];
  let lastId = '';
  // Known differences, bridged here: it reports `event` undefined for `message`, and an id
  // per block (onId) rather than a persisting last event ID.
  const parser = createParser({
    onId: (id) => {
      lastId = id;
    },
    onEvent: (e) => log.push({ event: { type: e.event ?? 'message', data: e.data, id: lastId } }),
    onRetry: (retry) => log.push({ retry }),
    onComment: (comment) => log.push({ comment }),
  });
  parser.feed(text);
  return log;
}

// --- properties ---

describe('decoder properties', () => {
  it('gives the same events, callbacks and end report for any chunking of any bytes', () => {
    fc.assert(
      fc.property(sseBytes, cuts, fc.constantFrom(undefined, 8, 40), (bytes, positions, max) => {
        const options = max === undefined ? undefined : { maxLineLength: max };
        for (const { ops } of byteOpsUnderTest) {
          const whole = outcome([bytes], options, ops);
          assert.deepEqual(outcome(cutAt(bytes, positions), options, ops), whole);
          assert.deepEqual(outcome(cutAt(bytes, [...Array(bytes.length).keys()]), options, ops), whole);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the same result with the Node and the portable byte operations', () => {
    fc.assert(
      fc.property(sseBytes, cuts, (bytes, positions) => {
        const [node, portable] = byteOpsUnderTest;
        assert.ok(node && portable);
        assert.deepEqual(
          outcome(cutAt(bytes, positions), undefined, node.ops),
          outcome([bytes], undefined, portable.ops),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with eventsource-parser on every valid UTF-8 stream', () => {
    fc.assert(
      fc.property(sseText, cuts, (text, positions) => {
        const expected = oracle(text);
        for (const { ops } of byteOpsUnderTest) {
          assert.deepEqual(run(cutAt(encode(text), positions), undefined, ops).log, expected);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('decodes a data value of any bytes exactly as the WHATWG UTF-8 decoder does', () => {
    const value = fc.uint8Array({ maxLength: 60 }).map((b) => b.filter((x) => x !== 0x0a && x !== 0x0d));
    fc.assert(
      fc.property(value, cuts, (bytes, positions) => {
        const input = new Uint8Array([...encode('data: '), ...bytes, 0x0a, 0x0a]);
        // ignoreBOM: a BOM inside a value is content, not a signature.
        const expected = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
        for (const { ops } of byteOpsUnderTest) {
          const got = events(run(cutAt(input, positions), undefined, ops));
          assert.deepEqual(got, [{ type: 'message', data: expected, id: '' }]);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('encoder -> decoder round trip', () => {
  const anyText = fc.string({ unit: 'binary', maxLength: 40 });
  const noBreaks = fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ''));
  const outgoing = fc.record(
    {
      data: fc.oneof(
        anyText,
        fc
          .array(anyText, { maxLength: 4 })
          .chain((parts) => fc.constantFrom(...['\n', '\r', '\r\n']).map((eol) => parts.join(eol))),
      ),
      event: noBreaks,
      id: noBreaks.map((s) => s.replace(/\0/g, '')),
      retry: fc.nat(),
    },
    { requiredKeys: ['data'] },
  );
  // What arrives: the text as UTF-8 (lone surrogates become U+FFFD) with line breaks as LF.
  const onTheWire = (s: string) => new TextDecoder().decode(encode(s));

  it('decodes every encoded event back to its data, type, id and retry, however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(outgoing, { minLength: 1, maxLength: 8 }),
        cuts,
        fc.boolean(),
        (list, positions, comments) => {
          let text = '';
          const expected: LogEntry[] = [];
          let lastId = '';
          for (const e of list) {
            if (comments) {
              text += encodeComment('keep-alive');
              expected.push({ comment: 'keep-alive' });
            }
            text += encodeEvent(e);
            if (e.retry !== undefined) expected.push({ retry: e.retry });
            if (e.id !== undefined) lastId = onTheWire(e.id);
            expected.push({
              event: {
                type: e.event ? onTheWire(e.event) : 'message',
                data: onTheWire(e.data).replace(/\r\n|\r/g, '\n'),
                id: lastId,
              },
            });
          }
          for (const { ops } of byteOpsUnderTest) {
            const r = run(cutAt(encode(text), positions), undefined, ops);
            assert.deepEqual(r.log, expected);
            assert.deepEqual(r.end, { unterminated: false });
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
