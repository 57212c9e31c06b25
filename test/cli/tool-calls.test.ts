/**
 * The real binary against an Azure-shaped test server that answers with a tool call: the
 * CLI shows it as one readable line on stderr (stdout keeps the answer's text), `--json`
 * keeps the chunks raw, `--no-stream` shows the same line.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chunkBuilder } from '../../src/protocol/chunks.js';
import { type AzureServer, reply, type StreamItem, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, run } from '../support/cli.js';

const KEY = 'test-key-1a2b3c4d5e6f';

/** A tool call streamed as OpenAI does; the name carries an escape sequence a hostile upstream might send. */
function toolCallChunks(name: string): unknown[] {
  const b = chunkBuilder('chat', { id: 'chatcmpl-t', created: 1, model: 'gpt-4o' });
  return [
    b.role(0),
    b.toolCall(0, 0, 'call_1', name),
    b.toolArguments(0, 0, '{ "city": '),
    b.toolArguments(0, 0, '"Paris" }'),
    b.finish(0, 'tool_calls'),
  ];
}

let server: AzureServer;
let env: Record<string, string>;
const chunks = toolCallChunks('get_weather');

before(async () => {
  assertBuilt();
  const items: StreamItem[] = [...chunks.map((chunk) => ({ chunk })), { done: true }];
  server = await startAzureServer({
    apiKey: KEY,
    scenarios: {
      tools: stream(items),
      hostile: stream([...toolCallChunks('evil\u001b[2J\nname').map((chunk) => ({ chunk })), { done: true }]),
      whole: reply(200, {
        id: 'chatcmpl-w',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            logprobs: null,
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
              ],
            },
          },
        ],
      }),
    },
  });
  env = cleanEnv({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_API_KEY: KEY });
});
after(() => server.close());

describe('sluice chat: tool calls', { timeout: 60_000 }, () => {
  it('a streamed tool call is one readable line on stderr; stdout stays the text (none here)', async () => {
    const done = await run(['chat', '--deployment', 'tools', 'weather?'], { env });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, '');
    assert.match(done.stderr, /^⚙ get_weather\(\{"city":"Paris"\}\)$/m);
  });

  it('--json keeps every chunk raw, tool-call deltas included, and prints no readable line', async () => {
    const done = await run(['chat', '--json', '--deployment', 'tools', 'weather?'], { env });
    assert.equal(done.code, 0, done.stderr);
    const lines = done.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines.slice(0, chunks.length), chunks);
    assert.doesNotMatch(done.stdout + done.stderr, /⚙/);
  });

  it('--no-stream shows the call the same way', async () => {
    const done = await run(['chat', '--no-stream', '--deployment', 'whole', 'weather?'], { env });
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /^⚙ get_weather\(\{"city":"Rome"\}\)$/m);
  });

  it('control characters in a name never reach the terminal', async () => {
    const done = await run(['chat', '--deployment', 'hostile', 'x'], { env });
    assert.equal(done.code, 0, done.stderr);
    assert.doesNotMatch(done.stderr, /\u001b/);
    assert.match(done.stderr, /⚙ evil\[2J name\(/);
  });
});
