// One relay, one rule: the server's SSE writer and ResponseStream.toSSE end a failed stream
// the same way (one error frame, no [DONE]), and that frame carries the same body as the
// HTTP answer the server gives when the same error comes before the first chunk.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { ServerError, StreamTruncatedError } from '../../src/errors.js';
import { streamFromBackend } from '../../src/index.js';
import { iterateSse } from '../../src/sse/index.js';
import { allFrames, azureUrl, post, start } from '../support/server.js';

const chatBody = { messages: [{ role: 'user' as const, content: 'hi' }] };
const failures = () => [
  new StreamTruncatedError('no-done', 'The upstream stream ended without [DONE]'),
  new ServerError('upstream broke', { status: 500, body: { error: { code: 'server_error', message: 'broke' } } }),
];

/** The chat script without its last step, then `error`: a stream that fails after text. */
function failingAfterText(error: unknown) {
  const steps = textScript('chat', 'Once upon a time');
  return [...steps.slice(0, 3), { error }];
}

describe('one relay rule for the server and toSSE', () => {
  test('a failure after text: toSSE and the server both end with one error frame, the same body, no [DONE]', async (t) => {
    for (const error of failures()) {
      const backend = createScriptedBackend(failingAfterText(error));
      const viaToSse: string[] = [];
      for await (const e of iterateSse(streamFromBackend(backend, { kind: 'chat', body: chatBody }).toSSE())) {
        viaToSse.push(e.data);
      }
      assert.notEqual(viaToSse.at(-1), '[DONE]', error.name);
      const frameBody = JSON.parse(viaToSse.at(-1)!) as { error: unknown };
      assert.ok(frameBody.error, `${error.name}: toSSE ends with an error frame`);

      const { url } = await start(t, { backend: createScriptedBackend(failingAfterText(error)) });
      const frames = await allFrames(await post(azureUrl(url, 'd', 'chat'), { ...chatBody, stream: true }));
      assert.notEqual(frames.at(-1), 'data: [DONE]');
      assert.deepEqual(JSON.parse(frames.at(-1)!.slice(6)), frameBody, error.name);
    }
  });

  test('the stream error frame is the HTTP error body for the same error, in each dialect', async (t) => {
    for (const error of failures()) {
      for (const route of ['azure', 'openai'] as const) {
        const { url } = await start(t, { backend: createScriptedBackend([{ error }]) });
        const target = route === 'azure' ? azureUrl(url, 'd', 'chat') : `${url}/v1/chat/completions`;
        const body = route === 'azure' ? chatBody : { ...chatBody, model: 'd' };
        const before = await post(target, { ...body, stream: true });
        const httpBody = await before.json();

        const late = await start(t, { backend: createScriptedBackend(failingAfterText(error)) });
        const lateTarget = route === 'azure' ? azureUrl(late.url, 'd', 'chat') : `${late.url}/v1/chat/completions`;
        const frames = await allFrames(await post(lateTarget, { ...body, stream: true }));
        assert.deepEqual(JSON.parse(frames.at(-1)!.slice(6)), httpBody, `${error.name} on ${route}`);
      }
    }
  });
});
