import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError, StreamErrorFrame } from '../../errors.js';
import { checkResponseObject, checkResponsesEvent, isTerminalEvent, parseResponsesEvent } from './events.js';
import type { ResponseObject, ResponseStreamEvent } from './types.js';

const sse = (data: string, type = 'message') => ({ type, data, id: '' });
const delta = (over: Record<string, unknown> = {}) =>
  ({
    type: 'response.output_text.delta',
    item_id: 'msg_1',
    output_index: 0,
    content_index: 0,
    delta: 'Hi',
    sequence_number: 4,
    ...over,
  }) as ResponseStreamEvent;

describe('parseResponsesEvent', () => {
  test('a typed event is passed on whole, unknown types included', () => {
    const step = parseResponsesEvent(sse(JSON.stringify(delta()), 'response.output_text.delta'));
    assert.equal(step.type, 'event');
    assert.deepEqual(step.type === 'event' && step.event, delta());
    const unknown = parseResponsesEvent(
      sse('{"type":"response.reasoning_summary_text.delta","delta":"x","extra":[1]}'),
    );
    assert.deepEqual(unknown, {
      type: 'event',
      event: { type: 'response.reasoning_summary_text.delta', delta: 'x', extra: [1] },
    });
  });

  test('[DONE] ends nothing: it is skipped', () => {
    assert.deepEqual(parseResponsesEvent(sse('[DONE]')), { type: 'skip' });
    assert.deepEqual(parseResponsesEvent(sse(' [DONE] ')), { type: 'skip' });
  });

  test('data without `type` takes the SSE event name', () => {
    const step = parseResponsesEvent(sse('{"sequence_number":1,"response":{}}', 'response.created'));
    assert.equal(step.type === 'event' && step.event.type, 'response.created');
  });

  test('a gateway error body and a non-JSON error event are error frames', () => {
    const gateway = parseResponsesEvent(sse('{"error":{"code":"429","message":"Too many"}}'));
    assert.ok(gateway.type === 'error' && gateway.error instanceof StreamErrorFrame);
    assert.match(gateway.type === 'error' ? gateway.error.message : '', /429: Too many/);
    const text = parseResponsesEvent(sse('upstream exploded', 'error'));
    assert.ok(text.type === 'error' && /upstream exploded/.test(text.error.message));
  });

  test('the `error` event of the API is a typed event (the accumulator ends the stream with it)', () => {
    const step = parseResponsesEvent(
      sse('{"type":"error","code":"server_error","message":"boom","param":null,"sequence_number":3}', 'error'),
    );
    assert.equal(step.type === 'event' && step.event.type, 'error');
    assert.ok(step.type === 'event' && isTerminalEvent(step.event));
  });

  test('malformed data throws ProtocolError with an excerpt', () => {
    assert.throws(
      () => parseResponsesEvent(sse('{"type":')),
      (e: unknown) => {
        return e instanceof ProtocolError && e.type === 'invalid-json' && e.message.includes('{"type":');
      },
    );
    assert.throws(() => parseResponsesEvent(sse('[1,2]')), { name: 'ProtocolError', type: 'unexpected-shape' });
    assert.throws(() => parseResponsesEvent(sse('{"type":7}')), /`type` \(a string\)/);
  });
});

describe('checkResponsesEvent', () => {
  test('passes well-formed events and unknown types', () => {
    assert.deepEqual(checkResponsesEvent(delta()), delta());
    const odd = { type: 'response.web_search_call.searching', output_index: 'whatever' } as ResponseStreamEvent;
    assert.equal(checkResponsesEvent(odd), odd);
  });

  test('bounds output and content indexes (no allocation by a made-up index)', () => {
    assert.throws(
      () => checkResponsesEvent(delta({ output_index: 1e9 })),
      /output_index is 1000000000, beyond the 1024/,
    );
    assert.throws(() => checkResponsesEvent(delta({ content_index: -1 })), /content_index is -1/);
    assert.throws(() => checkResponsesEvent(delta({ output_index: 1.5 })), /not an index/);
    assert.throws(
      () => checkResponsesEvent(delta({ output_index: 3 }), { maxOutputItems: 3, maxContentParts: 3 }),
      /beyond the 3 output items/,
    );
  });

  test('the fields the accumulator reads are type-checked', () => {
    assert.throws(() => checkResponsesEvent(delta({ delta: { toString: 1 } })), /delta is a object, not a string/);
    assert.throws(() => checkResponsesEvent(delta({ sequence_number: 'x' })), /sequence_number/);
    const item = { type: 'response.output_item.added', output_index: 0, item: null, sequence_number: 1 };
    assert.throws(() => checkResponsesEvent(item as ResponseStreamEvent), /item is null/);
    const life = { type: 'response.completed', response: { output: [1] }, sequence_number: 1 };
    assert.throws(() => checkResponsesEvent(life as unknown as ResponseStreamEvent), /response.output\[0\]/);
    const args = { type: 'response.function_call_arguments.done', output_index: 0, item_id: 'f', arguments: 5 };
    assert.throws(() => checkResponsesEvent(args as unknown as ResponseStreamEvent), /arguments is 5/);
  });

  test('checkResponseObject wants an output array of items', () => {
    assert.throws(() => checkResponseObject({ id: 'r' } as unknown as ResponseObject), /`output` \(an array\)/);
    const ok = { id: 'r', object: 'response', output: [{ type: 'message' }] } as unknown as ResponseObject;
    assert.equal(checkResponseObject(ok), ok);
  });
});
