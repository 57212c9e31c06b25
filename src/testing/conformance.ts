/**
 * The contract every Backend must keep, as one suite each implementation runs (Hono's
 * common.case.test.ts pattern). Import it from a test file:
 *
 * ```ts
 * import { runBackendConformance } from 'sluice/testing';
 * runBackendConformance('remote', () => createRemoteBackend({ baseURL }));
 * ```
 *
 * The checks are also exported one by one (`conformanceChecks`) so a test can prove that
 * each of them fails on a backend that breaks its rule.
 * @module
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Backend, BackendRequest } from '../backend.js';
import type { AnyChunk, ApiKind } from '../types.js';

export interface ConformanceOptions {
  /** API kinds the backend serves. Default both. */
  kinds?: ApiKind[];
  /** A short request (a few chunks). Default: 8 tokens of a story. */
  shortRequest?(kind: ApiKind, includeUsage: boolean): BackendRequest;
  /** A request long enough to abort half-way. Default: 200 tokens. */
  longRequest?(kind: ApiKind): BackendRequest;
  /** How long an abort may take to end the iterator, in ms. Default 2000 (a hang, not a speed test). */
  abortWithinMs?: number;
  /** Chunks a backend may still deliver after an abort (already parsed). Default 0. */
  chunksAfterAbort?: number;
}

export interface ConformanceCheck {
  name: string;
  run(backend: Backend, options: ConformanceOptions): Promise<void>;
}

/** Default requests: plain bodies every OpenAI-compatible backend accepts. */
export function defaultShortRequest(kind: ApiKind, includeUsage: boolean): BackendRequest {
  const common = { max_tokens: 8, seed: 1, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) };
  return kind === 'chat'
    ? { kind, body: { messages: [{ role: 'user', content: 'Tell me a story.' }], ...common } }
    : { kind, body: { prompt: 'Once upon a time', ...common } };
}

export function defaultLongRequest(kind: ApiKind): BackendRequest {
  const request = defaultShortRequest(kind, false);
  return { ...request, body: { ...request.body, max_tokens: 200 } } as BackendRequest;
}

