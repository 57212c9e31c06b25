import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chatBasic } from '../../test/fixtures/azure-streams.js';
import { ErrorCodes, ProtocolError, StreamErrorFrame } from '../errors.js';
import { createDecoder } from '../sse/decoder.js';
import { endsWithDone, parseStreamEvent, readStreamEvent, STREAM_DONE, toErrorBody } from './events.js';
import { sourceJsonOf } from './source-json.js';

const message = (data: string, type = 'message') => ({ type, data, id: '' });

function throwsProtocol(data: string, type: string): ProtocolError {
  let caught: unknown;
  try {
    parseStreamEvent(message(data));
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ProtocolError, 'expected a ProtocolError');
  assert.equal(caught.code, ErrorCodes.PROTOCOL);
  assert.equal(caught.type, type);
  return caught;
}

describe('parseStreamEvent', () => {
  test('[DONE] is the end marker, also with stray whitespace', () => {
    assert.deepStrictEqual(parseStreamEvent(message('[DONE]')), { type: 'done' });
    assert.deepStrictEqual(parseStreamEvent(message(' [DONE] ')), { type: 'done' });
  });

  test('a chunk is parsed as is, unknown fields included', () => {
    const chunk = chatBasic.chunks[1]!;
    const ev = parseStreamEvent<'chat'>(message(JSON.stringify({ ...chunk, brand_new_field: 1 })));
    assert.equal(ev.type, 'chunk');
    assert.deepStrictEqual(ev.type === 'chunk' && ev.chunk, { ...chunk, brand_new_field: 1 });
  });

  test('the source JSON is kept beside a chunk only when a relay asks for it', () => {
    const data = '{"id":"c", "choices":[]}';
    const plain = parseStreamEvent(message(data));
    assert.ok(plain.type === 'chunk');
    assert.equal(sourceJsonOf(plain.chunk), undefined, 'a plain reader pays for no copy of the text');
    const relayed = parseStreamEvent(message(data), { keepSourceJson: true });
    assert.ok(relayed.type === 'chunk');
    assert.equal(sourceJsonOf(relayed.chunk), data);
  });

  test('Azure prompt-filter chunk (id "", choices []) is a chunk', () => {
    const ev = parseStreamEvent(message(JSON.stringify(chatBasic.chunks[0])));
    assert.equal(ev.type, 'chunk');
  });

  test('data: {"error": {...}} is an error frame carrying the body', () => {
    const body = { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } };
    const ev = parseStreamEvent(message(JSON.stringify(body)));
    assert.equal(ev.type, 'error');
    if (ev.type !== 'error') return;
    assert.ok(ev.error instanceof StreamErrorFrame);
    assert.equal(ev.error.code, ErrorCodes.STREAM_ERROR);
    assert.deepStrictEqual(ev.error.body, body);
    assert.equal(ev.error.message, 'The stream failed: The server had an error');
  });

  test('an error frame with a code says the code', () => {
    const ev = parseStreamEvent(message('{"error":{"code":"rate_limit_exceeded","message":"Slow down"}}'));
    assert.equal(ev.type === 'error' && ev.error.message, 'The stream failed: rate_limit_exceeded: Slow down');
  });

  test('error: null is not an error (some servers send it on every chunk)', () => {
    assert.equal(parseStreamEvent(message('{"id":"c","choices":[],"error":null}')).type, 'chunk');
  });

  test('event: error with JSON data is an error frame with the body', () => {
    const ev = parseStreamEvent(
      message('{"error":{"code":"InternalServerError","message":"Backend failed"}}', 'error'),
    );
    assert.equal(ev.type, 'error');
    assert.equal(ev.type === 'error' && ev.error.body?.error.code, 'InternalServerError');
  });

  test('event: error with plain-text data is an error frame with the text and no body', () => {
    const ev = parseStreamEvent(message('upstream timed out', 'error'));
    assert.equal(ev.type, 'error');
    if (ev.type !== 'error') return;
    assert.equal(ev.error.body, undefined);
    assert.match(ev.error.message, /upstream timed out/);
  });

  test('event: error with a bare {message} object is normalized to an error body', () => {
    const ev = parseStreamEvent(message('{"message":"overloaded","code":503}', 'error'));
    assert.deepStrictEqual(ev.type === 'error' && ev.error.body, { error: { message: 'overloaded', code: '503' } });
  });

  test('invalid JSON throws ProtocolError invalid-json with a short excerpt, not the payload', () => {
    const huge = `{"id": "chatcmpl-1", "choices": [${'x'.repeat(100_000)}`;
    const error = throwsProtocol(huge, 'invalid-json');
    assert.ok(error.message.length < 300, `message too long: ${error.message.length}`);
    assert.match(error.message, /\{"id": "chatcmpl-1"/);
    assert.match(error.message, /100\d{3} chars/);
    assert.ok(error.cause instanceof SyntaxError);
  });

  test('invalid JSON that is short is quoted whole', () => {
    assert.match(throwsProtocol('not json', 'invalid-json').message, /not json$/);
  });

  test('JSON that is not an object throws unexpected-shape', () => {
    throwsProtocol('42', 'unexpected-shape');
    throwsProtocol('[1,2]', 'unexpected-shape');
    throwsProtocol('null', 'unexpected-shape');
  });

  test('an excerpt never leaks a key that the payload echoes', () => {
    const error = throwsProtocol('{"headers": {"api-key": "0123456789abcdef0123456789abcdef"', 'invalid-json');
    assert.doesNotMatch(error.message, /0123456789abcdef/);
  });

  test('an unknown event name is read as data (chunk)', () => {
    assert.equal(parseStreamEvent(message('{"id":"c","choices":[]}', 'chunk')).type, 'chunk');
  });
});

