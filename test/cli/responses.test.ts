/**
 * `sluice chat --api responses`, the real binary against the test server's Responses route:
 * text deltas reach stdout as they arrive, `--json` writes the raw events, end states become
 * exit codes and one line on stderr, and flags the API has no field for are refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AzureServer, reply, startAzureServer, stream } from '../../src/testing/azure-server.js';
import { responseObject, responsesEvents } from '../../src/testing/responses-events.js';
import { assertBuilt, cleanEnv, run, start } from '../support/cli.js';

const KEY = 'test-key-5a4b3c2d1e0f';

let server: AzureServer;
let env: Record<string, string>;

before(async () => {
  assertBuilt();
  const story = responsesEvents({ texts: ['Once', ' upon', ' a time'] });
  const gate = story.findIndex((i) => 'event' in i && i.event.type === 'response.output_text.delta') + 1;
  server = await startAzureServer({
    apiKey: KEY,
    scenarios: {
      story: stream(story),
      gated: stream([...story.slice(0, gate), { wait: 'go' }, ...story.slice(gate)]),
      max: stream(responsesEvents({ texts: ['Once', ' upon'], end: { incomplete: 'max_output_tokens' } })),
      failed: stream(responsesEvents({ texts: ['half'], end: { failed: { code: 'server_error', message: 'boom' } } })),
      cut: stream(responsesEvents({ texts: ['Once'], end: 'none' })),
      whole: reply(200, responseObject({ texts: ['All', ' at once.'] })),
    },
  });
  env = cleanEnv({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_API_KEY: KEY, AZURE_OPENAI_DEPLOYMENT: 'story' });
});
after(() => server.close());

describe('sluice chat --api responses', () => {
  it('streams the text to stdout as it arrives, on the v1 responses route', async () => {
    const cli = start(['chat', '--api', 'responses', '--system', 'Be brief.', '--max-tokens', '50', 'Tell me'], {
      env: { ...env, AZURE_OPENAI_DEPLOYMENT: 'gated' },
    });
    await cli.waitFor('Once');
    assert.doesNotMatch(cli.stdout, /upon/);
    server.release('go');
    const done = await cli.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'Once upon a time');
    const req = server.requests.find((r) => r.deployment === 'gated');
    assert.equal(req?.path, '/openai/v1/responses');
    assert.deepEqual(
      [req?.body?.input, req?.body?.instructions, req?.body?.max_output_tokens, req?.body?.stream],
      ['Tell me', 'Be brief.', 50, true],
    );
  });

  it('--json writes every raw event, then the summary', async () => {
    const done = await run(['chat', '--api', 'responses', '--json', 'Tell me'], { env });
    assert.equal(done.code, 0, done.stderr);
    const lines = done.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; sequence_number?: number });
    assert.equal(lines[0]?.type, 'response.created');
    assert.equal(lines.at(-2)?.type, 'response.completed');
    assert.equal(lines.at(-1)?.type, 'summary');
    assert.equal(lines.filter((l) => l.type === 'response.output_text.delta').length, 3);
  });

  it('end states: a token limit says so (exit 0), failed and cut streams keep the text and fail', async () => {
    const max = await run(['chat', '--api', 'responses', 'x'], { env: { ...env, AZURE_OPENAI_DEPLOYMENT: 'max' } });
    assert.equal(max.stdout, 'Once upon');
    assert.equal(max.code, 0);
    assert.match(max.stderr, /token limit/);
    const failed = await run(['chat', '--api', 'responses', 'x'], {
      env: { ...env, AZURE_OPENAI_DEPLOYMENT: 'failed' },
    });
    assert.equal(failed.stdout, 'half');
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /server_error: boom/);
    const cut = await run(['chat', '--api', 'responses', 'x'], { env: { ...env, AZURE_OPENAI_DEPLOYMENT: 'cut' } });
    assert.equal(cut.stdout, 'Once');
    assert.equal(cut.code, 6);
    assert.match(cut.stderr, /incomplete/);
  });

  it('--no-stream prints the whole answer; flags the API lacks and bad values are refused', async () => {
    const whole = await run(['chat', '--api', 'responses', '--no-stream', 'x'], {
      env: { ...env, AZURE_OPENAI_DEPLOYMENT: 'whole' },
    });
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(whole.stdout, 'All at once.');
    const n = await run(['chat', '--api', 'responses', '-n', '2', 'x'], { env });
    assert.equal(n.code, 2);
    assert.match(n.stderr, /-n does not apply to --api responses/);
    const bad = await run(['chat', '--api', 'embeddings', 'x'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--api/);
  });
});
