import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StreamErrorFrame, StreamTruncatedError } from '../../errors.js';
import { responseObject, responsesEvents } from '../../testing/responses-events.js';
import { createResponsesAccumulator, outputText } from './accumulate.js';
import { endStateOfResponseObject, responsesTruncationError } from './end-state.js';
import { checkResponsesEvent, parseResponsesEvent } from './events.js';
import type { ResponseObject, ResponseStreamEvent } from './types.js';

/** The events of a script, as the client parses them off the wire. */
function wire(script: Parameters<typeof responsesEvents>[0]): ResponseStreamEvent[] {
  return responsesEvents(script).map((item) => {
    const event = (item as { event: { type: string } }).event;
    const step = parseResponsesEvent({ type: event.type, data: JSON.stringify(event), id: '' });
    assert.equal(step.type, 'event');
    return checkResponsesEvent((step as { event: ResponseStreamEvent }).event);
  });
}

function run(events: ResponseStreamEvent[]) {
  const acc = createResponsesAccumulator();
  for (const e of events) acc.push(e);
  return acc;
}

describe('createResponsesAccumulator', () => {
  test('assembles text per part and function-call arguments per item, equal to the whole response', () => {
    const script = {
      texts: ['Once', ' upon', ' a time'],
      functionCall: { name: 'lookup', argumentPieces: ['{"q":', '"x"}'] },
    };
    const acc = run(wire(script));
    const response = acc.response();
    assert.equal(outputText(response), 'Once upon a time');
    const call = response.output[1] as { arguments: string; name: string; call_id: string };
    assert.deepEqual([call.name, call.call_id, JSON.parse(call.arguments)], ['lookup', 'call_1', { q: 'x' }]);
    assert.deepEqual(JSON.parse(JSON.stringify(response)), JSON.parse(JSON.stringify(responseObject(script))));
    assert.equal(acc.ended, true);
    assert.deepEqual(acc.finish({ sawDone: acc.ended }), { state: 'completed' });
  });

  test('deltas alone (no .done events, no terminal) still give the text: the partial is kept', () => {
    const events = wire({ texts: ['Hel', 'lo', ' there'], end: 'none' }).filter(
      (e) => !e.type.endsWith('.done') && e.type !== 'response.content_part.added',
    );
    const acc = run(events);
    assert.equal(outputText(acc.response()), 'Hello there');
    assert.deepEqual(acc.finish({ sawDone: false }), { state: 'truncated', reason: 'no-done', unfinished: [0] });
  });

  test('a snapshot does not change with later events', () => {
    const events = wire({ texts: ['a', 'b'] });
    const acc = createResponsesAccumulator();
    for (const e of events.slice(0, 5)) acc.push(e);
    const early = acc.response();
    for (const e of events.slice(5)) acc.push(e);
    assert.equal(outputText(early), 'a');
    assert.equal(outputText(acc.response()), 'ab');
  });

  test('end states: incomplete -> truncated max-tokens or filtered; failed and error -> failed with the partial', () => {
    const max = run(wire({ texts: ['cut'], end: { incomplete: 'max_output_tokens' } }));
    assert.deepEqual(max.finish({ sawDone: true }), { state: 'truncated', reason: 'max-tokens', unfinished: [0] });
    const filtered = run(wire({ texts: ['x'], end: { incomplete: 'content_filter' } }));
    assert.deepEqual(filtered.finish({ sawDone: true }), {
      state: 'filtered',
      where: 'completion',
      categories: [],
      choices: [],
    });
    const failed = run(wire({ texts: ['half'], end: { failed: { code: 'server_error', message: 'boom' } } }));
    const end = failed.finish({ sawDone: true });
    assert.ok(end.state === 'failed' && end.error instanceof StreamErrorFrame);
    assert.match(end.state === 'failed' ? end.error.message : '', /server_error: boom/);
    assert.equal(outputText(end.state === 'failed' ? end.error.partial : undefined), 'half');
    const errored = run(
      wire({ texts: ['so far'], end: { error: { code: 'rate_limit_exceeded', message: 'slow down' } } }),
    );
    const e2 = errored.finish({ sawDone: true });
    assert.ok(e2.state === 'failed' && e2.error.message.includes('rate_limit_exceeded: slow down'));
    assert.equal(errored.response().status, 'failed');
    assert.equal(outputText(errored.response()), 'so far');
  });

  test('aborted and errors from outside decide as for chat', () => {
    const acc = run(wire({ texts: ['a'], end: 'none' }));
    assert.deepEqual(acc.finish({ aborted: 'user' }), { state: 'aborted', reason: 'user' });
    const err = new StreamErrorFrame('x');
    assert.deepEqual(acc.finish({ error: err }), { state: 'failed', error: err });
    assert.equal(outputText(err.partial), 'a');
  });

  test('an item or part never announced is created by its delta; a malformed .done keeps the assembled text', () => {
    const acc = createResponsesAccumulator();
    const at = { item_id: 'm', output_index: 2, content_index: 1, sequence_number: 0 };
    acc.push({ type: 'response.output_text.delta', ...at, delta: 'orphan' });
    acc.push({
      type: 'response.output_item.done',
      output_index: 2,
      item: { type: 'message', id: 'm' },
      sequence_number: 1,
    });
    acc.push({
      type: 'response.function_call_arguments.delta',
      item_id: 'f',
      output_index: 0,
      delta: '{}',
      sequence_number: 2,
    });
    const response = acc.response();
    assert.equal(response.output.length, 2);
    assert.equal(outputText(response), 'orphan');
    assert.deepEqual(response.output[0], {
      type: 'function_call',
      id: 'f',
      call_id: '',
      name: '',
      status: 'in_progress',
      arguments: '{}',
    });
  });

  test('items only the terminal event carries fill the gaps', () => {
    const whole = responseObject({ texts: ['only at the end'] });
    const acc = run([{ type: 'response.completed', response: whole, sequence_number: 0 }]);
    assert.equal(outputText(acc.response()), 'only at the end');
  });

  test('hostile keys pollute nothing and are not kept', () => {
    const hostile = (json: string) => {
      const step = parseResponsesEvent({ type: 'message', data: json, id: '' });
      return checkResponsesEvent((step as { event: ResponseStreamEvent }).event);
    };
    const acc = createResponsesAccumulator();
    acc.push(
      hostile(
        '{"type":"response.created","sequence_number":0,"response":{"id":"r","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"output":[]}}',
      ),
    );
    acc.push(
      hostile(
        '{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"message","id":"m","__proto__":{"polluted":3},"content":[]}}',
      ),
    );
    acc.push(
      hostile(
        '{"type":"response.content_part.added","sequence_number":2,"output_index":0,"content_index":0,"item_id":"m","part":{"type":"output_text","text":"","__proto__":{"polluted":4},"annotations":[]}}',
      ),
    );
    acc.push(
      hostile(
        '{"type":"response.output_text.annotation.added","sequence_number":3,"output_index":0,"content_index":0,"item_id":"m","annotation_index":0,"annotation":{"type":"url_citation","__proto__":{"polluted":5}}}',
      ),
    );
    acc.push(
      hostile(
        '{"type":"response.output_text.delta","sequence_number":4,"output_index":0,"content_index":0,"item_id":"m","delta":"safe"}',
      ),
    );
    const response = acc.response();
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    assert.equal(Object.getPrototypeOf(response), Object.prototype);
    const item = response.output[0] as unknown as Record<string, unknown>;
    const part = (item.content as Array<Record<string, unknown>>)[0]!;
    for (const o of [response, item, part, (part.annotations as object[])[0]!]) {
      assert.equal(Object.hasOwn(o, '__proto__'), false);
      assert.equal(Object.hasOwn(o, 'constructor'), false);
      assert.equal((o as { polluted?: unknown }).polluted, undefined);
    }
    assert.equal(outputText(response), 'safe');
  });
});

