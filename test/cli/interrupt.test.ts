/**
 * Ctrl-C (SIGINT) while an answer streams: the request is cancelled (the server sees the
 * connection close), what arrived stays on stdout, and the exit code is 130.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AzureServer, completionChunks, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, start } from '../support/cli.js';

let server: AzureServer;

before(async () => {
  assertBuilt();
  server = await startAzureServer({
    scenarios: {
      // Never finishes on its own: the gate is never opened.
      endless: stream([
        ...completionChunks(['Kept', ' so far'], { done: false, finishReason: null }),
        { wait: 'never' },
      ]),
    },
  });
});
after(() => server.close());

describe('Ctrl-C while streaming', { timeout: 60_000 }, () => {
  for (const flags of [[], ['--json']]) {
    it(`cancels the request, keeps the partial text, exits 130 ${flags.join(' ')}`, async () => {
      const from = server.requests.length;
      const cli = start([...flags, 'x'], {
        env: cleanEnv({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_DEPLOYMENT: 'endless' }),
      });
      await cli.waitFor(flags.length ? '" so far"' : 'Kept so far');
      const request = server.requests[from];
      assert.ok(request);
      assert.equal(request.clientLeft, false, 'still streaming before Ctrl-C');
      cli.child.kill('SIGINT');
      await request.disconnected; // the server saw the connection close: the request was cancelled
      const done = await cli.done;
      assert.equal(done.code, 130);
      assert.equal(done.signal, null, 'exited by itself, not killed by the signal');
      if (flags.length === 0) assert.equal(done.stdout, 'Kept so far');
      else {
        const summary = JSON.parse(done.stdout.trimEnd().split('\n').at(-1) ?? '') as { end: unknown };
        assert.deepEqual(summary.end, { state: 'aborted' });
      }
      assert.equal(done.stderr, 'sluice: interrupted; what arrived was kept.\n');
    });
  }
});
