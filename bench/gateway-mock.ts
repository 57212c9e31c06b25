/**
 * The gateway bench's mock upstream: an Azure OpenAI chat deployment that streams 64 deltas
 * 20 ms apart (the published "On the Bench" method), in Azure's wire shape (prompt-filter
 * chunk, role chunk, content chunks with `content_filter_results`, finish chunk, usage chunk,
 * `data: [DONE]`). It answers the Azure route and the OpenAI `/v1` route alike, so every
 * contender can reach it with its own dialect.
 *
 * Each request names its stream (`messages[0].content` = `stream <seed>`, or `stream <seed> of
 * <n>` for a stream of n deltas, 1 <= n <= 64); the deltas are derived from the seed, so the
 * load generator can check every stream's text exactly.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { COMPLETION_FILTER, createRng, MODEL, PROMPT_FILTER, randomInt } from './fixtures.js';
import { wallClock } from './util.js';

/** The deployment name every contender serves and the mock answers for. */
export const DEPLOYMENT = 'bench';

/** Content deltas per stream. */
export const DELTAS = 64;
/** Time between deltas, ms; the first comes this long after the headers. */
export const GAP_MS = 20;

const WORDS = ['the', 'stream', 'token', 'relay', 'gateway', 'chunk', 'Azure', 'latency', 'café', '—', '日本語', '🙂'];

/** The content deltas of stream `seed` (64 unless `count` says fewer): one to three words each, some non-ASCII. */
export function deltasOf(seed: number, count = DELTAS): string[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => {
    let s = '';
    for (let n = randomInt(rng, 1, 3); n > 0; n--) s += ` ${WORDS[randomInt(rng, 0, WORDS.length - 1)]}`;
    return s;
  });
}

/** The whole text a client must receive for stream `seed` of `count` deltas. */
export function expectedText(seed: number, count = DELTAS): string {
  return deltasOf(seed, count).join('');
}

/**
 * The chat request body that asks the mock for stream `seed` of `count` deltas. With
 * `conversationBytes`, earlier turns of about that many bytes of text follow the first message
 * (as a conversation or retrieved passages would); the mock reads only the first.
 */
export function requestBody(seed: number, count = DELTAS, conversationBytes = 0): string {
  const ask = { role: 'user', content: count === DELTAS ? `stream ${seed}` : `stream ${seed} of ${count}` };
  return JSON.stringify({
    model: 'bench',
    messages: conversationBytes > 0 ? [ask, ...conversation(seed, conversationBytes)] : [ask],
    stream: true,
    stream_options: { include_usage: true },
  });
}

/** Sixteen turns of about `bytes` bytes of text in all, different for each seed. */
function conversation(seed: number, bytes: number): Array<{ role: string; content: string }> {
  const unit = `Turn of conversation ${seed}. `;
  const turn = unit.repeat(Math.max(1, Math.round(bytes / 16 / unit.length)));
  return Array.from({ length: 16 }, (_, i) => ({ role: i % 2 === 0 ? 'assistant' : 'user', content: `${i} ${turn}` }));
}

/** When a stream's request had fully reached the mock, and when its first content delta left, ms (`wallClock`). */
export interface MockTimes {
  arrived: number;
  firstDelta: number;
}

/**
 * Starts the mock on 127.0.0.1 (port 0 = any). Keep-alive sockets stay open for a minute,
 * so a gateway's pooled connection is never closed under it between rounds. `onFirstDelta`
 * learns each stream's times as its first delta is written: with the load generator's, they
 * split a first token into the way there and the way back.
 */
export async function startMock(port = 0, onFirstDelta?: (seed: number, times: MockTimes) => void): Promise<Server> {
  const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    readBody(req).then(
      (body) => answer(body, res, wallClock(), onFirstDelta),
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

function answer(
  body: string,
  res: ServerResponse,
  arrived: number,
  onFirstDelta: ((seed: number, times: MockTimes) => void) | undefined,
): void {
  const named = streamOf(body);
  if (named === undefined) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      '{"error":{"code":"BadRequest","message":"messages[0].content must be `stream <seed>` or `stream <seed> of <1-64>`"}}',
    );
    return;
  }
  const { seed, count } = named;
  const deltas = deltasOf(seed, count);
  const id = `chatcmpl-bench${seed}`;
  const tail = `"created":1730000000,"id":"${id}","model":"${MODEL}","object":"chat.completion.chunk","system_fingerprint":"fp_bench"`;
  const frame = (json: string) => `data: ${json}\n\n`;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'apim-request-id': id,
    'x-ms-region': 'Bench Local',
  });
  res.write(
    frame(
      `{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":${PROMPT_FILTER}}]}`,
    ) +
      frame(
        `{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],${tail}}`,
      ),
  );
  const t0 = performance.now();
  let sent = 0;
  let timer: NodeJS.Timeout;
  // Each delta is due at t0 + 20 ms × n, not 20 ms after the previous one: no drift.
  const tick = () => {
    const content = JSON.stringify(deltas[sent]);
    res.write(
      frame(
        `{"choices":[{"content_filter_results":${COMPLETION_FILTER},"delta":{"content":${content}},"finish_reason":null,"index":0,"logprobs":null}],${tail}}`,
      ),
    );
    if (sent === 0) onFirstDelta?.(seed, { arrived, firstDelta: wallClock() });
    sent++;
    if (sent < count) {
      timer = setTimeout(tick, Math.max(0, t0 + GAP_MS * (sent + 1) - performance.now()));
      return;
    }
    res.end(
      frame(
        `{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],${tail}}`,
      ) +
        frame(
          `{"choices":[],${tail},"usage":{"completion_tokens":${count},"prompt_tokens":9,"total_tokens":${count + 9}}}`,
        ) +
        'data: [DONE]\n\n',
    );
  };
  timer = setTimeout(tick, GAP_MS);
  res.on('close', () => clearTimeout(timer));
}

/** The stream a request names: its seed and its number of deltas. */
function streamOf(body: string): { seed: number; count: number } | undefined {
  try {
    const content = (JSON.parse(body) as { messages?: Array<{ content?: unknown }> }).messages?.[0]?.content;
    const match = typeof content === 'string' ? /^stream (\d+)(?: of (\d+))?$/.exec(content) : null;
    if (!match) return undefined;
    const count = match[2] === undefined ? DELTAS : Number(match[2]);
    return count >= 1 && count <= DELTAS ? { seed: Number(match[1]), count } : undefined;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}
