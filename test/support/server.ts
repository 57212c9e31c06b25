// Helpers for the server's HTTP tests: start a real server on 127.0.0.1:0, read SSE bodies
// frame by frame as they arrive, read /metrics.
import type { TestContext } from 'node:test';
import { createServer, type ServerOptions, type SluiceServer } from '../../src/server/index.js';
import type { AnyChunk, ApiKind } from '../../src/types.js';

export const API_VERSION = '2024-10-21';

export interface Started {
  url: string;
  server: SluiceServer;
}

/** Starts a server for one test; closed when the test ends. */
export async function start(t: TestContext, options: ServerOptions): Promise<Started> {
  const server = createServer(options);
  const { url } = await server.listen(0, '127.0.0.1');
  t.after(() => server.close(200));
  return { url, server };
}

export function azureUrl(base: string, deployment: string, kind: ApiKind, version = API_VERSION): string {
  const op = kind === 'chat' ? 'chat/completions' : 'completions';
  return `${base}/openai/deployments/${encodeURIComponent(deployment)}/${op}?api-version=${version}`;
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/**
 * Reads an SSE body frame by frame, as the bytes arrive. `next()` resolves with the next
 * complete frame (the text between blank lines), or undefined at the end of the body.
 */
export function frameReader(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  return {
    async next(): Promise<string | undefined> {
      for (;;) {
        const cut = buffer.indexOf('\n\n');
        if (cut !== -1) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          return frame;
        }
        if (ended) return undefined;
        const { value, done } = await reader.read();
        if (done) ended = true;
        else buffer += decoder.decode(value, { stream: true });
      }
    },
    /** Whatever arrived after the last complete frame (should be empty). */
    rest: () => buffer,
    cancel: () => reader.cancel(),
  };
}

/** Every frame of an SSE body. */
export async function allFrames(res: Response): Promise<string[]> {
  const r = frameReader(res);
  const frames: string[] = [];
  for (let f = await r.next(); f !== undefined; f = await r.next()) frames.push(f);
  if (r.rest() !== '') frames.push(`<unterminated>${r.rest()}`);
  return frames;
}

/** The JSON payloads of `data:` frames, and whether `[DONE]` ended the stream. */
export function dataOf(frames: string[]): { chunks: AnyChunk[]; done: boolean; comments: number } {
  const chunks: AnyChunk[] = [];
  let done = false;
  let comments = 0;
  for (const frame of frames) {
    if (frame.startsWith(':')) {
      comments++;
      continue;
    }
    assert(frame.startsWith('data: '), `not a data frame: ${frame}`);
    const data = frame.slice(6);
    if (data === '[DONE]') done = true;
    else chunks.push(JSON.parse(data) as AnyChunk);
  }
  return { chunks, done, comments };
}

/** /metrics parsed into `name{labels}` -> value. */
export async function metrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

function assert(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}
