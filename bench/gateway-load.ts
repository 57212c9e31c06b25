/**
 * The gateway bench's load generator: opens N streams at once (one fresh connection each, as
 * N separate clients would), times each stream's first content delta and the gaps between
 * deltas, and checks every stream: HTTP 200, the exact text the mock sent, and `[DONE]`.
 * @module
 */
import { request } from 'node:http';
import { DELTAS, expectedText, requestBody } from './gateway-mock.js';
import { frameSplitter, wallClock } from './util.js';

/** Where and how a contender is asked for a stream. */
export interface Target {
  port: number;
  /** Request path (the contender's dialect: Azure deployment route or OpenAI `/v1`). */
  path: string;
  headers: Record<string, string>;
}

/** What one stream looked like from the client. */
export interface StreamRecord {
  /** The stream asked for (its text's seed). */
  seed: number;
  /** When the request was sent, ms (`wallClock`: comparable with the mock's `MockTimes`). */
  sentAt: number;
  /** Why the stream does not count as a success; undefined when it does. */
  failure?: string;
  /** From sending the request to the first non-empty content delta, ms (-1: none). */
  ttftMs: number;
  /** Between consecutive content deltas, ms. */
  gapsMs: number[];
  /** `data:` events received, `[DONE]` excluded: the chunks the contender relayed. */
  frames: number;
}

/** A stream that has not ended after this long counts as failed. */
const STREAM_TIMEOUT_MS = 30_000;

/**
 * Opens one stream per seed (each of `deltas` deltas, each request carrying a conversation of
 * `conversationBytes`), all at once, and resolves when every one has ended.
 */
export function runStreams(
  target: Target,
  seeds: readonly number[],
  deltas = DELTAS,
  conversationBytes = 0,
): Promise<StreamRecord[]> {
  return Promise.all(seeds.map((seed) => oneStream(target, seed, deltas, conversationBytes)));
}

function oneStream(target: Target, seed: number, deltas: number, conversationBytes: number): Promise<StreamRecord> {
  return new Promise((resolve) => {
    const payload = requestBody(seed, deltas, conversationBytes);
    const record: StreamRecord = { seed, sentAt: 0, ttftMs: -1, gapsMs: [], frames: 0 };
    let text = '';
    let sawDone = false;
    let lastDelta = 0;
    let settled = false;
    const finish = (failure?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure === undefined && !sawDone) failure = 'no [DONE]';
      if (failure === undefined && text !== expectedText(seed, deltas))
        failure = 'text differs from what the mock sent';
      if (failure !== undefined) record.failure = failure;
      resolve(record);
    };
    const t0 = wallClock();
    record.sentAt = t0;
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        method: 'POST',
        path: target.path,
        agent: false,
        headers: {
          ...target.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        res.setEncoding('utf8');
        let buffer = '';
        if (res.statusCode !== 200) {
          res.on('data', (d: string) => {
            buffer += d;
          });
          res.on('end', () => finish(`HTTP ${res.statusCode}: ${buffer.slice(0, 200)}`));
          return;
        }
        let now = 0;
        const split = frameSplitter((whole) => {
          // A resumable stream's events carry their position first (`id: N`).
          const frame = whole.startsWith('id: ') ? whole.slice(whole.indexOf('\n') + 1) : whole;
          if (!frame.startsWith('data: ')) return;
          const data = frame.slice(6);
          if (data === '[DONE]') {
            sawDone = true;
            return;
          }
          record.frames++;
          const content = contentOf(JSON.parse(data));
          if (content === '') return;
          if (record.ttftMs < 0) record.ttftMs = now - t0;
          else record.gapsMs.push(now - lastDelta);
          lastDelta = now;
          text += content;
        });
        res.on('data', (d: string) => {
          now = wallClock();
          split(d);
        });
        res.on('end', () => finish());
        res.on('error', (e) => finish(e.message));
      },
    );
    const timer = setTimeout(() => {
      finish(`not ended after ${STREAM_TIMEOUT_MS} ms`);
      req.destroy();
    }, STREAM_TIMEOUT_MS);
    req.on('error', (e) => finish(e.message));
    req.end(payload);
  });
}

function contentOf(chunk: unknown): string {
  const content = (chunk as { choices?: Array<{ delta?: { content?: unknown } }> }).choices?.[0]?.delta?.content;
  return typeof content === 'string' ? content : '';
}
