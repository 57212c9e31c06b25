import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TimeoutError } from '../errors.js';
import { send } from './http.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';

const plan = { url: 'http://127.0.0.1:9/chat', body: '{}', headers: {}, auth: () => ({}) };
const policy = { ...DEFAULT_RETRY_POLICY, maxRetries: 0 };

/** A fetch that records the signal it was given and never answers until that signal aborts. */
function hangingFetch(seen: AbortSignal[]): typeof fetch {
  return ((_url: string, init: RequestInit) =>
    new Promise((_resolve, reject) => {
      const signal = init.signal as AbortSignal;
      seen.push(signal);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    })) as typeof fetch;
}

describe('send(): the headers limit of an attempt', () => {
  test('untimed (headersMs 0), the attempt uses the caller’s signal itself: no signal of its own per request', async () => {
    const seen: AbortSignal[] = [];
    const caller = new AbortController();
    const sent = send(plan, { fetch: hangingFetch(seen), signal: caller.signal, headersMs: 0, policy });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(seen[0], caller.signal);
    caller.abort(new Error('stop'));
    await assert.rejects(sent, { code: 'SLUICE_ABORTED' });
  });

  test('timed, the attempt has its own signal, aborted by the time-out with TimeoutError(headers)', async () => {
    const seen: AbortSignal[] = [];
    const caller = new AbortController();
    const sent = send(plan, { fetch: hangingFetch(seen), signal: caller.signal, headersMs: 30, policy });
    await assert.rejects(sent, (err: unknown) => err instanceof TimeoutError && err.phase === 'headers');
    assert.notEqual(seen[0], caller.signal);
    assert.equal(caller.signal.aborted, false);
  });
});