export const conformanceChecks: ConformanceCheck[] = [
  {
    name: 'chunks are well-shaped (id, object, created, model, choices with index and finish_reason)',
    async run(backend, options) {
      for (const kind of kindsOf(options)) {
        const chunks = await collect(backend, shortOf(options)(kind, false));
        assert.ok(chunks.length > 0, `${kind}: no chunks at all`);
        for (const chunk of chunks) assertChunkShape(kind, chunk);
      }
    },
  },
  {
    name: 'chat: the first chunk of each choice carries the assistant role',
    async run(backend, options) {
      if (!kindsOf(options).includes('chat')) return;
      const chunks = await collect(backend, shortOf(options)('chat', false));
      const seen = new Set<number>();
      for (const chunk of chunks) {
        for (const choice of chunk.choices) {
          const delta = choice.delta as { role?: string } | undefined;
          if (!delta || seen.has(choice.index as number)) continue;
          seen.add(choice.index as number);
          assert.equal(delta.role, 'assistant', `choice ${choice.index}: first delta has no assistant role`);
        }
      }
      assert.ok(seen.size > 0, 'no choice had a delta');
    },
  },
  {
    name: 'every choice finishes exactly once, and nothing follows its finish',
    async run(backend, options) {
      for (const kind of kindsOf(options)) {
        const chunks = await collect(backend, shortOf(options)(kind, false));
        const finished = new Map<number, number>();
        for (const chunk of chunks) {
          for (const choice of chunk.choices) {
            const index = choice.index as number;
            const text = textOf(choice);
            // Azure annotation choices (no delta, no text) may arrive after the finish.
            if (finished.has(index) && text !== undefined) {
              assert.fail(`${kind}: choice ${index} got content after its finish_reason`);
            }
            if (choice.finish_reason) finished.set(index, (finished.get(index) ?? 0) + 1);
          }
        }
        assert.ok(finished.size > 0, `${kind}: no choice finished`);
        for (const [index, count] of finished)
          assert.equal(count, 1, `${kind}: choice ${index} finished ${count} times`);
        const indexes = new Set(chunks.flatMap((c) => c.choices.map((ch) => ch.index as number)));
        for (const index of indexes) assert.ok(finished.has(index), `${kind}: choice ${index} never finished`);
      }
    },
  },
  {
    name: 'text arrives in content chunks',
    async run(backend, options) {
      for (const kind of kindsOf(options)) {
        const chunks = await collect(backend, shortOf(options)(kind, false));
        const text = chunks.flatMap((c) => c.choices.map((ch) => textOf(ch) ?? '')).join('');
        assert.ok(text.length > 0, `${kind}: no text`);
      }
    },
  },
  {
    name: 'a usage chunk only when stream_options.include_usage, last, with consistent totals',
    async run(backend, options) {
      for (const kind of kindsOf(options)) {
        const without = await collect(backend, shortOf(options)(kind, false));
        assert.ok(
          without.every((c) => c.usage === undefined || c.usage === null),
          `${kind}: usage sent without being asked`,
        );
        const withUsage = await collect(backend, shortOf(options)(kind, true));
        const usageChunks = withUsage.filter((c) => c.usage);
        assert.equal(usageChunks.length, 1, `${kind}: expected one usage chunk, got ${usageChunks.length}`);
        const last = withUsage.at(-1);
        assert.equal(last, usageChunks[0], `${kind}: the usage chunk is not the last chunk`);
        assert.deepEqual(last?.choices, [], `${kind}: the usage chunk has choices`);
        const usage = last?.usage;
        assert.ok(usage && Number.isInteger(usage.prompt_tokens) && usage.prompt_tokens > 0, 'prompt_tokens');
        assert.ok(Number.isInteger(usage.completion_tokens) && usage.completion_tokens > 0, 'completion_tokens');
        assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens, 'total_tokens');
      }
    },
  },
  {
    name: 'aborting mid-stream ends the iterator with AbortError, promptly',
    async run(backend, options) {
      const within = options.abortWithinMs ?? 2000;
      const allowed = options.chunksAfterAbort ?? 0;
      for (const kind of kindsOf(options)) {
        const ac = new AbortController();
        let afterAbort = 0;
        let abortedAt = 0;
        const reason = new Error('conformance: client went away');
        const iterate = (async () => {
          let text = 0;
          for await (const chunk of backend.stream(longOf(options)(kind), ac.signal)) {
            if (ac.signal.aborted) afterAbort++;
            if (chunk.choices.some((c) => textOf(c))) text++;
            if (text === 2 && !ac.signal.aborted) {
              abortedAt = performance.now();
              ac.abort(reason);
            }
          }
        })();
        const outcome = await settleWithin(iterate, within + 100);
        if (outcome === 'pending') assert.fail(`${kind}: the iterator was still running ${within} ms after the abort`);
        assert.ok(abortedAt > 0, `${kind}: the stream ended before a second text chunk`);
        if (outcome === 'fulfilled') assert.fail(`${kind}: the iterator ended normally after an abort`);
        assert.equal(
          outcome.error?.code,
          'SLUICE_ABORTED',
          `${kind}: threw ${String(outcome.error)} instead of AbortError`,
        );
        assert.ok(performance.now() - abortedAt < within, `${kind}: the abort took over ${within} ms`);
        assert.ok(afterAbort <= allowed, `${kind}: ${afterAbort} chunks arrived after the abort`);
      }
    },
  },
  {
    name: 'an already-aborted signal yields no chunk and throws AbortError',
    async run(backend, options) {
      for (const kind of kindsOf(options)) {
        let chunks = 0;
        await assert.rejects(
          (async () => {
            for await (const _ of backend.stream(shortOf(options)(kind, false), AbortSignal.abort())) chunks++;
          })(),
          (e: unknown) => (e as { code?: string }).code === 'SLUICE_ABORTED',
        );
        assert.equal(chunks, 0, `${kind}: chunks from an aborted request`);
      }
    },
  },
  {
    name: 'a reader may stop early; the backend serves the next request normally',
    async run(backend, options) {
      for (const kind of kindsOf(options)) {
        for await (const _ of backend.stream(longOf(options)(kind), new AbortController().signal)) break;
        const chunks = await collect(backend, shortOf(options)(kind, false));
        assert.ok(
          chunks.some((c) => c.choices.some((ch) => ch.finish_reason)),
          `${kind}: the request after an early stop did not finish`,
        );
      }
    },
  },
];

