// Tool calls and structured output on the real tiny model: the grammar, not the model's
// judgement, makes every call parse and match its schema; zod (independent of the grammar
// code) checks each result against the schema the request sent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { BadRequestError } from '../../errors.js';
import type { ChatCompletionChunk, ChatCompletionRequest, ToolDefinition } from '../../types.js';
import { createLocalBackend, type LocalBackend } from './local-backend.js';

const never = () => new AbortController().signal;

const Weather = z.strictObject({ city: z.string(), days: z.int(), unit: z.enum(['c', 'f']) });
const Alarm = z.strictObject({ time: z.string(), repeat: z.boolean(), labels: z.array(z.string()) });
const schemas: Record<string, z.ZodType> = { get_weather: Weather, set_alarm: Alarm };
const tools: ToolDefinition[] = [
  { type: 'function', function: { name: 'get_weather', parameters: z.toJSONSchema(Weather) } },
  { type: 'function', function: { name: 'set_alarm', parameters: z.toJSONSchema(Alarm) } },
];
const messages: ChatCompletionRequest['messages'] = [{ role: 'user', content: 'What is the weather in Paris?' }];

interface Call {
  id: string;
  name: string;
  arguments: string;
  /** Arguments deltas after the first (which carries the name and ''). */
  pieces: number;
}

async function run(
  backend: LocalBackend,
  body: Omit<ChatCompletionRequest, 'messages'> & Partial<ChatCompletionRequest>,
) {
  const chunks: ChatCompletionChunk[] = [];
  const request = { messages, max_tokens: 300, ...body } as ChatCompletionRequest;
  for await (const c of backend.stream({ kind: 'chat', body: request }, never())) chunks.push(c);
  const calls: Call[] = [];
  let content = '';
  let finish: string | null = null;
  for (const chunk of chunks) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    content += choice.delta?.content ?? '';
    for (const delta of choice.delta?.tool_calls ?? []) {
      if (delta.id !== undefined) {
        assert.deepEqual(Object.keys(delta).sort(), ['function', 'id', 'index', 'type']);
        assert.equal(delta.type, 'function');
        assert.equal(delta.function?.arguments, '', 'the first delta names the function, arguments follow');
        calls[delta.index] = { id: delta.id, name: delta.function?.name ?? '', arguments: '', pieces: 0 };
      } else {
        assert.deepEqual(Object.keys(delta).sort(), ['function', 'index']);
        const call = calls[delta.index];
        assert.ok(call, 'arguments only after the call started');
        call.arguments += delta.function?.arguments ?? '';
        call.pieces++;
      }
    }
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  return { chunks, calls, content, finish };
}

function assertValidCall(call: Call | undefined): unknown {
  assert.ok(call);
  assert.match(call.id, /^call_[A-Za-z0-9]{24}$/);
  const schema = schemas[call.name];
  assert.ok(schema, `a declared function: ${call.name}`);
  return schema.parse(JSON.parse(call.arguments));
}

