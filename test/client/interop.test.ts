// Interop: the official `openai` SDK (6.49.0, AzureOpenAI) reads the test server's streams the
// same way Sluice does, so the server is a faithful stand-in for Azure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AzureOpenAI } from 'openai';
import { annotation, chatChunks, completionChunks, stream } from '../../src/testing/azure-server.js';
import { chatBody, clientFor, drain, KEY, serve } from '../support/client.js';

const usage = { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 };

test('AzureOpenAI and Sluice see the same chunks from the test server', async (t) => {
  const items = [
    ...chatChunks(['Ten', 'sion', ' rises'], { usage, done: false }),
    annotation({ check_offset: 0, start_offset: 0, end_offset: 12 }),
    { done: true as const },
  ];
  const server = await serve(t, {
    scenarios: { 'gpt-4o': stream(items), instruct: stream(completionChunks(['Once', ' upon'])) },
  });
  const sdk = new AzureOpenAI({ endpoint: server.url, apiKey: KEY, apiVersion: '2024-10-21', maxRetries: 0 });

  const theirs = [];
  for await (const chunk of await sdk.chat.completions.create({
    model: 'gpt-4o',
    ...chatBody,
    stream: true,
    stream_options: { include_usage: true },
  })) {
    theirs.push(chunk);
  }
  const ours = (await drain(clientFor(server, { deployment: 'gpt-4o' }).chat.stream(chatBody))).items;
  assert.equal(theirs.length, items.length - 1);
  assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(JSON.stringify(theirs)));

  // Both addressed the same route with the same credential header.
  const [sdkReq, ourReq] = server.requests;
  assert.equal(sdkReq?.path, ourReq?.path);
  assert.equal(sdkReq?.apiVersion, ourReq?.apiVersion);
  assert.equal(sdkReq?.headers['api-key'], KEY);

  const texts: string[] = [];
  for await (const c of await sdk.completions.create({ model: 'instruct', prompt: 'p', stream: true })) {
    texts.push(c.choices[0]?.text ?? '');
  }
  assert.equal(texts.join(''), 'Once upon');
});
