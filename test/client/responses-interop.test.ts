// Interop: the official `openai` SDK (6.49) reads the test server's Responses streams the way
// Sluice does — same events, same final response and text — so the shapes are OpenAI's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import { outputText } from '../../src/protocol/responses/accumulate.js';
import { reply, stream } from '../../src/testing/azure-server.js';
import { responseObject, responsesEvents } from '../../src/testing/responses-events.js';
import { clientFor, drain, KEY, serve } from '../support/client.js';

const script = {
  texts: ['Ten', 'sion', ' rises', ' — ', 'ünïcödé 🌊'],
  functionCall: { name: 'get_weather', argumentPieces: ['{"city":', '"Oslo"}'] },
};

test('openai responses.stream() and Sluice see the same events and the same final response', async (t) => {
  const server = await serve(t, { scenarios: { 'gpt-4o': stream(responsesEvents(script)) } });
  const sdk = new OpenAI({ baseURL: `${server.url}/openai/v1`, apiKey: KEY, maxRetries: 0 });

  const theirEvents: unknown[] = [];
  const theirs = sdk.responses.stream({ model: 'gpt-4o', input: 'Say something' });
  for await (const event of theirs) theirEvents.push(event);
  const theirFinal = await theirs.finalResponse();

  const ours = clientFor(server, { deployment: 'gpt-4o' }).responses.stream({ input: 'Say something' });
  const { items, error } = await drain(ours);
  assert.equal(error, undefined);
  const { response, end } = await ours.final();

  // Same route, same events in the same order.
  assert.equal(server.requests[0]?.path, server.requests[1]?.path);
  assert.deepEqual(JSON.parse(JSON.stringify(items)), JSON.parse(JSON.stringify(theirEvents)));
  // Same final text and output items (the SDK adds its `output_text` convenience, and its
  // parse helpers `parsed` / `parsed_arguments` fields, to what the server sent).
  assert.equal(outputText(response), theirFinal.output_text);
  assert.equal(theirFinal.output_text, script.texts.join(''));
  assert.deepEqual(plain(response.output), plain(theirFinal.output));
  assert.deepEqual(end, { state: 'completed' });
});

/** JSON without the SDK's own additions. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) => (key === 'parsed' || key === 'parsed_arguments' ? undefined : v)),
  );
}

test('openai responses.create() and Sluice read the same non-streaming response', async (t) => {
  const whole = responseObject(script);
  const server = await serve(t, { scenarios: { 'gpt-4o': reply(200, whole) } });
  const sdk = new OpenAI({ baseURL: `${server.url}/openai/v1`, apiKey: KEY, maxRetries: 0 });
  const theirs = await sdk.responses.create({ model: 'gpt-4o', input: 'x' });
  const ours = await clientFor(server, { deployment: 'gpt-4o' }).responses.create({ input: 'x' });
  assert.equal(outputText(ours), theirs.output_text);
  assert.deepEqual(JSON.parse(JSON.stringify(ours.output)), JSON.parse(JSON.stringify(theirs.output)));
});
