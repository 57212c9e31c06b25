import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { promptFiltered } from '../../test/fixtures/azure-errors.js';
import {
  chatAsyncFilterBlocked,
  chatBasic,
  chatCompletionFiltered,
  chatTruncated,
  chatTwoChoices,
} from '../../test/fixtures/azure-streams.js';
import { AbortError, ContentFilterError, ErrorCodes, ServerError, StreamTruncatedError } from '../errors.js';
import type { ChatCompletionChunk } from '../types.js';
import { createAccumulator } from './accumulate.js';
import {
  decideEndState,
  endStateOfResponse,
  lengthLimitReason,
  promptFilteredState,
  truncationError,
} from './end-state.js';
import { errorFromResponse } from './errors.js';

const done = { sawDone: true };
const cut = { sawDone: false };

function summary(...choices: Array<[number, string | null, string[]?]>) {
  return {
    choices: choices.map(([index, finishReason, categories]) => ({
      index,
      finishReason,
      categories: categories ?? [],
    })),
    sawUsage: false,
  };
}

describe('decideEndState', () => {
  test('completed: [DONE] and every choice finished', () => {
    assert.deepStrictEqual(decideEndState(done, summary([0, 'stop'], [1, 'length'])), { state: 'completed' });
  });

  test('truncated no-done: no [DONE], the unfinished choices listed', () => {
    assert.deepStrictEqual(decideEndState(cut, summary([0, 'stop'], [1, null])), {
      state: 'truncated',
      reason: 'no-done',
      unfinished: [1],
    });
  });

  test('truncated no-done with no unfinished choice: every choice finished but [DONE] never came', () => {
    assert.deepStrictEqual(decideEndState(cut, summary([0, 'stop'])), {
      state: 'truncated',
      reason: 'no-done',
      unfinished: [],
    });
  });

  test('truncated unfinished-choice: [DONE] but a choice lacks finish_reason', () => {
    assert.deepStrictEqual(decideEndState(done, summary([0, null], [1, 'stop'])), {
      state: 'truncated',
      reason: 'unfinished-choice',
      unfinished: [0],
    });
  });

  test('filtered: the choice that ended with content_filter, with its categories', () => {
    assert.deepStrictEqual(decideEndState(done, summary([0, 'stop'], [1, 'content_filter', ['violence', 'hate']])), {
      state: 'filtered',
      where: 'completion',
      categories: ['violence', 'hate'],
      choices: [1],
    });
  });

  test('filtered beats a missing [DONE] when every choice finished (the filter ended it)', () => {
    assert.deepStrictEqual(decideEndState(cut, summary([0, 'content_filter', ['sexual']])), {
      state: 'filtered',
      where: 'completion',
      categories: ['sexual'],
      choices: [0],
    });
  });

  test('an unfinished choice beats a filtered one (the filter is not why it stopped)', () => {
    assert.deepStrictEqual(decideEndState(cut, summary([0, 'content_filter', ['hate']], [1, null])), {
      state: 'truncated',
      reason: 'no-done',
      unfinished: [1],
    });
  });

  test('categories of several filtered choices are united without duplicates', () => {
    const end = decideEndState(
      done,
      summary([0, 'content_filter', ['hate']], [1, 'content_filter', ['hate', 'violence']]),
    );
    assert.deepStrictEqual(end, {
      state: 'filtered',
      where: 'completion',
      categories: ['hate', 'violence'],
      choices: [0, 1],
    });
  });

  test('[DONE] with no choice at all is truncated, unless a usage chunk accounted for it', () => {
    assert.deepStrictEqual(decideEndState(done, summary()), {
      state: 'truncated',
      reason: 'unfinished-choice',
      unfinished: [0],
    });
    assert.deepStrictEqual(decideEndState(done, { choices: [], sawUsage: true }), { state: 'completed' });
    assert.deepStrictEqual(decideEndState(cut, { choices: [], sawUsage: true }), {
      state: 'truncated',
      reason: 'no-done',
      unfinished: [],
    });
  });

  test('failed and aborted pass through', () => {
    const error = new ServerError('boom', { status: 500 });
    assert.deepStrictEqual(decideEndState({ error }, summary([0, 'stop'])), { state: 'failed', error });
    const reason = new AbortError();
    assert.deepStrictEqual(decideEndState({ aborted: reason }, summary([0, null])), { state: 'aborted', reason });
  });

  test('a prompt ContentFilterError given as the error becomes filtered (prompt)', () => {
    const err = errorFromResponse(promptFiltered.status, new Headers(promptFiltered.headers), promptFiltered.body);
    assert.ok(err instanceof ContentFilterError);
    assert.deepStrictEqual(decideEndState({ error: err }, summary()), {
      state: 'filtered',
      where: 'prompt',
      categories: ['jailbreak'],
      choices: [],
    });
  });
});

