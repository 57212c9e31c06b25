// A model WITH a chat template uses it. The tiny model has none, so the test gives a copy of
// it a ChatML template (only the GGUF header changes) and checks that chat prompts are
// rendered with it instead of the plain transcript.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyWithMetadata } from '../../../test/support/gguf-metadata.js';
import type { ChatCompletionChunk } from '../../types.js';
import { transcriptPrompt } from './chat-prompt.js';
import { createLocalBackend, DEFAULT_MODEL_PATH, type LocalBackend } from './local-backend.js';

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

describe('local backend: a model with a chat template', () => {
  let dir: string;
  let templated: LocalBackend;
  let plain: LocalBackend;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-chatml-'));
    const path = join(dir, 'chatml.gguf');
    await copyWithMetadata(DEFAULT_MODEL_PATH, path, { 'tokenizer.chat_template': CHATML });
    templated = createLocalBackend({ modelPath: path, sequences: 1 });
    plain = createLocalBackend({ sequences: 1 });
  });
  after(async () => {
    await templated.close();
    await plain.close();
    await rm(dir, { recursive: true });
  });

  test('load() reports the template; the plain model reports none', async () => {
    assert.equal((await templated.load()).chatTemplate, true);
    assert.equal((await plain.load()).chatTemplate, false);
  });

  test('the chat prompt is the ChatML rendering, not the transcript', async () => {
    const messages = [
      { role: 'system' as const, content: 'Be nice.' },
      { role: 'user' as const, content: 'Hi' },
    ];
    let usage: ChatCompletionChunk['usage'];
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of templated.stream(
      { kind: 'chat', body: { messages, max_tokens: 10, seed: 1, stream_options: { include_usage: true } } },
      new AbortController().signal,
    )) {
      chunks.push(c);
      if (c.usage) usage = c.usage;
    }
    // BOS, then each piece of the rendering: special-token text and message text are
    // tokenized separately (so user text can never become a control token).
    const pieces = [
      '<|im_start|>system\n',
      'Be nice.',
      '<|im_end|>\n<|im_start|>user\n',
      'Hi',
      '<|im_end|>\n<|im_start|>assistant\n',
    ];
    let expected = 1;
    for (const piece of pieces) expected += await templated.countTokens(piece);
    assert.equal(usage?.prompt_tokens, expected);
    const transcript = transcriptPrompt(messages.map((m) => ({ role: m.role, text: m.content })));
    assert.notEqual(usage?.prompt_tokens, (await templated.countTokens(transcript)) + 1);
    // Same seam contract as ever: role chunk first, one finish.
    assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
  });

  test('completions ignore the template: the prompt is sent as is', async () => {
    let usage: ChatCompletionChunk['usage'];
    for await (const c of templated.stream(
      {
        kind: 'completions',
        body: { prompt: 'Once upon a time', max_tokens: 3, stream_options: { include_usage: true } },
      },
      new AbortController().signal,
    )) {
      if (c.usage) usage = c.usage;
    }
    assert.equal(usage?.prompt_tokens, (await templated.countTokens('Once upon a time')) + 1);
  });
});
