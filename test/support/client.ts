// Shared bits for the client's socket tests.
import type { TestContext } from 'node:test';
import type { ClientOptions } from '../../src/client/options.js';
import { createClient } from '../../src/index.js';
import { type AzureServer, type AzureServerOptions, startAzureServer } from '../../src/testing/azure-server.js';

export const KEY = 'sk-TEST-SECRET-0123456789abcdef';

export const chatBody = { messages: [{ role: 'user' as const, content: 'Say hello' }] };

/** A server for one test, closed after it. */
export async function serve(t: TestContext, opts: AzureServerOptions): Promise<AzureServer> {
  const server = await startAzureServer({ apiKey: KEY, ...opts });
  t.after(() => server.close());
  return server;
}

/** A client for `server` with fast, deterministic back-off (no jitter waits). */
export function clientFor(server: AzureServer, options: Partial<ClientOptions> = {}) {
  return createClient({
    endpoint: server.url,
    apiKey: KEY,
    deployment: 'd',
    retry: { baseDelayMs: 1, maxBackoffMs: 5, random: () => 0.5 },
    ...options,
  });
}

/** Resolves with whatever `p` rejects with (fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Iterates `iterable` to the end or its error; returns the items and the error. */
export async function drain<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const x of iterable) items.push(x);
  } catch (error) {
    return { items, error };
  }
  return { items, error: undefined };
}

/** The text of choice 0 in a partial or final response. */
export function textOf(response: unknown): string {
  const choices = (response as { choices?: Array<{ index: number; text?: string; message?: { content?: unknown } }> })
    ?.choices;
  const c = choices?.find((x) => x.index === 0);
  if (!c) return '';
  if (typeof c.text === 'string') return c.text;
  return typeof c.message?.content === 'string' ? c.message.content : '';
}
