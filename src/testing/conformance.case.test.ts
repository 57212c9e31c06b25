// The conformance suite itself, tested: every check must fail on a backend that breaks its
// rule (a check that cannot fail proves nothing), and pass on one that keeps it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, BackendRequest } from '../backend.js';
import { createScriptedBackend, type ScriptStep, textScript } from '../backends/scripted/index.js';
import type { AnyChunk, ApiKind, ApiTypes } from '../types.js';
import { type ConformanceCheck, type ConformanceOptions, conformanceChecks } from './conformance.js';

const story = 'Once upon a time there was a little cat who liked to sit in the sun.';
const options: ConformanceOptions = { abortWithinMs: 300 };

function check(namePart: string): ConformanceCheck {
  const found = conformanceChecks.find((c) => c.name.includes(namePart));
  assert.ok(found, namePart);
  return found;
}

/** A scripted backend whose script for each request is the good one, edited. */
function edited(edit: (steps: ScriptStep[], kind: ApiKind) => ScriptStep[]): Backend {
  return createScriptedBackend((request) => edit(textScript(request.kind, story, { delayMs: 1 }), request.kind));
}

/** A backend that never looks at its signal. */
const deaf: Backend = {
  name: 'deaf',
  stream<K extends ApiKind>(request: BackendRequest<K>): AsyncIterable<ApiTypes[K]['chunk']> {
    return (async function* () {
      for (const step of textScript(request.kind, story)) {
        if (!('chunk' in step) || step.ifUsageRequested) continue;
        await new Promise((r) => setTimeout(r, 1));
        yield step.chunk as ApiTypes[K]['chunk'];
      }
    })();
  },
};

const isChunk = (s: ScriptStep): s is { chunk: AnyChunk } => 'chunk' in s;

describe('conformance checks fail on broken backends', () => {
  test('the good scripted backend passes every check', async () => {
    const good = edited((s) => s);
    for (const c of conformanceChecks) await c.run(good, options);
  });

  test('shape: a wrong object type is caught', async () => {
    const broken = edited((steps) =>
      steps.map((s) =>
        isChunk(s) ? { ...s, chunk: { ...s.chunk, object: 'chat.completion' } as unknown as AnyChunk } : s,
      ),
    );
    await assert.rejects(check('well-shaped').run(broken, options), /object/);
  });

  test('shape: a missing id is caught', async () => {
    const broken = edited((steps) => steps.map((s) => (isChunk(s) ? { ...s, chunk: { ...s.chunk, id: '' } } : s)));
    await assert.rejects(check('well-shaped').run(broken, options), /id/);
  });

  test('role: chat without a role chunk is caught', async () => {
    const broken = edited((steps, kind) =>
      kind === 'chat'
        ? steps.filter((s) => !(isChunk(s) && (s.chunk.choices[0]?.delta as { role?: string } | undefined)?.role))
        : steps,
    );
    await assert.rejects(check('assistant role').run(broken, options), /assistant role/);
  });

  test('finish: a choice finishing twice is caught', async () => {
    const broken = edited((steps) => {
      const finish = steps.find((s) => isChunk(s) && s.chunk.choices[0]?.finish_reason);
      return finish ? [...steps, finish] : steps;
    });
    await assert.rejects(check('finishes exactly once').run(broken, options), /finish/);
  });

  test('finish: content after the finish is caught', async () => {
    const broken = edited((steps) => {
      const content = steps.filter(isChunk)[2];
      return content ? [...steps.filter((s) => !(isChunk(s) && s.ifUsageRequested)), content] : steps;
    });
    await assert.rejects(check('finishes exactly once').run(broken, options), /after its finish_reason/);
  });

  test('finish: a choice that never finishes is caught', async () => {
    const broken = edited((steps) => steps.filter((s) => !(isChunk(s) && s.chunk.choices[0]?.finish_reason)));
    await assert.rejects(check('finishes exactly once').run(broken, options), /finish/);
  });

  test('text: a stream without text is caught', async () => {
    const broken = edited((steps) =>
      steps.filter(
        (s) =>
          !isChunk(s) ||
          s.chunk.choices[0]?.finish_reason ||
          (s.chunk.choices[0]?.delta as { role?: string } | undefined)?.role,
      ),
    );
    await assert.rejects(check('text arrives').run(broken, options), /no text/);
  });

  test('usage: a usage chunk nobody asked for is caught', async () => {
    const broken = createScriptedBackend((r) => textScript(r.kind, story, { usage: 'always' }));
    await assert.rejects(check('usage chunk').run(broken, options), /without being asked/);
  });

  test('usage: a missing usage chunk is caught', async () => {
    const broken = createScriptedBackend((r) => textScript(r.kind, story, { usage: 'never' }));
    await assert.rejects(check('usage chunk').run(broken, options), /one usage chunk/);
  });

  test('usage: inconsistent totals are caught', async () => {
    const broken = edited((steps) =>
      steps.map((s) =>
        isChunk(s) && s.chunk.usage ? { ...s, chunk: { ...s.chunk, usage: { ...s.chunk.usage, total_tokens: 1 } } } : s,
      ),
    );
    await assert.rejects(check('usage chunk').run(broken, options), /total_tokens/);
  });

  test('abort: a backend that ignores its signal is caught', async () => {
    await assert.rejects(check('aborting mid-stream').run(deaf, options), /after an abort|after the abort/);
  });

  test('abort: a backend that hangs after an abort is caught', async () => {
    // It stops yielding but never throws: the iterator hangs.
    const hanging: Backend = {
      name: 'hanging',
      stream<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): AsyncIterable<ApiTypes[K]['chunk']> {
        return (async function* () {
          for (const step of textScript(request.kind, story)) {
            if (!('chunk' in step) || step.ifUsageRequested) continue;
            if (signal.aborted) await new Promise(() => {});
            yield step.chunk as ApiTypes[K]['chunk'];
          }
        })();
      },
    };
    await assert.rejects(check('aborting mid-stream').run(hanging, options), /still running/);
  });

  test('abort: the wrong error type is caught', async () => {
    const wrongError: Backend = {
      name: 'wrong-error',
      stream<K extends ApiKind>(request: BackendRequest<K>, signal: AbortSignal): AsyncIterable<ApiTypes[K]['chunk']> {
        return (async function* () {
          for (const step of textScript(request.kind, story)) {
            if (!('chunk' in step) || step.ifUsageRequested) continue;
            if (signal.aborted) throw new Error('plain error');
            yield step.chunk as ApiTypes[K]['chunk'];
          }
        })();
      },
    };
    await assert.rejects(check('aborting mid-stream').run(wrongError, options), /instead of AbortError/);
  });

  test('already aborted: a backend that streams anyway is caught', async () => {
    await assert.rejects(check('already-aborted').run(deaf, options));
  });

  test('early stop: a backend that breaks after a reader leaves is caught', async () => {
    let calls = 0;
    const fragile = createScriptedBackend((r) =>
      ++calls > 1 ? [{ error: new Error('stuck') }] : textScript(r.kind, story),
    );
    await assert.rejects(check('stop early').run(fragile, options), /stuck/);
  });
});