describe('toErrorBody', () => {
  test('normalizes the shapes servers use', () => {
    assert.deepStrictEqual(toErrorBody({ error: 'text' }), { error: { message: 'text' } });
    assert.deepStrictEqual(toErrorBody({ error: { code: 429, message: 'm' } }), {
      error: { code: '429', message: 'm' },
    });
    assert.deepStrictEqual(toErrorBody({ error: { code: 'x' } }), { error: { code: 'x', message: '(no message)' } });
    assert.deepStrictEqual(toErrorBody({ statusCode: 401, message: 'Unauthorized' }), {
      error: { message: 'Unauthorized', code: '401' },
    });
    assert.equal(toErrorBody({ nothing: true }), undefined);
    assert.equal(toErrorBody('string'), undefined);
    assert.equal(toErrorBody([]), undefined);
  });
});

describe('endsWithDone', () => {
  const decoded = (text: string) => {
    const decoder = createDecoder({ onEvent: () => {} });
    decoder.feed(new TextEncoder().encode(text));
    return decoder.end();
  };
  test('a body ending with data: [DONE] and no blank line counts as [DONE]', () => {
    assert.equal(endsWithDone(decoded('data: {"a":1}\n\ndata: [DONE]')), true);
    assert.equal(endsWithDone(decoded('data: {"a":1}\n\ndata: [DONE]\n')), true);
    assert.equal(endsWithDone(decoded('data: [DONE] \n')), true, 'whitespace as parseStreamEvent ignores it');
  });
  test('anything else does not', () => {
    assert.equal(endsWithDone(decoded('data: {"a":1}\n\ndata: [DONE]\n\n')), false, 'dispatched, not pending');
    assert.equal(endsWithDone(decoded('data: {"a":1}\n\ndata: [DON')), false);
    assert.equal(endsWithDone(decoded('data: {"a":1}\n')), false);
    assert.equal(endsWithDone({ unterminated: false }), false);
  });
});

describe('readStreamEvent', () => {
  test('answers as parseStreamEvent does, without a result object: the chunk itself, STREAM_DONE, the frame unthrown', () => {
    const chunk = readStreamEvent(message('{"id":"c","choices":[],"extra":1}'));
    assert.deepStrictEqual(chunk, { id: 'c', choices: [], extra: 1 });
    assert.equal(readStreamEvent(message(' [DONE] ')), STREAM_DONE);
    const frame = readStreamEvent(message('{"error":{"message":"busy","code":"429"}}'));
    assert.ok(frame instanceof StreamErrorFrame);
    assert.equal(frame.message, 'The stream failed: 429: busy');
    assert.ok(readStreamEvent(message('not json', 'error')) instanceof StreamErrorFrame);
    assert.throws(() => readStreamEvent(message('[1]')), ProtocolError);
  });
});