describe('end states through the accumulator', () => {
  test('the chat fixtures end as they should', () => {
    const end = (chunks: ChatCompletionChunk[], how: { sawDone: boolean }) => {
      const acc = createAccumulator('chat');
      for (const c of chunks) acc.push(c);
      return acc.finish(how);
    };
    assert.deepStrictEqual(end(chatBasic.chunks, done), { state: 'completed' });
    assert.deepStrictEqual(end(chatBasic.chunks, cut), { state: 'truncated', reason: 'no-done', unfinished: [] });
    assert.deepStrictEqual(end(chatTwoChoices.chunks.slice(0, -1), done), {
      state: 'truncated',
      reason: 'unfinished-choice',
      unfinished: [0],
    });
    assert.deepStrictEqual(end(chatTruncated.chunks, cut), { state: 'truncated', reason: 'no-done', unfinished: [0] });
    assert.deepStrictEqual(end(chatCompletionFiltered.chunks, done).state, 'filtered');
    // The async blocking annotation is the last chunk: before it arrives the stream looked fine.
    assert.deepStrictEqual(end(chatAsyncFilterBlocked.chunks.slice(0, -1), done), { state: 'completed' });
    assert.deepStrictEqual(end(chatAsyncFilterBlocked.chunks, done), {
      state: 'filtered',
      where: 'completion',
      categories: ['violence'],
      choices: [0],
    });
  });

  test('the prompt-filter chunk alone and [DONE]: truncated, nothing came', () => {
    const acc = createAccumulator('chat');
    acc.push(chatBasic.chunks[0]!);
    assert.deepStrictEqual(acc.finish(done), { state: 'truncated', reason: 'unfinished-choice', unfinished: [0] });
  });
});

describe('promptFilteredState and truncationError', () => {
  test('promptFilteredState copies the categories', () => {
    const err = new ContentFilterError('blocked', { status: 400, where: 'prompt', categories: ['hate', 'jailbreak'] });
    const end = promptFilteredState(err);
    assert.deepStrictEqual(end, { state: 'filtered', where: 'prompt', categories: ['hate', 'jailbreak'], choices: [] });
    err.categories.push('x');
    assert.equal(end.state === 'filtered' && end.categories.length, 2);
  });

  test('truncationError carries reason, unfinished choices in its message, and the partial', () => {
    const partial = chatTruncated.expected;
    const err = truncationError({ state: 'truncated', reason: 'no-done', unfinished: [0, 2] }, partial);
    assert.ok(err instanceof StreamTruncatedError);
    assert.equal(err.code, ErrorCodes.STREAM_TRUNCATED);
    assert.equal(err.reason, 'no-done');
    assert.equal(err.partial, partial);
    assert.match(err.message, /without \[DONE\].*choices 0, 2/);
    const other = truncationError({ state: 'truncated', reason: 'unfinished-choice', unfinished: [1] });
    assert.match(other.message, /without a finish_reason.*choice 1/);
    assert.equal(other.partial, undefined);
  });
});

