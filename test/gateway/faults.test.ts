// Every fault of the catalogue (src/testing/faults.ts) on the first of two upstream targets,
// the second healthy, through `sluice serve`'s server with a router backend: what the
// official openai SDK and Sluice's client get, and which target served (`x-sluice-target`).
// The table in docs/gateway.md ("Routing and failover") states these outcomes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chatChunks, stream } from '../../src/testing/azure-server.js';
import { type Fault, faultScenario } from '../../src/testing/faults.js';
import { ask, CLIENTS, type Outcome, startGateway } from '../support/gateway.js';

const HEALTHY = stream(chatChunks(['Served', ' by', ' B'], { id: 'chatcmpl-B' }));
const TIMEOUTS = { headersMs: 300, firstTokenMs: 400, idleMs: 300 };

interface Expected {
  status: number;
  /** Index of the target that answered. */
  target: 0 | 1;
  text: string;
  /** Code of the error frame / HTTP error body; undefined = a clean stream ending with [DONE]. */
  errorCode?: string;
  /** The faulty upstream saw its request closed by the gateway. */
  cancelled?: boolean;
  /** The reason the first attempt (target 0) reports. */
  reason: string;
}

const FAILED_OVER = { status: 200, target: 1, text: 'Served by B' } as const;

const CASES: Array<[Fault, Expected]> = [
  ['rate-limited', { ...FAILED_OVER, reason: 'rate-limited' }],
  ['server-error', { ...FAILED_OVER, reason: 'server-error' }],
  ['reset-before-headers', { ...FAILED_OVER, reason: 'connection' }],
  ['silent-before-headers', { ...FAILED_OVER, cancelled: true, reason: 'headers-timeout' }],
  ['slow-first-token', { ...FAILED_OVER, cancelled: true, reason: 'first-token-timeout' }],
  ['cut-mid-stream', { status: 200, target: 0, text: 'Once upon', errorCode: 'BadGateway', reason: 'cut' }],
  [
    'stall-mid-stream',
    { status: 200, target: 0, text: 'Once upon', errorCode: 'GatewayTimeout', cancelled: true, reason: 'stall' },
  ],
  ['malformed-chunk', { status: 200, target: 0, text: 'Once upon', errorCode: 'BadGateway', reason: 'malformed' }],
  ['missing-done', { status: 200, target: 0, text: 'Once upon a time', errorCode: 'BadGateway', reason: 'cut' }],
  ['error-frame', { status: 200, target: 0, text: 'Once upon', errorCode: 'server_error', reason: 'error-frame' }],
  ['content-filter-400', { status: 400, target: 0, text: '', errorCode: 'content_filter', reason: 'content-filter' }],
];

describe('each upstream fault, as the client sees it through the gateway', () => {
  for (const [fault, expected] of CASES) {
    for (const client of CLIENTS) {
      test(`${fault} (${client})`, async (t) => {
        const gw = await startGateway(t, [faultScenario(fault, { slowMs: 5_000, retryAfterMs: 2_000 }), HEALTHY], {
          timeouts: TIMEOUTS,
        });
        const outcome: Outcome = await ask(client, gw.url);
        assert.equal(outcome.status, expected.status, 'status');
        // Sluice's client keeps an error answer's status and body, not its headers: the SDK's run checks those.
        if (outcome.target !== undefined || client === 'openai') {
          assert.equal(outcome.target, gw.targets[expected.target]?.id, 'x-sluice-target');
        }
        assert.equal(outcome.text, expected.text, 'text (the partial, when the stream broke)');
        if (expected.errorCode === undefined) assert.equal(outcome.error, undefined, 'a clean end');
        else {
          assert.ok(outcome.error, 'the client learns the stream failed');
          if (client === 'sluice' || expected.status !== 200) assert.equal(outcome.errorCode, expected.errorCode);
        }
        const [faulty, healthy] = gw.upstreams;
        assert.equal(faulty?.requests.length, 1, 'the faulty target was asked once');
        assert.equal(healthy?.requests.length, expected.target === 1 ? 1 : 0, 'the healthy target only on failover');
        if (expected.cancelled) await faulty?.requests[0]?.disconnected;
        assert.equal(gw.attempts[0]?.reason, expected.reason, 'the attempt record says why');
        if (fault === 'rate-limited') {
          // Cooling down for the upstream's retry-after-ms (2 s), not retried at once.
          const until = gw.router.health.coolingUntil(gw.targets[0]?.id ?? '');
          assert.ok(until !== undefined && until - Date.now() > 1_500 && until - Date.now() <= 2_000);
        }
      });
    }
  }

  // Without an idle limit the client's iterator reads a committed attempt directly (the
  // router's fast path): the same faults must end the same way.
  for (const fault of ['cut-mid-stream', 'malformed-chunk', 'missing-done', 'error-frame'] as const) {
    test(`${fault}, no idle limit (sluice)`, async (t) => {
      const expected = CASES.find(([name]) => name === fault)?.[1] as Expected;
      const gw = await startGateway(t, [faultScenario(fault), HEALTHY], { timeouts: { headersMs: 300 } });
      const outcome = await ask('sluice', gw.url);
      assert.equal(outcome.target, gw.targets[0]?.id);
      assert.equal(outcome.text, expected.text);
      assert.equal(outcome.errorCode, expected.errorCode);
      assert.deepEqual(
        gw.attempts.map((r) => r.outcome),
        ['failed'],
      );
    });
  }

  test('flapping: every request is answered; after 2 failures the breaker takes the target out', async (t) => {
    const gw = await startGateway(t, [faultScenario('flapping'), HEALTHY], {
      breaker: { failures: 2, windowMs: 60_000, probeAfterMs: 60_000 },
    });
    const served: Array<string | null | undefined> = [];
    for (const client of [...CLIENTS, ...CLIENTS, ...CLIENTS]) {
      const outcome = await ask(client, gw.url);
      assert.equal(outcome.error, undefined);
      served.push(outcome.target);
    }
    const [a, b] = gw.targets.map((x) => x.id);
    // 1: A fails (500), B serves; 2: A's good turn; 3: A fails again, its breaker opens; then B only.
    assert.deepEqual(served, [b, a, b, b, b, b]);
    assert.equal(gw.upstreams[0]?.requests.length, 3);
    assert.deepEqual(gw.breakers, [[a, 'open']]);
  });
});
