// Chat chunks -> Responses events: the event sequence, text, tool calls, limits, failures,
// usage; and the Responses request -> chat request mapping. The events are checked by the
// protocol's own checks and accumulated by its accumulator, which must agree with the
// translator's own final response.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatCompletionChunk } from '../../types.js';
import { createResponsesAccumulator } from './accumulate.js';
import { chatRequestFromResponses, responsesProblem } from './chat-request.js';
import { checkResponsesEvent } from './events.js';
import { createResponsesFromChat } from './from-chat.js';
import type { ResponseStreamEvent } from './types.js';

const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: object): ChatCompletionChunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'm',
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...(usage ? { usage: usage as ChatCompletionChunk['usage'] } : {}),
});
const usageChunk = (p: number, c: number): ChatCompletionChunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'm',
  choices: [],
  usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c },
});

function run(chunks: ChatCompletionChunk[], end: 'finish' | 'fail' = 'finish') {
  let n = 0;
  const t = createResponsesFromChat({ id: 'resp_1', model: 'story', createdAt: 1, newId: () => String(++n) });
  const events: ResponseStreamEvent[] = [...t.start()];
  for (const c of chunks) events.push(...t.push(c));
  events.push(...(end === 'finish' ? t.finish() : t.fail({ code: 'server_error', message: 'boom' })));
  const acc = createResponsesAccumulator();
  for (const e of events) acc.push(checkResponsesEvent(e));
  return { events, final: t.response(), accumulated: acc.response(), types: events.map((e) => e.type) };
}

describe('createResponsesFromChat', () => {
  test('text: the full event sequence, sequence numbers from 0, usage mapped, completed', () => {
    const { events, final, accumulated, types } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Once' }),
      chunk({ content: ' upon' }),
      chunk({}, 'stop'),
      usageChunk(5, 2),
    ]);
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    assert.equal(final.status, 'completed');
    assert.deepEqual(final.output, [
      {
        id: 'msg_1',
        type: 'message',
        status: 'completed',
        content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'Once upon' }],
        role: 'assistant',
      },
    ]);
    assert.deepEqual(final.usage, {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 2,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 7,
    });
    assert.deepEqual(accumulated.output, final.output);
    const created = events[0] as { response: { status: string; output: unknown[] } };
    assert.equal(created.response.status, 'in_progress');
    assert.deepEqual(created.response.output, []);
  });

  test('a length stop is response.incomplete with max_output_tokens, the message incomplete', () => {
    const { final, types } = run([chunk({ content: 'Once' }), chunk({}, 'length')]);
    assert.equal(types.at(-1), 'response.incomplete');
    assert.equal(final.status, 'incomplete');
    assert.deepEqual(final.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(final.output[0]?.status, 'incomplete');
  });

  test('tool_calls deltas become function_call items with streamed arguments', () => {
    const { final, types, events, accumulated } = run([
      chunk({ role: 'assistant', content: null }),
      chunk({
        tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
      chunk({
        tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }],
      }),
      chunk({}, 'tool_calls'),
    ]);
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.deepEqual(final.output, [
      {
        id: 'fc_1',
        type: 'function_call',
        status: 'completed',
        arguments: '{"city":"Oslo"}',
        call_id: 'call_a',
        name: 'get_weather',
      },
      { id: 'fc_2', type: 'function_call', status: 'completed', arguments: '{}', call_id: 'call_b', name: 'get_time' },
    ]);
    assert.deepEqual(accumulated.output, final.output);
    const done = events.find((e) => e.type === 'response.function_call_arguments.done') as {
      arguments: string;
      name: string;
    };
    assert.deepEqual([done.arguments, done.name], ['{"city":"Oslo"}', 'get_weather']);
  });

  test('a failure is response.failed with the error, the partial text kept', () => {
    const { final, types } = run([chunk({ content: 'Once' })], 'fail');
    assert.equal(types.at(-1), 'response.failed');
    assert.equal(final.status, 'failed');
    assert.deepEqual(final.error, { code: 'server_error', message: 'boom' });
    assert.equal(final.output[0]?.status, 'incomplete');
    assert.equal((final.output[0] as { content: Array<{ text: string }> }).content[0]?.text, 'Once');
  });
});

describe('chatRequestFromResponses', () => {
  test('instructions, string input, limits, tools and text.format', () => {
    const mapped = chatRequestFromResponses({
      model: 'story',
      instructions: 'Be brief',
      input: 'Hi',
      max_output_tokens: 20,
      temperature: 0.5,
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' }, strict: true }],
      tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_schema', name: 's', schema: { type: 'object' }, strict: true } },
    });
    assert.ok(mapped.ok);
    assert.deepEqual(mapped.body, {
      model: 'story',
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'Hi' },
      ],
      max_tokens: 20,
      temperature: 0.5,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' }, strict: true } },
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test('history, input_text parts, function calls and their outputs', () => {
    const mapped = chatRequestFromResponses(
      {
        input: [
          { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'And ' },
              { type: 'input_text', text: 'tomorrow?' },
            ],
          },
        ],
      },
      [
        { role: 'user', content: 'Weather?' },
        { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{}', id: 'fc_1' },
      ],
    );
    assert.ok(mapped.ok);
    assert.deepEqual(mapped.body.messages, [
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'w', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });

  test('what the model cannot serve is refused naming the Responses parameter', () => {
    const web = chatRequestFromResponses({ input: 'x', tools: [{ type: 'web_search' }] });
    assert.equal(!web.ok && web.problem.param, 'tools[0].type');
    const file = chatRequestFromResponses({
      input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }],
    });
    assert.equal(!file.ok && file.problem.param, 'input[0].content[0].type');
    const none = chatRequestFromResponses({ instructions: 'x' });
    assert.equal(!none.ok && none.problem.param, 'input');
    assert.deepEqual(responsesProblem({ message: 'max_tokens must be at least 1.', param: 'max_tokens', code: 'x' }), {
      message: 'max_output_tokens must be at least 1.',
      param: 'max_output_tokens',
      code: 'x',
    });
  });
});