describe('endStateOfResponse', () => {
  const response = (choices: unknown[], usage?: unknown) =>
    ({ id: 'r', object: 'chat.completion', created: 1, model: 'm', choices, ...(usage ? { usage } : {}) }) as never;
  const choice = (index: number, finish_reason: string | null, extra: Record<string, unknown> = {}) => ({
    index,
    message: { role: 'assistant', content: 'x' },
    finish_reason,
    logprobs: null,
    ...extra,
  });

  test('completed when every choice finished (length included)', () => {
    assert.deepStrictEqual(endStateOfResponse(response([choice(0, 'stop'), choice(1, 'length')])), {
      state: 'completed',
    });
  });

  test('filtered with the categories that fired, custom_blocklists and the singular spelling included', () => {
    const end = endStateOfResponse(
      response([
        choice(1, 'content_filter', {
          content_filter_results: { custom_blocklists: [{ filtered: true, id: 'list' }] },
          content_filter_result: { violence: { filtered: true, severity: 'high' } },
        }),
        choice(0, 'stop'),
      ]),
    );
    assert.deepStrictEqual(end, {
      state: 'filtered',
      where: 'completion',
      categories: ['custom_blocklists', 'violence'],
      choices: [1],
    });
  });

  test('truncated for a choice without finish_reason, or no choice and no usage', () => {
    assert.deepStrictEqual(endStateOfResponse(response([choice(0, null)])), {
      state: 'truncated',
      reason: 'unfinished-choice',
      unfinished: [0],
    });
    assert.deepStrictEqual(endStateOfResponse(response([])), {
      state: 'truncated',
      reason: 'unfinished-choice',
      unfinished: [0],
    });
    assert.deepStrictEqual(
      endStateOfResponse(response([], { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 })),
      {
        state: 'completed',
      },
    );
  });

  test('agrees with the accumulator on every recorded stream', () => {
    for (const fixture of [chatBasic, chatCompletionFiltered, chatTwoChoices, chatAsyncFilterBlocked]) {
      const acc = createAccumulator('chat');
      for (const chunk of fixture.chunks as ChatCompletionChunk[]) acc.push(chunk);
      assert.deepStrictEqual(endStateOfResponse(acc.response()), acc.finish(done));
    }
  });
});

describe('lengthLimitReason', () => {
  const stopped = (finish: string, usage?: { prompt_tokens: number; completion_tokens: number }) =>
    ({
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: finish, logprobs: null }],
      ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
    }) as never;

  test('undefined when no choice stopped for length', () => {
    assert.equal(lengthLimitReason(stopped('stop', { prompt_tokens: 1, completion_tokens: 1 })), undefined);
  });

  test('context-length: fewer completion tokens than allowed (the embedded model, 512-token context)', () => {
    const response = stopped('length', { prompt_tokens: 400, completion_tokens: 112 });
    assert.equal(lengthLimitReason(response, { max_tokens: 256 }), 'context-length');
    assert.equal(lengthLimitReason(response, { max_completion_tokens: 200, max_tokens: 50 }), 'context-length');
  });

  test('context-length: prompt and completion reached the known context size', () => {
    assert.equal(
      lengthLimitReason(stopped('length', { prompt_tokens: 256, completion_tokens: 256 }), {}, 512),
      'context-length',
    );
    assert.equal(
      lengthLimitReason(stopped('length', { prompt_tokens: 256, completion_tokens: 256 }), { max_tokens: 256 }, 512),
      'context-length',
    );
  });

  test('max-tokens: the allowance was used up, or nothing tells otherwise', () => {
    assert.equal(
      lengthLimitReason(stopped('length', { prompt_tokens: 10, completion_tokens: 256 }), { max_tokens: 256 }),
      'max-tokens',
    );
    assert.equal(lengthLimitReason(stopped('length'), { max_tokens: 256 }), 'max-tokens');
    assert.equal(lengthLimitReason(stopped('length', { prompt_tokens: 10, completion_tokens: 16 })), 'max-tokens');
    assert.equal(
      lengthLimitReason(stopped('length', { prompt_tokens: 10, completion_tokens: 16 }), {}, 512),
      'max-tokens',
    );
  });
});