describe('endStateOfResponseObject and responsesTruncationError', () => {
  test('a whole response by its status', () => {
    assert.deepEqual(endStateOfResponseObject(responseObject({ texts: ['a'] })), { state: 'completed' });
    assert.deepEqual(
      endStateOfResponseObject(responseObject({ texts: ['a'], end: { incomplete: 'max_output_tokens' } })),
      {
        state: 'truncated',
        reason: 'max-tokens',
        unfinished: [0],
      },
    );
    const failed = endStateOfResponseObject(
      responseObject({ texts: [], end: { failed: { code: 'server_error', message: 'x' } } }),
    );
    assert.equal(failed?.state, 'failed');
    const queued = { ...responseObject({ texts: [] }), status: 'queued' } as ResponseObject;
    assert.equal(endStateOfResponseObject(queued), undefined);
  });

  test("only a cut stream is an error; a limit is the server's own end", () => {
    const partial = responseObject({ texts: ['p'] });
    const err = responsesTruncationError({ state: 'truncated', reason: 'no-done', unfinished: [0] }, partial);
    assert.ok(err instanceof StreamTruncatedError && err.partial === partial && err.reason === 'no-done');
    assert.equal(responsesTruncationError({ state: 'truncated', reason: 'max-tokens', unfinished: [] }), undefined);
  });
});
