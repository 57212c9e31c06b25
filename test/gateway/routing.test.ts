// Routing over time and across requests, through `sluice serve`'s server with a router
// backend over upstream test servers on 127.0.0.1: a client hang-up cancels the upstream
// attempt, a cooldown ends when its time is up, an open breaker is probed back in, every
// target rate-limited answers 429 with the soonest retry, non-streaming requests fail over too.
import assert from 'node:assert/strict';
import { type IncomingMessage, request } from 'node:http';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { AzureOpenAI } from 'openai';
import { createClient } from '../../src/client/client.js';
import { RateLimitError } from '../../src/errors.js';
import { chatChunks, type Reply, stream } from '../../src/testing/azure-server.js';
import { type Fault, type FaultOptions, faultScenario } from '../../src/testing/faults.js';
import { API_VERSION, ASK, ask, CLIENTS, MODEL, startGateway } from '../support/gateway.js';
import { azureUrl, metrics } from '../support/server.js';

/** A fault as one reply (every fault but flapping is one). */
const fault = (name: Fault, options?: FaultOptions) => faultScenario(name, options) as Reply;
const ok = (who: string) => stream(chatChunks([who, ' answers'], { id: `chatcmpl-${who}` }));

describe('routing through the gateway', () => {
  for (const client of CLIENTS) {
    test(`a client hang-up cancels the upstream attempt at once (${client})`, async (t) => {
      const gw = await startGateway(t, [
        stream([...chatChunks(['Once', ' upon', ' a', ' time']).slice(0, 3), { wait: 'never' }]),
      ]);
      const controller = new AbortController();
      const asked = ask(client, gw.url, ASK, controller.signal);
      await gw.upstreams[0]?.waitForRequests(1);
      // The first content chunk has been relayed; the upstream waits at its gate.
      while ((gw.upstreams[0]?.requests[0]?.itemsSent ?? 0) < 3) await delay(5);
      controller.abort();
      await gw.upstreams[0]?.requests[0]?.disconnected; // the upstream saw its request closed
      await asked;
      assert.equal(gw.attempts.at(-1)?.outcome, 'aborted');
    });
  }

  test('a 429 cools the target for its retry-after-ms; when that passes it is chosen again', async (t) => {
    const gw = await startGateway(t, [[fault('rate-limited', { retryAfterMs: 300 }), ok('A')], ok('B')]);
    const [a, b] = gw.targets.map((x) => x.id);
    assert.equal((await ask('sluice', gw.url)).target, b, 'A answered 429: B serves');
    assert.equal((await ask('openai', gw.url)).target, b, 'A still cooling');
    assert.equal(gw.upstreams[0]?.requests.length, 1, 'a cooling target is not asked');
    await delay(320);
    const outcome = await ask('sluice', gw.url);
    assert.equal(outcome.target, a);
    assert.equal(outcome.text, 'A answers');
    assert.equal(gw.attempts[0]?.cooldownMs, 300);
  });

  test('an open breaker lets exactly one probe through after probe_after_ms; success closes it', async (t) => {
    const failing = fault('server-error');
    const gw = await startGateway(t, [[failing, failing, ok('A')], ok('B')], {
      breaker: { failures: 2, windowMs: 60_000, probeAfterMs: 300 },
    });
    const [a, b] = gw.targets.map((x) => x.id);
    for (let i = 0; i < 3; i++) assert.equal((await ask('sluice', gw.url)).target, b);
    assert.equal(gw.upstreams[0]?.requests.length, 2, 'taken out after its second failure');
    await delay(320);
    // Two requests at once: one probes A, the other must not.
    const [first, second] = await Promise.all([ask('sluice', gw.url), ask('openai', gw.url)]);
    assert.deepEqual([first.target, second.target].sort(), [a, b].sort());
    assert.equal(gw.upstreams[0]?.requests.length, 3, 'one probe');
    assert.equal((await ask('sluice', gw.url)).target, a, 'closed again');
    assert.deepEqual(
      gw.breakers.map(([, s]) => s),
      ['open', 'half-open', 'closed'],
    );
  });

  for (const client of CLIENTS) {
    test(`every target rate-limited: 429 with the soonest retry-after-ms among them (${client})`, async (t) => {
      const gw = await startGateway(t, [
        faultScenario('rate-limited', { retryAfterMs: 3_000 }),
        faultScenario('rate-limited', { retryAfterMs: 1_500 }),
      ]);
      if (client === 'sluice') {
        const error = (await ask('sluice', gw.url)).error;
        assert.ok(error instanceof RateLimitError);
        const ms = error.rateLimit?.retryAfterMs ?? 0;
        assert.ok(ms > 1_400 && ms <= 1_500, String(ms));
        assert.match(error.message, /retry after 2 seconds/);
        return;
      }
      const res = await fetch(`${gw.url}/openai/deployments/${MODEL}/chat/completions?api-version=${API_VERSION}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...ASK, stream: true }),
      });
      assert.equal(res.status, 429);
      const ms = Number(res.headers.get('retry-after-ms'));
      assert.ok(ms > 1_400 && ms <= 1_500, String(ms));
      assert.equal(res.headers.get('retry-after'), '2');
      const sdk = await ask('openai', gw.url);
      assert.equal(sdk.status, 429);
    });
  }

  test('non-streaming requests fail over the same way and say which target served (SDK and Sluice)', async (t) => {
    const gw = await startGateway(t, [faultScenario('server-error'), ok('B')]);
    gw.upstreams[1]?.setScenario('d', (request) =>
      request.body?.stream === true
        ? ok('B')
        : {
            type: 'json',
            status: 200,
            body: {
              id: 'chatcmpl-B',
              object: 'chat.completion',
              created: 1,
              model: 'gpt-4o',
              choices: [
                {
                  index: 0,
                  message: { role: 'assistant', content: 'B, whole' },
                  finish_reason: 'stop',
                  logprobs: null,
                },
              ],
              usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
            },
          },
    );
    const azure = new AzureOpenAI({
      endpoint: gw.url,
      apiKey: 'k',
      apiVersion: API_VERSION,
      deployment: MODEL,
      maxRetries: 0,
    });
    const { data, response } = await azure.chat.completions.create({ ...ASK, model: MODEL } as never).withResponse();
    assert.equal(response.headers.get('x-sluice-target'), gw.targets[1]?.id);
    assert.equal(
      (data as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content,
      'B, whole',
    );
    const sluice = createClient({ endpoint: gw.url, apiKey: 'k', deployment: MODEL, maxRetries: 0 });
    const answer = await sluice.chat.create(ASK);
    assert.equal(answer.choices[0]?.message.content, 'B, whole');
    assert.equal(answer.usage?.total_tokens, 5);
    // Forwarded non-streaming: the upstream got stream false, not a stream to accumulate.
    assert.ok(gw.upstreams[1]?.requests.every((r) => r.body?.stream !== true));
  });

  test('exact relay: the client gets the serving upstream’s chunks byte for byte, after a failover too', async (t) => {
    const items = chatChunks(['Exactly', ' these', ' bytes'], {
      id: 'chatcmpl-exact',
      usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
    });
    const gw = await startGateway(t, [fault('server-error'), stream(items)]);
    const res = await fetch(`${gw.url}/openai/deployments/${MODEL}/chat/completions?api-version=${API_VERSION}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ASK, stream: true }),
    });
    assert.equal(res.headers.get('x-sluice-target'), gw.targets[1]?.id);
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    const expected = items.map((item) =>
      'chunk' in item ? `data: ${JSON.stringify(item.chunk)}\n\n` : 'data: [DONE]\n\n',
    );
    assert.equal(await res.text(), expected.join(''));
  });

  test('the upstream key never reaches the client, even when an upstream echoes it in its error', async (t) => {
    const echo: Reply = { type: 'json', status: 500, body: {} };
    const gw = await startGateway(t, [echo, echo]);
    for (const upstream of gw.upstreams) {
      upstream.setScenario('d', (request) => ({
        ...echo,
        body: { error: { code: 'InternalServerError', message: `bad key ${String(request.headers['api-key'])}` } },
      }));
    }
    for (const client of CLIENTS) {
      const outcome = await ask(client, gw.url);
      assert.equal(outcome.status, 500);
      assert.ok(
        !JSON.stringify(outcome.error, Object.getOwnPropertyNames(outcome.error)).includes('upstream-key'),
        client,
      );
    }
    const raw = await fetch(`${gw.url}/openai/deployments/${MODEL}/chat/completions?api-version=${API_VERSION}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ASK),
    });
    const text = await raw.text();
    assert.match(text, /bad key/);
    assert.ok(!text.includes('upstream-key'), text);
  });

  test('a client that stops reading stops the relay (chunks relayed from the upstream callback wait for drain), and reading again finishes the stream', {
    timeout: 30_000,
  }, async (t) => {
    const piece = 'x'.repeat(64 * 1024);
    const pieces = 400; // 25 MiB: more than the sockets between the gateway and the reader hold
    const gw = await startGateway(t, [stream(chatChunks(Array.from({ length: pieces }, () => piece)))]);
    const body = JSON.stringify({ ...ASK, stream: true });
    const req = request(azureUrl(gw.url, MODEL, 'chat'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.end(body);
    const res = await new Promise<IncomingMessage>((resolve) => req.on('response', resolve));
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      text += d;
    });
    while (text.length < 1024 * 1024) await delay(5);
    res.pause();
    const sent = async () => (await metrics(gw.url)).get('sluice_chunks_sent_total') ?? 0;
    await delay(300); // every buffer between the upstream and the reader fills up
    const settled = await sent();
    await delay(300);
    assert.equal(await sent(), settled, 'the gateway kept relaying while nobody read');
    assert.ok(settled < pieces, `all ${settled} chunks relayed to a reader that stopped`);
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    assert.ok(text.endsWith('data: [DONE]\n\n'), text.slice(-200));
    assert.equal(text.split(piece).length - 1, pieces);
  });
});