/**
 * Registers the conformance suite (node:test) for one backend. `makeBackend` is called once;
 * the backend is closed after the suite.
 *
 * @example
 * ```ts
 * runBackendConformance('scripted', () => createScriptedBackend((req) => textScript(req.kind, 'a b c d e')));
 * ```
 */
export function runBackendConformance(
  name: string,
  makeBackend: () => Backend | Promise<Backend>,
  options: ConformanceOptions = {},
): void {
  describe(`backend conformance: ${name}`, () => {
    let backend: Promise<Backend> | undefined;
    const get = () => {
      backend ??= Promise.resolve(makeBackend());
      return backend;
    };
    after(async () => {
      if (backend) await (await backend).close?.();
    });
    for (const check of conformanceChecks) test(check.name, async () => check.run(await get(), options));
  });
}

// --- internal ---

const kindsOf = (o: ConformanceOptions): ApiKind[] => o.kinds ?? ['chat', 'completions'];
const shortOf = (o: ConformanceOptions) => o.shortRequest ?? defaultShortRequest;
const longOf = (o: ConformanceOptions) => o.longRequest ?? defaultLongRequest;

async function collect(backend: Backend, request: BackendRequest): Promise<AnyChunk[]> {
  const chunks: AnyChunk[] = [];
  for await (const chunk of backend.stream(request, new AbortController().signal)) chunks.push(chunk);
  return chunks;
}

/** A choice's text: delta.content (chat) or text (completions); undefined for annotation choices. */
function textOf(choice: AnyChunk['choices'][number]): string | undefined {
  const delta = choice.delta as { content?: string | null } | undefined;
  if (delta) return delta.content ?? '';
  return typeof choice.text === 'string' ? choice.text : undefined;
}

function assertChunkShape(kind: ApiKind, chunk: AnyChunk): void {
  const expected = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  assert.equal(typeof chunk, 'object');
  assert.ok(Array.isArray(chunk.choices), 'choices must be an array');
  // Azure's prompt-filter and annotation chunks have object "" and an empty id.
  const annotationOnly = chunk.choices.every((c) => textOf(c) === undefined && !c.finish_reason);
  if (!(chunk.object === '' && annotationOnly)) {
    assert.equal(chunk.object, expected, `object ${JSON.stringify(chunk.object)}`);
    assert.ok(typeof chunk.id === 'string' && chunk.id.length > 0, 'id');
    assert.ok(Number.isInteger(chunk.created) && chunk.created > 0, 'created');
    assert.ok(typeof chunk.model === 'string', 'model');
  }
  for (const choice of chunk.choices) {
    assert.ok(Number.isInteger(choice.index) && (choice.index as number) >= 0, 'choice.index');
    assert.ok(choice.finish_reason === null || typeof choice.finish_reason === 'string', 'finish_reason');
    if (kind === 'chat' && choice.delta !== undefined) assert.equal(typeof choice.delta, 'object', 'delta');
    if (kind === 'completions' && choice.text !== undefined) assert.equal(typeof choice.text, 'string', 'text');
  }
}

type Outcome = 'fulfilled' | 'pending' | { error: { code?: string } | undefined };

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => 'fulfilled' as const,
        (error: unknown) => ({ error: error as { code?: string } }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
