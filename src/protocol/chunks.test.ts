import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContentFilterResults } from '../types.js';
import { createAccumulator } from './accumulate.js';
import { chunkBuilder, randomId, safeFilterResults } from './chunks.js';

const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };

describe('chunkBuilder', () => {
  test('chat: role, content, finish and usage chunks in OpenAI shape, one id for all', () => {
    const b = chunkBuilder('chat', { id: 'chatcmpl-x', created: 1700000000, model: 'm', systemFingerprint: null });
    const chunks = [b.role(0), b.content(0, 'Hel'), b.content(0, 'lo'), b.finish(0, 'stop'), b.usage(usage)];
    const head = { id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1700000000, model: 'm' };
    const choice = { logprobs: null };
    assert.deepEqual(chunks, [
      {
        ...head,
        system_fingerprint: null,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, ...choice, finish_reason: null }],
      },
      {
        ...head,
        system_fingerprint: null,
        choices: [{ index: 0, delta: { content: 'Hel' }, ...choice, finish_reason: null }],
      },
      {
        ...head,
        system_fingerprint: null,
        choices: [{ index: 0, delta: { content: 'lo' }, ...choice, finish_reason: null }],
      },
      { ...head, system_fingerprint: null, choices: [{ index: 0, delta: {}, ...choice, finish_reason: 'stop' }] },
      { ...head, system_fingerprint: null, choices: [], usage },
    ]);
  });

  test('completions: no role chunk, text chunks, a finish chunk with empty text', () => {
    const b = chunkBuilder('completions', { id: 'cmpl-x', created: 1, model: 'm' });
    assert.equal(b.role(0), null);
    assert.deepEqual(b.content(1, 'Once'), {
      id: 'cmpl-x',
      object: 'text_completion',
      created: 1,
      model: 'm',
      choices: [{ text: 'Once', index: 1, logprobs: null, finish_reason: null }],
    });
    assert.deepEqual(b.finish(1, 'length').choices, [{ text: '', index: 1, logprobs: null, finish_reason: 'length' }]);
    assert.equal('system_fingerprint' in b.content(0, 'x'), false, 'left out unless given');
  });

  test('usageNull: usage null on every chunk but the usage chunk', () => {
    const b = chunkBuilder('chat', { model: 'm', usageNull: true });
    for (const c of [b.role(0), b.content(0, 'a'), b.finish(0, 'stop')]) assert.equal(c?.usage, null);
    assert.deepEqual(b.usage(usage).usage, usage);
    assert.equal('usage' in chunkBuilder('chat', { model: 'm' }).content(0, 'a'), false);
  });

  test('a fresh id per response: chatcmpl-/cmpl- and 24 letters and digits; created is now', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const b = chunkBuilder(i % 2 ? 'chat' : 'completions', { model: 'm' });
      assert.match(b.id, i % 2 ? /^chatcmpl-[A-Za-z0-9]{24}$/ : /^cmpl-[A-Za-z0-9]{24}$/);
      assert.equal(b.content(0, 'x').id, b.id);
      ids.add(b.id);
    }
    assert.equal(ids.size, 50);
    const created = chunkBuilder('chat', { model: 'm' }).created;
    assert.ok(Math.abs(created - Date.now() / 1000) < 5);
  });

  test('Azure: content chunks carry the filter results, role and finish chunks {}, each call may pass its own', () => {
    const b = chunkBuilder('chat', { model: 'm', contentFilterResults: safeFilterResults() });
    assert.deepEqual(b.role(0)?.choices[0]?.content_filter_results, {});
    assert.deepEqual(b.content(0, 'a').choices[0]?.content_filter_results, safeFilterResults());
    assert.deepEqual(b.finish(0, 'stop').choices[0]?.content_filter_results, {});
    const blocked: ContentFilterResults = { ...safeFilterResults(), violence: { filtered: true, severity: 'high' } };
    assert.deepEqual(b.finish(0, 'content_filter', blocked).choices[0]?.content_filter_results, blocked);
    // Without the option: OpenAI's shape, no filter fields at all.
    assert.equal('content_filter_results' in (chunkBuilder('chat', { model: 'm' }).role(0)?.choices[0] ?? {}), false);
  });

  test('every chunk is a fresh object: changing one changes no other', () => {
    const filters = safeFilterResults();
    const b = chunkBuilder('chat', { model: 'm', contentFilterResults: filters });
    const first = b.content(0, 'a');
    (first.choices[0]?.content_filter_results?.hate as { filtered: boolean }).filtered = true;
    assert.equal(b.content(0, 'b').choices[0]?.content_filter_results?.hate?.filtered, false);
    assert.equal(filters.hate?.filtered, false, "the caller's object is not shared either");
  });

  test('prompt-filter and annotation chunks: no id, object, model; created 0', () => {
    const b = chunkBuilder('completions', { model: 'm' });
    assert.deepEqual(b.promptFilter(safeFilterResults()), {
      id: '',
      object: '',
      created: 0,
      model: '',
      choices: [],
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: safeFilterResults() }],
    });
    const two = [
      { prompt_index: 1, content_filter_results: {} },
      { prompt_index: 0, content_filter_results: {} },
    ];
    assert.deepEqual(b.promptFilter(two).prompt_filter_results, two, 'a list is sent as it is');
    const offsets = { check_offset: 0, start_offset: 0, end_offset: 12 };
    assert.deepEqual(b.annotation(0, safeFilterResults(), offsets, 'content_filter'), {
      id: '',
      object: '',
      created: 0,
      model: '',
      choices: [
        {
          index: 0,
          finish_reason: 'content_filter',
          content_filter_results: safeFilterResults(),
          content_filter_offsets: offsets,
        },
      ],
    });
  });

  test('chunk(): any choices under the same head, extra fields last', () => {
    const b = chunkBuilder('chat', { id: 'chatcmpl-x', created: 1, model: 'm', systemFingerprint: 'fp' });
    const c = b.chunk(
      [
        { index: 0, delta: { content: 'a' }, finish_reason: null },
        { index: 1, delta: { content: 'b' }, finish_reason: null },
      ],
      { service_tier: 'default' },
    );
    assert.deepEqual(Object.keys(c), [
      'id',
      'object',
      'created',
      'model',
      'system_fingerprint',
      'choices',
      'service_tier',
    ]);
    assert.equal(c.choices.length, 2);
  });

  test('what it builds accumulates to the response a client expects', () => {
    const b = chunkBuilder('chat', {
      id: 'chatcmpl-x',
      created: 1,
      model: 'm',
      contentFilterResults: safeFilterResults(),
    });
    const acc = createAccumulator('chat');
    for (const c of [
      b.promptFilter(safeFilterResults()),
      b.role(0),
      b.content(0, 'Hi'),
      b.content(0, ' there'),
      b.finish(0, 'stop'),
      b.usage(usage),
    ]) {
      if (c) acc.push(c);
    }
    const response = acc.response();
    assert.equal(response.choices[0]?.message.content, 'Hi there');
    assert.equal(response.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(response.usage, usage);
    assert.deepEqual(acc.finish({ sawDone: true }), { state: 'completed' });
  });

  test('tool calls: the first delta names the function with empty arguments, pieces follow; accumulates to the call', () => {
    const b = chunkBuilder('chat', { id: 'chatcmpl-x', created: 1, model: 'm' });
    const start = b.toolCall(0, 0, 'call_abc', 'get_weather');
    assert.deepEqual(start.choices, [
      {
        index: 0,
        delta: {
          tool_calls: [
            { index: 0, id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '' } },
          ],
        },
        logprobs: null,
        finish_reason: null,
      },
    ]);
    const piece = b.toolArguments(0, 0, '{"city"');
    assert.deepEqual(piece.choices[0]?.delta, { tool_calls: [{ index: 0, function: { arguments: '{"city"' } }] });
    const acc = createAccumulator('chat');
    for (const c of [b.role(0), start, piece, b.toolArguments(0, 0, ': "Paris"}'), b.finish(0, 'tool_calls')]) {
      if (c) acc.push(c);
    }
    const message = acc.response().choices[0]?.message;
    assert.deepEqual(message?.tool_calls, [
      { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
    ]);
  });

  test('randomId: prefix, separator, 24 letters and digits', () => {
    assert.match(randomId('call', '_'), /^call_[A-Za-z0-9]{24}$/);
    assert.notEqual(randomId('call', '_'), randomId('call', '_'));
  });
});
