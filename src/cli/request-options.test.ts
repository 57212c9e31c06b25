import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS, parseCommandArgs } from './args.js';
import { acceptsStreamOptions, readRequestOptions, requestFields } from './request-options.js';
import { UsageError } from './usage-error.js';

function rejects(values: Record<string, string | string[]>, pattern: RegExp): void {
  assert.throws(
    () => readRequestOptions(values, 'complete'),
    (e: unknown) => e instanceof UsageError && pattern.test(e.message),
    JSON.stringify(values),
  );
}

describe('request flags', () => {
  it('turns valid flags into wire fields, leaving unset ones to the server', () => {
    const o = readRequestOptions(
      {
        'max-tokens': '50',
        temperature: '0.7',
        'top-p': '1',
        stop: ['\\n\\n', 'END'],
        seed: '-3',
        n: '2',
        timeout: '1.5',
        'idle-timeout': '0',
        retries: '0',
      },
      'chat',
    );
    assert.deepEqual(requestFields(o), {
      max_tokens: 50,
      temperature: 0.7,
      top_p: 1,
      stop: ['\n\n', 'END'],
      seed: -3,
      n: 2,
    });
    assert.equal(o.totalTimeoutMs, 1500);
    assert.equal(o.idleTimeoutMs, 0);
    assert.equal(o.retries, 0);
    assert.equal(o.stream, true);
    assert.deepEqual(requestFields(readRequestOptions({}, 'chat')), {});
    assert.equal(readRequestOptions({ 'no-stream': true } as never, 'chat').stream, false);
  });

  it('names the flag and the allowed values when a value is wrong', () => {
    rejects({ temperature: 'hot' }, /^--temperature must be a number from 0 to 2, got "hot"$/);
    rejects({ temperature: '2.5' }, /--temperature must be a number from 0 to 2/);
    rejects({ 'top-p': '-0.1' }, /--top-p must be a number from 0 to 1/);
    rejects({ 'max-tokens': '0' }, /--max-tokens must be an integer from 1 to 2147483647, got "0"/);
    rejects({ 'max-tokens': '1.5' }, /--max-tokens must be an integer/);
    rejects({ n: '200' }, /-n must be an integer from 1 to 128/);
    rejects({ seed: 'x' }, /--seed must be an integer/);
    rejects({ retries: '11' }, /--retries must be an integer from 0 to 10/);
    rejects({ timeout: '-1' }, /--timeout must be a number from 0 to 86400/);
    rejects({ 'idle-timeout': 'soon' }, /--idle-timeout must be a number/);
    rejects({ stop: ['a', 'b', 'c', 'd', 'e'] }, /--stop can be given at most 4 times, got 5/);
    rejects({ stop: [''] }, /--stop must not be empty/);
  });

  it('asks for usage only where the api-version accepts stream_options', () => {
    assert.equal(acceptsStreamOptions(undefined), true);
    assert.equal(acceptsStreamOptions('2024-10-21'), true);
    assert.equal(acceptsStreamOptions('2024-09-01-preview'), true);
    assert.equal(acceptsStreamOptions('2024-02-01'), false);
    assert.equal(acceptsStreamOptions('2024-08-01-preview'), false);
    assert.equal(acceptsStreamOptions('latest'), true);
  });
});

describe('argument parsing', () => {
  it('parses flags, repeated --stop, -n and positionals', () => {
    const { values, positionals } = parseCommandArgs(COMMANDS.complete, [
      '-n',
      '2',
      '--stop',
      'a',
      '--stop=b',
      'Once',
      'upon',
      '--',
      '-x',
    ]);
    assert.equal(values.n, '2');
    assert.deepEqual(values.stop, ['a', 'b']);
    assert.deepEqual(positionals, ['Once', 'upon', '-x']);
  });

  it('an unknown flag or a missing value is a usage error naming the flag', () => {
    assert.throws(
      () => parseCommandArgs(COMMANDS.chat, ['--temprature', '1']),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message === 'Unknown option --temprature; did you mean --temperature?' &&
        e.command === 'chat',
    );
    assert.throws(
      () => parseCommandArgs(COMMANDS.chat, ['--max-tokens']),
      (e: unknown) => e instanceof UsageError && /--max-tokens/.test(e.message),
    );
    assert.throws(
      () => parseCommandArgs(COMMANDS.chat, ['--temperature', '-1']),
      (e: unknown) => e instanceof UsageError && /--temperature needs a value; .*--temperature=VALUE/.test(e.message),
    );
    assert.throws(() => parseCommandArgs(COMMANDS.serve, ['--echo']), UsageError, '--echo is complete-only');
  });
});
