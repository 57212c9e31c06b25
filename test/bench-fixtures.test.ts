// The benchmark's input is itself tested: deterministic, Azure-shaped, and decoded by an
// independent parser (eventsource-parser) to exactly the payloads the generator reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import {
  azureNetworkChunks,
  buildCorpus,
  contentLengthOf,
  createRng,
  generateAzureStream,
  splitIntoChunks,
} from '../bench/fixtures.js';

const SMALL = { seed: 42, targetBytes: 400_000 };

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function independentlyDecoded(bytes: Uint8Array): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (e) => data.push(e.data) });
  parser.feed(new TextDecoder().decode(bytes));
  return data;
}

describe('bench fixtures', () => {
  it('generates the same bytes and chunking for the same seed, and different ones for another', () => {
    const a = buildCorpus(SMALL);
    const b = buildCorpus(SMALL);
    const c = buildCorpus({ ...SMALL, seed: 43 });
    assert.deepEqual(a.responses, b.responses);
    assert.notDeepEqual(a.responses[0]?.chunks, c.responses[0]?.chunks);
  });

  it('reaches the target size and cuts every response into 1-16 KiB network chunks', () => {
    const corpus = buildCorpus(SMALL);
    assert.ok(corpus.expected.bytes >= SMALL.targetBytes);
    assert.ok(corpus.responses.length > 1);
    let total = 0;
    for (const { chunks } of corpus.responses) {
      chunks.forEach((c, i) => {
        total += c.length;
        assert.ok(c.length <= 16384);
        if (i < chunks.length - 1) assert.ok(c.length >= 1024, 'only the last chunk of a response may be shorter');
      });
    }
    assert.equal(total, corpus.expected.bytes);
  });

  it('cuts anywhere, even inside a multi-byte character, as networks do', () => {
    const bytes = new TextEncoder().encode('日本語🙂'.repeat(50));
    const chunks = splitIntoChunks(bytes, createRng(1), 1, 5);
    assert.deepEqual(concat(chunks), bytes);
    const isContinuation = (b: number | undefined) => b !== undefined && b >= 0x80 && b < 0xc0;
    assert.ok(chunks.some((c) => isContinuation(c[0])));
  });

  it('decodes, with an independent parser, to exactly the reported payloads and one [DONE] per response', () => {
    const corpus = buildCorpus(SMALL);
    for (const r of corpus.responses) {
      assert.deepEqual(independentlyDecoded(concat(r.chunks)), [...r.payloads, '[DONE]']);
    }
    const payloads = corpus.responses.flatMap((r) => r.payloads);
    assert.equal(corpus.expected.streams, corpus.responses.length);
    assert.equal(corpus.expected.chunks, payloads.length);
    assert.equal(corpus.expected.dones, corpus.expected.streams);
    const checksum = payloads.reduce((n, p) => n + contentLengthOf(JSON.parse(p)), 0);
    assert.equal(checksum, corpus.expected.contentLength);
  });

  it('follows the Azure chat sequence: prompt filter, role, content with four severity categories, finish, usage, [DONE]', () => {
    const stream = generateAzureStream(createRng(7));
    const chunks = stream.payloads.map((p) => JSON.parse(p));
    const [promptFilter, role, ...rest] = chunks;
    const usage = rest.pop();
    const finish = rest.pop();
    assert.deepEqual(promptFilter.choices, []);
    assert.equal(promptFilter.id, '');
    assert.deepEqual(Object.keys(promptFilter.prompt_filter_results[0].content_filter_results).sort(), [
      'hate',
      'jailbreak',
      'self_harm',
      'sexual',
      'violence',
    ]);
    assert.equal(role.choices[0].delta.role, 'assistant');
    assert.match(role.id, /^chatcmpl-/);
    assert.ok(rest.length >= 20);
    for (const c of rest) {
      assert.equal(typeof c.choices[0].delta.content, 'string');
      assert.equal(c.choices[0].finish_reason, null);
      assert.deepEqual(Object.keys(c.choices[0].content_filter_results).sort(), [
        'hate',
        'self_harm',
        'sexual',
        'violence',
      ]);
      assert.equal(c.choices[0].content_filter_results.hate.severity, 'safe');
    }
    assert.ok(['stop', 'length'].includes(finish.choices[0].finish_reason));
    assert.deepEqual(finish.choices[0].delta, {});
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + usage.usage.completion_tokens);
    assert.ok(stream.text.endsWith('data: [DONE]\n\n'));
  });

  it('streams lazily the same bytes and totals as the responses back to back', () => {
    const corpus = buildCorpus(SMALL);
    const lazy: Uint8Array[] = [];
    const it = azureNetworkChunks(SMALL);
    let r = it.next();
    while (!r.done) {
      assert.ok(r.value.length <= 16384);
      lazy.push(r.value);
      r = it.next();
    }
    assert.deepEqual(r.value, corpus.expected);
    assert.deepEqual(concat(lazy), concat(corpus.responses.flatMap((r) => r.chunks)));
  });
});