describe('local backend: tool calls and structured output (real model)', () => {
  let backend: LocalBackend;
  before(async () => {
    backend = createLocalBackend({ sequences: 1 });
    await backend.load();
  });
  after(() => backend.close());

  test('required: every seed gives one call, streamed in pieces, that parses and matches its schema', async () => {
    for (let seed = 0; seed < 12; seed++) {
      const { calls, content, finish } = await run(backend, { tools, tool_choice: 'required', seed });
      assert.equal(finish, 'tool_calls', `seed ${seed}`);
      assert.equal(calls.length, 1);
      assert.equal(content, '', 'a call has no text');
      assertValidCall(calls[0]);
      assert.ok((calls[0]?.pieces ?? 0) > 1, `seed ${seed}: arguments arrive in several deltas`);
    }
  });

  test('a named tool_choice always calls that function', async () => {
    for (let seed = 0; seed < 3; seed++) {
      for (const name of ['get_weather', 'set_alarm']) {
        const choice = { type: 'function' as const, function: { name } };
        const { calls, finish } = await run(backend, { tools, tool_choice: choice, seed });
        assert.equal(finish, 'tool_calls');
        assert.equal(calls[0]?.name, name);
        assertValidCall(calls[0]);
      }
    }
  });

  test('none: text, no call, even with tools declared', async () => {
    const { calls, content, finish } = await run(backend, { tools, tool_choice: 'none', seed: 1, max_tokens: 20 });
    assert.equal(calls.length, 0);
    assert.ok(content.length > 0);
    assert.ok(finish === 'stop' || finish === 'length');
  });

  test('auto: the model decides, the same way for the same seed; across seeds both outcomes occur, each well-formed', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 100 && outcomes.size < 2; seed++) {
      const first = await run(backend, { tools, seed, max_tokens: 30 });
      if (seed < 3) {
        const again = await run(backend, { tools, seed, max_tokens: 30 });
        assert.deepEqual(
          again.calls.map((c) => [c.name, c.arguments]),
          first.calls.map((c) => [c.name, c.arguments]),
        );
        assert.equal(again.content, first.content);
      }
      if (first.calls.length > 0) {
        assert.ok(first.finish === 'tool_calls' || first.finish === 'length');
        if (first.finish === 'tool_calls') assertValidCall(first.calls[0]);
        assert.equal(first.content, '');
        outcomes.add('call');
      } else {
        assert.ok(first.content.length > 0 && !first.content.startsWith('answer'), 'the decision word is not shown');
        outcomes.add('text');
      }
    }
    assert.deepEqual([...outcomes].sort(), ['call', 'text']);
  });

  test('the tool-result turn: an assistant tool_calls message and a tool message are accepted and prompted', async () => {
    const first = await run(backend, { tools, tool_choice: 'required', seed: 4 });
    const call = first.calls[0];
    assert.ok(call);
    const followUp: ChatCompletionRequest['messages'] = [
      ...messages,
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }],
      },
      { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' },
    ];
    const usageOf = async (m: ChatCompletionRequest['messages']) => {
      const r = await run(backend, {
        messages: m,
        tools,
        seed: 2,
        max_tokens: 10,
        stream_options: { include_usage: true },
      });
      return r.chunks.find((c) => c.usage)?.usage?.prompt_tokens ?? 0;
    };
    const second = await run(backend, { messages: followUp, tools, tool_choice: 'none', seed: 2, max_tokens: 20 });
    assert.ok(second.content.length > 0, 'the model answers after the tool result');
    // The call and the result are in the prompt: it grew by (at least) the arguments' and the result's text.
    const before = await usageOf(messages);
    const withResult = await usageOf(followUp);
    const tokens = await backend.countTokens(`call ${call.name} ${call.arguments}\nTool: {"temperature": 21}`);
    assert.ok(withResult - before >= tokens - 4, `prompt grew ${withResult - before}, expected about ${tokens}`);
  });

  test('response_format json_schema: content is JSON matching the schema, streamed, finish stop', async () => {
    const Person = z.strictObject({ name: z.string(), age: z.int(), pets: z.array(z.enum(['cat', 'dog'])) });
    for (let seed = 0; seed < 8; seed++) {
      const response_format = {
        type: 'json_schema',
        json_schema: { name: 'person', strict: true, schema: z.toJSONSchema(Person) },
      };
      const { chunks, content, finish } = await run(backend, { response_format, seed });
      assert.equal(finish, 'stop', `seed ${seed}`);
      Person.parse(JSON.parse(content));
      assert.ok(chunks.filter((c) => c.choices[0]?.delta?.content).length > 1, 'content arrives in pieces');
    }
  });

  test('response_format json_object: a JSON object', async () => {
    for (let seed = 0; seed < 4; seed++) {
      const { content, finish } = await run(backend, {
        response_format: { type: 'json_object' },
        seed,
        max_tokens: 400,
      });
      if (finish === 'length') continue; // an object the budget cut: what OpenAI reports too
      const value: unknown = JSON.parse(content);
      assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
    }
  });

  test('bad tools, tool_choice and schemas are 400s naming the parameter, before any model time', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ tools: [{ type: 'custom', custom: {} }] }, 'tools[0].type'],
      [{ tools: [{ type: 'function', function: { name: 'bad name' } }] }, 'tools[0].function.name'],
      [{ tools, tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name'],
      [{ tool_choice: 'required' }, 'tool_choice'],
      [
        {
          tools: [
            {
              type: 'function',
              function: {
                name: 'f',
                parameters: { type: 'object', properties: { a: { type: 'string', pattern: 'x' } } },
              },
            },
          ],
        },
        'tools[0].function.parameters.properties.a.pattern',
      ],
      [
        { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string' } } } },
        'response_format.json_schema.schema',
      ],
      [{ response_format: { type: 'yaml' } }, 'response_format.type'],
      [{ functions: [{ name: 'f' }] }, 'functions'],
    ];
    const generated = backend.stats().tokensGenerated;
    for (const [extra, param] of cases) {
      await assert.rejects(run(backend, extra), (error: unknown) => {
        assert.ok(error instanceof BadRequestError, String(error));
        assert.equal(error.status, 400);
        assert.equal((error.body as { error: { param: string } }).error.param, param);
        return true;
      });
    }
    assert.equal(backend.stats().tokensGenerated, generated);
  });
});
