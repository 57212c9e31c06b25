// The Responses API of `sluice serve` on the embedded model (node-llama-cpp, the bundled
// tiny GGUF), driven by the libraries people use, unchanged: the official openai SDK
// (responses.stream / create / retrieve, previous_response_id, resume with starting_after),
// the AI SDK 6 (`openai('name')` and `azure('name')` default to the Responses API) and
// LangChain (`ChatOpenAI` / `AzureChatOpenAI` with `useResponsesApi: true`), text and tool calls.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAzure } from '@ai-sdk/azure';
import { createOpenAI } from '@ai-sdk/openai';
import { AzureChatOpenAI, ChatOpenAI } from '@langchain/openai';
import { streamText, tool } from 'ai';
import OpenAI from 'openai';
import { z } from 'zod';
import { createLocalBackend, type LocalBackend } from '../../src/backends/local/index.js';
import { frameReader, post, start } from '../support/server.js';

const KEY = 'test-key';
let backend: LocalBackend;

before(async () => {
  backend = createLocalBackend({ sequences: 2, queueSize: 4 });
  await backend.load();
});
after(() => backend.close?.());

async function serve(t: import('node:test').TestContext) {
  const { url } = await start(t, { deployments: { story: backend }, apiKey: KEY });
  return { url, openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 }) };
}

describe('openai SDK on the embedded model', () => {
  test('responses.stream: text deltas arrive while the model is still generating, then the final response', async (t) => {
    const { openai } = await serve(t);
    const before = backend.stats();
    const stream = openai.responses.stream({ model: 'story', input: 'Once upon a time', max_output_tokens: 300 });
    let text = '';
    let during: ReturnType<LocalBackend['stats']> | undefined;
    for await (const event of stream) {
      if (event.type !== 'response.output_text.delta') continue;
      during ??= backend.stats();
      text += event.delta;
    }
    const final = await stream.finalResponse();
    assert.ok(during, 'a text delta');
    // The first delta was read while its generation was under way, far from its limit.
    assert.equal(during.completed, before.completed);
    assert.ok(during.tokensGenerated - before.tokensGenerated < 300);
    assert.ok(text.length > 0);
    assert.equal(final.output_text, text);
    assert.ok(final.status === 'completed' || final.status === 'incomplete');
    assert.ok((final.usage?.output_tokens ?? 0) > 1);
    assert.equal(final.usage?.total_tokens, (final.usage?.input_tokens ?? 0) + (final.usage?.output_tokens ?? 0));
  });

  test('responses.create, previous_response_id (the earlier turn is in the prompt), retrieve', async (t) => {
    const { openai } = await serve(t);
    const first = await openai.responses.create({
      model: 'story',
      input: 'Tell me about a cat.',
      max_output_tokens: 8,
    });
    assert.equal(first.status, 'incomplete');
    assert.deepEqual(first.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(first.usage?.output_tokens, 8);
    const alone = await openai.responses.create({
      model: 'story',
      input: 'And a dog?',
      max_output_tokens: 4,
      store: false,
    });
    const next = await openai.responses.create({
      model: 'story',
      input: 'And a dog?',
      previous_response_id: first.id,
      max_output_tokens: 4,
    });
    // The first turn's input and output come before the new input.
    assert.ok((next.usage?.input_tokens ?? 0) > (alone.usage?.input_tokens ?? 0) + 8);
    const retrieved = await openai.responses.retrieve(next.id);
    assert.equal(retrieved.output_text, next.output_text);
    assert.equal(retrieved.previous_response_id, first.id);
  });

  test('resume: retrieve(id, { stream: true, starting_after }) continues a background stream to its end', async (t) => {
    const { url, openai } = await serve(t);
    const res = await post(
      `${url}/v1/responses`,
      { model: 'story', input: 'Once upon a time', max_output_tokens: 60, stream: true, background: true },
      { authorization: `Bearer ${KEY}` },
    );
    const reader = frameReader(res);
    const early: Array<{ type: string; sequence_number: number; delta?: string; response?: { id: string } }> = [];
    while (early.length < 5) {
      const frame = await reader.next();
      assert.ok(frame);
      if (frame.startsWith(':')) continue;
      early.push(JSON.parse(frame.slice(frame.indexOf('data: ') + 6)));
    }
    await reader.cancel();
    const id = early[0]!.response!.id;
    const last = early.at(-1)!.sequence_number;
    const rest: typeof early = [];
    for await (const event of await openai.responses.retrieve(id, { stream: true, starting_after: last })) {
      rest.push(event as (typeof early)[number]);
    }
    assert.equal(rest[0]?.sequence_number, last + 1);
    assert.match(rest.at(-1)?.type ?? '', /^response\.(completed|incomplete)$/);
    const text = [...early, ...rest]
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    const final = await openai.responses.retrieve(id);
    assert.ok(text.length > 0);
    assert.equal(final.output_text, text);
  });
});

describe('tool calls through the Responses API on the embedded model', () => {
  const weather = {
    type: 'function' as const,
    name: 'get_weather',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
    strict: true,
  };

  test('a named function streams function_call arguments that parse and match the schema; its output goes back', async (t) => {
    const { openai } = await serve(t);
    const stream = openai.responses.stream({
      model: 'story',
      input: 'What is the weather in Paris?',
      tools: [weather],
      tool_choice: { type: 'function', name: 'get_weather' },
    });
    let deltas = 0;
    stream.on('response.function_call_arguments.delta', () => deltas++);
    const final = await stream.finalResponse();
    const call = final.output.find((item) => item.type === 'function_call');
    assert.ok(call?.type === 'function_call', 'a function_call item');
    assert.equal(call.name, 'get_weather');
    assert.ok(deltas > 1, 'arguments in several deltas');
    const args = JSON.parse(call.arguments) as { city: unknown; unit: unknown };
    assert.equal(typeof args.city, 'string');
    assert.ok(args.unit === 'c' || args.unit === 'f');
    assert.deepEqual(Object.keys(args).sort(), ['city', 'unit']);
    // The tool-result turn: the call's output, after the response that made the call.
    const next = await openai.responses.create({
      model: 'story',
      previous_response_id: final.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temperature":21}' }],
      tools: [weather],
      tool_choice: 'none',
      max_output_tokens: 10,
    });
    assert.ok(next.output_text.length > 0);
  });
});

describe('AI SDK 6 default models (Responses API) on the embedded model', () => {
  for (const provider of ['openai', 'azure'] as const) {
    test(`${provider}('story'): streamText streams the model's text`, async (t) => {
      const { url } = await serve(t);
      const model =
        provider === 'openai'
          ? createOpenAI({ baseURL: `${url}/v1`, apiKey: KEY })('story')
          : createAzure({ baseURL: `${url}/openai/v1`, apiKey: KEY })('story');
      const result = streamText({ model, prompt: 'Once upon a time', maxOutputTokens: 40, maxRetries: 0 });
      const parts: string[] = [];
      for await (const part of result.textStream) parts.push(part);
      assert.ok(parts.length > 1, 'more than one piece of text');
      assert.ok(parts.join('').length > 0);
      assert.equal(await result.text, parts.join(''));
      const usage = await result.usage;
      assert.ok((usage.outputTokens ?? 0) > 1);
    });
  }

  test("openai('story'): streamText with a tool and toolChoice 'required' streams a tool call whose input matches the schema", async (t) => {
    const { url } = await serve(t);
    const model = createOpenAI({ baseURL: `${url}/v1`, apiKey: KEY })('story');
    const result = streamText({
      model,
      prompt: 'What is the weather in Paris?',
      tools: {
        getWeather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string(), unit: z.enum(['c', 'f']) }),
        }),
      },
      toolChoice: 'required',
      maxRetries: 0,
    });
    const types: string[] = [];
    for await (const part of result.fullStream) {
      if (part.type === 'error') throw part.error;
      types.push(part.type);
    }
    assert.ok(types.filter((type) => type === 'tool-input-delta').length > 1, 'the input in several deltas');
    const calls = await result.toolCalls;
    assert.equal(calls.length, 1);
    const [call] = calls;
    assert.equal(call?.toolName, 'getWeather');
    // An input the SDK could not validate against the schema comes back as an invalid, dynamic call.
    assert.ok(call && !call.dynamic && !call.invalid, 'a valid call of the declared tool');
    const input = call?.input as { city: unknown; unit: unknown };
    assert.equal(typeof input.city, 'string');
    assert.ok(input.unit === 'c' || input.unit === 'f');
    assert.deepEqual(Object.keys(input).sort(), ['city', 'unit']);
    assert.equal(await result.finishReason, 'tool-calls');
  });
});

