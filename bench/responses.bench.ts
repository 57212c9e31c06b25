// Responses API client overhead, HTTP on loopback included: Responses events decoded per
// second by Sluice's `client.responses.stream` vs `openai` 6.49's `responses.stream`, both
// reading the same recorded byte stream (created, in_progress, the message's item and part
// events, N `response.output_text.delta` events, the done events, `response.completed` with
// the whole response) from the same local server, plus raw fetch reading the bytes without
// parsing them (the floor). Both clients accumulate the final response as they go.
//
// Method as bench/client.bench.ts: the server (src/testing/azure-server.ts) runs in a child
// process; runs alternate between contestants; two warm-up rounds; medians. Output is
// verified first (same event count and the same final text for both clients); a mismatch
// exits non-zero.
//
//   node --import tsx --expose-gc bench/responses.bench.ts [--deltas 20000] [--runs 15]
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { createClient } from '../src/index.js';
import { outputText } from '../src/protocol/responses/accumulate.js';
import { startAzureServer, stream } from '../src/testing/azure-server.js';
import { responsesEvents } from '../src/testing/responses-events.js';
import { halfIqrPercent, median, startBenchChild, timeInterleaved } from './util.js';

const KEY = 'bench-key';
const TARGET = 2;
const args = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    deltas: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '15' },
  },
});
const DELTAS = Number(args.values.deltas);
const RUNS = Number(args.values.runs);

if (args.values.serve) {
  await serve();
} else {
  await main();
}

function words(): string[] {
  return Array.from({ length: DELTAS }, (_, i) => ` w${i % 1000}`);
}

/** Child mode: the server, its URL on stdout. */
async function serve(): Promise<void> {
  const server = await startAzureServer({
    apiKey: KEY,
    scenarios: { long: stream(responsesEvents({ texts: words() })) },
  });
  process.stdout.write(`${server.url}\n`);
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
  process.stdin.resume();
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
}

interface Result {
  events: number;
  text: string;
}

async function main(): Promise<void> {
  const { url, child } = await startChild();
  try {
    const body = { input: 'Tell me a long story' };
    const sluice = createClient({ endpoint: url, apiKey: KEY, deployment: 'long', maxRetries: 0 });
    const sdk = new OpenAI({ baseURL: `${url}/openai/v1`, apiKey: KEY, maxRetries: 0 });

    const contestants: Record<string, () => Promise<Result>> = {
      'sluice client.responses.stream': async () => {
        let events = 0;
        const s = sluice.responses.stream(body);
        for await (const _ of s) events++;
        return { events, text: outputText((await s.final()).response) };
      },
      'openai responses.stream': async () => {
        let events = 0;
        const s = sdk.responses.stream({ model: 'long', ...body });
        for await (const _ of s) events++;
        return { events, text: (await s.finalResponse()).output_text };
      },
      'fetch, bytes only (floor)': async () => {
        const res = await fetch(`${url}/openai/v1/responses`, {
          method: 'POST',
          headers: { 'api-key': KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'long', ...body, stream: true }),
        });
        let bytes = 0;
        for await (const b of res.body!) bytes += b.byteLength;
        return { events: -1, text: String(bytes) };
      },
    };

    // Verify first: both clients see every event and build the same final text.
    const expectedText = words().join('');
    const eventTotal = DELTAS + 8; // created, in_progress, item/part added, deltas, text/part/item done, completed
    const ours = await contestants['sluice client.responses.stream']!();
    const theirs = await contestants['openai responses.stream']!();
    if (
      ours.events !== eventTotal ||
      theirs.events !== eventTotal ||
      ours.text !== expectedText ||
      theirs.text !== expectedText
    ) {
      console.error(
        `✖ output mismatch: sluice ${ours.events} events / ${ours.text.length} chars, openai ${theirs.events} events / ${theirs.text.length} chars; expected ${eventTotal} events / ${expectedText.length} chars`,
      );
      process.exitCode = 1;
      return;
    }

    const times = await timeInterleaved(contestants, RUNS, (r) =>
      r.events !== -1 && (r.events !== eventTotal || r.text !== expectedText)
        ? `saw ${r.events} events, expected ${eventTotal} (or its text differs)`
        : undefined,
    );
    if (times === undefined) return;

    console.log(`Streaming ${eventTotal} Responses API events (${RUNS} runs each, median; server in a child process)`);
    const sluiceMedian = median(times.get('sluice client.responses.stream')!);
    console.table(
      [...times].map(([name, ts]) => {
        const m = median(ts);
        return {
          contestant: name,
          'events/s': Math.round(eventTotal / (m / 1000)).toLocaleString('en-US'),
          'ms per 1k events': ((m / eventTotal) * 1000).toFixed(3),
          '±%': halfIqrPercent(ts).toFixed(1),
          'vs sluice': (m / sluiceMedian).toFixed(2),
        };
      }),
    );
    const ratio = median(times.get('openai responses.stream')!) / sluiceMedian;
    console.log(
      `Sluice Responses events/s: ${ratio.toFixed(2)}x openai's (${ratio >= TARGET ? `target met: at least ${TARGET}x` : `TARGET MISSED: below ${TARGET}x`})`,
    );
  } finally {
    child.stdin?.end();
    child.kill();
  }
}

function startChild(): Promise<{ url: string; child: ChildProcess }> {
  return startBenchChild(new URL(import.meta.url).pathname, ['--serve', '--deltas', String(DELTAS)]);
}
