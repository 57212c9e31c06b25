import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEveryWay, events } from '../../test/support/sse.js';
import { encodeComment, encodeData, encodeEvent } from './encoder.js';

describe('encodeEvent', () => {
  it('writes one data line and the blank line for plain data', () => {
    assert.equal(encodeEvent({ data: 'hello' }), 'data: hello\n\n');
  });

  it('writes event, id and retry fields before the data', () => {
    assert.equal(
      encodeEvent({ data: 'x', event: 'update', id: '7', retry: 1500 }),
      'event: update\nid: 7\nretry: 1500\ndata: x\n\n',
    );
  });

  it('splits data on LF, CR and CRLF into several data lines', () => {
    assert.equal(encodeEvent({ data: 'a\nb\rc\r\nd' }), 'data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('keeps empty lines of the data, including leading and trailing ones', () => {
    const data = '\na\n\n';
    const text = encodeEvent({ data });
    assert.equal(text, 'data: \ndata: a\ndata: \ndata: \n\n');
    assert.deepEqual(events(decodeEveryWay(text)), [{ type: 'message', data, id: '' }]);
  });

  it('writes empty data as one empty data line, so the event is still dispatched', () => {
    assert.equal(encodeEvent({ data: '' }), 'data: \n\n');
    assert.deepEqual(events(decodeEveryWay(encodeEvent({ data: '' }))), [{ type: 'message', data: '', id: '' }]);
  });

  it('keeps leading spaces of the data (the decoder removes only the one after the colon)', () => {
    const text = encodeEvent({ data: '  two spaces' });
    assert.deepEqual(events(decodeEveryWay(text)), [{ type: 'message', data: '  two spaces', id: '' }]);
  });

  it('omits an empty event type (the receiver sees message) but writes an empty id (it clears the last ID)', () => {
    assert.equal(encodeEvent({ data: 'x', event: '', id: '' }), 'id: \ndata: x\n\n');
  });

  it('rejects an event type or id containing a line break', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\r\nb', '\n']) {
      assert.throws(() => encodeEvent({ data: 'x', event: bad }), { name: 'TypeError', message: /event type/ });
      assert.throws(() => encodeEvent({ data: 'x', id: bad }), { name: 'TypeError', message: /id/ });
    }
  });

  it('rejects an id containing NULL', () => {
    assert.throws(() => encodeEvent({ data: 'x', id: 'a\0b' }), { name: 'TypeError', message: /NULL/ });
  });

  it('rejects a retry that is not a whole number >= 0', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => encodeEvent({ data: 'x', retry: bad }), { name: 'TypeError', message: /retry/ });
    }
    assert.equal(encodeEvent({ data: 'x', retry: 0 }), 'retry: 0\ndata: x\n\n');
  });
});

describe('encodeComment', () => {
  it('writes a comment line and a blank line', () => {
    assert.equal(encodeComment('ping'), ': ping\n\n');
  });

  it('writes a bare colon without text', () => {
    assert.equal(encodeComment(), ':\n\n');
    assert.equal(encodeComment(''), ':\n\n');
  });

  it('splits text with line breaks into several comment lines, which dispatch nothing', () => {
    const text = encodeComment('a\nb\r\n\rc');
    assert.equal(text, ': a\n: b\n:\n: c\n\n');
    const r = decodeEveryWay(text);
    assert.deepEqual(r.log, [{ comment: 'a' }, { comment: 'b' }, { comment: '' }, { comment: 'c' }]);
  });
});

describe('encodeData', () => {
  it('writes "data: " + json + a blank line', () => {
    const json = JSON.stringify({ text: 'line1\nline2', n: 1 });
    assert.equal(encodeData(json), `data: ${json}\n\n`);
    assert.deepEqual(events(decodeEveryWay(encodeData(json))), [{ type: 'message', data: json, id: '' }]);
  });

  it('matches encodeEvent for data without line breaks', () => {
    assert.equal(encodeData('[DONE]'), encodeEvent({ data: '[DONE]' }));
  });
});
