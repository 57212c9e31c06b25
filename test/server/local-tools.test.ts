// Tool calls and structured output through the server on the real local model, driven by the
// official openai SDK (6.49) unchanged: the stream helper with tools, runTools (calls our
// functions and sends the results back), and parse with zod response formats and functions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { AzureOpenAI } from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { createLocalBackend, type LocalBackend } from '../../src/backends/local/index.js';
import { azureUrl, post, start } from '../support/server.js';

let backend: LocalBackend;
before(async () => {
  backend = createLocalBackend({ sequences: 2, queueSize: 4 });
  await backend.load();
});
after(() => backend.close());

const Weather = z.object({ city: z.string(), unit: z.enum(['c', 'f']) });
const weatherTool = zodFunction({ name: 'get_weather', parameters: Weather });
const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];

async function clients(t: import('node:test').TestContext) {
  const { url } = await start(t, { backend, apiKey: 'k' });
  return {
    url,
    openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 }),
    azure: new AzureOpenAI({ endpoint: url, apiKey: 'k', apiVersion: '2024-10-21', maxRetries: 0 }),
  };
}

describe('tool calls and structured output over HTTP (real model, openai SDK)', () => {
  test('chat.completions.stream with tools: arguments arrive in several deltas, parse and match, finish tool_calls (both dialects)', async (t) => {
    const { openai, azure } = await clients(t);
    for (const [client, model] of [
      [openai, 'tiny'],
      [azure, 'gpt-4o'],
    ] as const) {
      for (let seed = 0; seed < 4; seed++) {
        const stream = client.chat.completions.stream({
          model,
          messages,
          tools: [weatherTool],
          tool_choice: 'required',
          seed,
        });
        let deltas = 0;
        stream.on('tool_calls.function.arguments.delta', () => deltas++);
        const done = await stream.finalChatCompletion();
        const choice = done.choices[0];
        assert.equal(choice?.finish_reason, 'tool_calls');
        const call = choice?.message.tool_calls?.[0];
        assert.ok(call && call.type === 'function');
        assert.equal(call.function.name, 'get_weather');
        assert.match(call.id, /^call_/);
        Weather.parse(JSON.parse(call.function.arguments));
        assert.deepEqual(
          call.function.parsed_arguments,
          JSON.parse(call.function.arguments),
          'the SDK parsed them too',
        );
        assert.ok(deltas > 1, `seed ${seed}: ${deltas} argument deltas`);
      }
    }
  });

  test('runTools: the SDK calls our function with valid arguments, sends the result back, and the model answers', async (t) => {
    const { openai } = await clients(t);
    // auto lets the model decide; find a seed where it decides to call (deterministic per seed).
    let seed = 0;
    for (; seed < 100; seed++) {
      const first = await openai.chat.completions.create({
        model: 'tiny',
        messages,
        tools: [weatherTool],
        seed,
        max_tokens: 60,
      });
      if (first.choices[0]?.message.tool_calls?.length) break;
    }
    assert.ok(seed < 100, 'some seed makes the model call');
    const calls: unknown[] = [];
    const runner = openai.chat.completions.runTools({
      model: 'tiny',
      messages,
      seed,
      max_tokens: 150,
      // The answer after the result ends at its first sentence: 'stop', not 'length' (which the SDK refuses to parse).
      stop: ['.'],
      tools: [
        zodFunction({
          name: 'get_weather',
          parameters: Weather,
          function: (args) => {
            calls.push(Weather.parse(args));
            return { temperature: 21, unit: args.unit };
          },
        }),
      ],
    });
    const content = await runner.finalContent();
    assert.ok(calls.length >= 1, 'our function ran');
    const sent = runner.messages;
    const toolMessage = sent.find((m) => m.role === 'tool');
    assert.ok(toolMessage, 'the result went back as a tool message');
    assert.match(String(toolMessage.content), /"temperature":21/);
    assert.equal(typeof content, 'string', 'the model answered after the result (or the SDK stopped after 10 rounds)');
  });

  test('chat.completions.parse with a zod response format: message.parsed matches the schema', async (t) => {
    const { openai } = await clients(t);
    const Person = z.object({
      name: z.string(),
      age: z.number().int(),
      pets: z.array(z.enum(['cat', 'dog'])),
      nick: z.string().nullable(),
    });
    for (let seed = 0; seed < 4; seed++) {
      const completion = await openai.chat.completions.parse({
        model: 'tiny',
        messages: [{ role: 'user', content: 'Describe a person as JSON.' }],
        response_format: zodResponseFormat(Person, 'person'),
        seed,
        max_tokens: 300,
      });
      const message = completion.choices[0]?.message;
      assert.equal(completion.choices[0]?.finish_reason, 'stop');
      assert.deepEqual(message?.parsed, Person.parse(JSON.parse(message?.content ?? '')));
    }
  });

  test('chat.completions.parse with a strict zod function: parsed_arguments', async (t) => {
    const { openai } = await clients(t);
    const completion = await openai.chat.completions.parse({
      model: 'tiny',
      messages,
      tools: [weatherTool],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      seed: 3,
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.deepEqual(call.function.parsed_arguments, Weather.parse(JSON.parse(call.function.arguments)));
  });

  test('a schema the grammar cannot enforce is a 400 naming the keyword, in the Azure dialect too', async (t) => {
    const { url } = await clients(t);
    const body = {
      messages,
      tools: [
        {
          type: 'function',
          function: { name: 'f', parameters: { type: 'object', properties: { n: { type: 'number', minimum: 1 } } } },
        },
      ],
    };
    const res = await post(azureUrl(url, 'gpt-4o', 'chat'), { ...body, stream: true }, { 'api-key': 'k' });
    assert.equal(res.status, 400);
    const json = (await res.json()) as { error: { param: string; message: string } };
    assert.equal(json.error.param, 'tools[0].function.parameters.properties.n.minimum');
    assert.match(json.error.message, /minimum/);
  });
});