describe('LangChain with useResponsesApi on the embedded model', () => {
  test('ChatOpenAI and AzureChatOpenAI stream the model text', async (t) => {
    const { url } = await serve(t);
    const models = [
      new ChatOpenAI({
        model: 'story',
        apiKey: KEY,
        useResponsesApi: true,
        maxTokens: 30,
        maxRetries: 0,
        configuration: { baseURL: `${url}/v1` },
      }),
      new AzureChatOpenAI({
        azureOpenAIEndpoint: url,
        azureOpenAIApiKey: KEY,
        azureOpenAIApiDeploymentName: 'story',
        azureOpenAIApiVersion: '2025-04-01-preview',
        useResponsesApi: true,
        maxTokens: 30,
        maxRetries: 0,
      }),
    ];
    for (const model of models) {
      const pieces: string[] = [];
      for await (const chunk of await model.stream('Once upon a time')) {
        if (typeof chunk.content === 'string' && chunk.content !== '') pieces.push(chunk.content);
        else if (Array.isArray(chunk.content)) {
          for (const part of chunk.content) if (part.type === 'text' && part.text) pieces.push(part.text as string);
        }
      }
      assert.ok(pieces.length > 1, `${model.constructor.name}: streamed pieces`);
      assert.ok(pieces.join('').length > 0);
    }
  });
  test('AzureChatOpenAI.bindTools with a named tool_choice streams tool_calls whose args match the schema', async (t) => {
    const { url } = await serve(t);
    const model = new AzureChatOpenAI({
      azureOpenAIEndpoint: url,
      azureOpenAIApiKey: KEY,
      azureOpenAIApiDeploymentName: 'story',
      azureOpenAIApiVersion: '2025-04-01-preview',
      useResponsesApi: true,
      maxRetries: 0,
    });
    const getWeather = {
      name: 'get_weather',
      description: 'The weather in a city',
      schema: z.object({ city: z.string(), unit: z.enum(['c', 'f']) }),
    };
    const bound = model.bindTools([getWeather], { tool_choice: 'get_weather' });
    let chunks = 0;
    let message: Awaited<ReturnType<typeof bound.invoke>> | undefined;
    for await (const chunk of await bound.stream('What is the weather in Paris?')) {
      chunks++;
      message = message ? message.concat(chunk) : chunk;
    }
    assert.ok(chunks > 1, 'streamed in several chunks');
    const calls = message?.tool_calls ?? [];
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.name, 'get_weather');
    // Exactly the schema's keys, of its types (throws otherwise).
    getWeather.schema.strict().parse(calls[0]?.args);
  });
});
