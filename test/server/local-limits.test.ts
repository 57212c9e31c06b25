// The server on the real local model, at its limits: what the model cannot honour is refused
// (400 naming the parameter, in the route's dialect), an oversized max_tokens is refused with
// the limit instead of being cut, and a full pool and queue under load raise no
// MaxListenersExceededWarning (every request's listeners on shared signals are accounted for).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalBackend, type LocalBackend } from '../../src/backends/local/index.js';
import { azureUrl, post, start } from '../support/server.js';

let backend: LocalBackend;
let contextSize = 0;

before(async () => {
  backend = createLocalBackend({ sequences: 4, queueSize: 16 });
  contextSize = (await backend.load()).contextSize;
});
after(() => backend.close());

interface ErrorJson {
  error: { code: string | null; message: string; param: string | null; type?: string };
}

describe('local model: what it cannot honour is refused', () => {
  test('legacy functions, image and audio parts: 400 naming the parameter, both dialects', async (t) => {
    const { url } = await start(t, { backend });
    const message = { role: 'user', content: 'hi' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ functions: [{ name: 'weather', parameters: {} }] }, 'functions'],
      [{ function_call: 'auto' }, 'function_call'],
      [
        { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] }] },
        'messages[0].content[0].type',
      ],
      [
        {
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'what is this?' },
                { type: 'image_url', image_url: { url: 'data:,' } },
              ],
            },
          ],
        },
        'messages[0].content[1].type',
      ],
    ];
    for (const [extra, param] of cases) {
      const body = { messages: [message], max_tokens: 4, ...extra };
      const azure = await post(azureUrl(url, 'gpt-4o', 'chat'), body);
      assert.equal(azure.status, 400, param);
      const a = (await azure.json()) as ErrorJson;
      assert.equal(a.error.param, param);
      assert.equal(a.error.code, 'unsupported_parameter');
      const openai = await post(`${url}/v1/chat/completions`, { ...body, model: 'tiny' });
      assert.equal(openai.status, 400, param);
      const o = (await openai.json()) as ErrorJson;
      assert.deepEqual(Object.keys(o.error), ['message', 'type', 'param', 'code']);
      assert.equal(o.error.param, param);
    }
  });

  test('max_tokens above the context size: 400 naming max_tokens with the limit, not a cut answer', async (t) => {
    const { url } = await start(t, { backend });
    const res = await post(azureUrl(url, 'gpt-35-turbo-instruct', 'completions'), {
      prompt: 'Once upon a time',
      max_tokens: contextSize + 1,
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as ErrorJson;
    assert.equal(body.error.param, 'max_tokens');
    assert.match(body.error.message, new RegExp(`at most ${contextSize}`));
    const ok = await post(azureUrl(url, 'gpt-35-turbo-instruct', 'completions'), {
      prompt: 'Once upon a time',
      max_tokens: 3,
    });
    assert.equal(ok.status, 200);
    await ok.text();
  });
});

describe('local model under load', () => {
  test('a full pool and queue raise no MaxListenersExceededWarning', async (t) => {
    const { url } = await start(t, { backend });
    const warnings: string[] = [];
    const onWarning = (w: Error) => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(azureUrl(url, 'gpt-35-turbo-instruct', 'completions'), {
          prompt: 'Once upon a time',
          max_tokens: 8,
          seed: i,
          stream: i % 2 === 0,
        }).then(async (res) => [res.status, await res.text()] as const),
      ),
    );
    assert.deepEqual(
      answers.map(([status]) => status),
      answers.map(() => 200),
    );
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  });
});
