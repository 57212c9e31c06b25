/**
 * How every Redis client of Sluice connects and closes (the stream log, the shared target
 * health, the key limits): one set of connection settings, and a close that never hangs.
 *
 * Closing: node-redis's `close()` waits for every reply still pending, and a Redis that died or
 * stopped answering sends none: the call would wait forever, and a server shutting down (or a
 * test's cleanup) with it. Here pending replies get a short grace to arrive, then the client is
 * destroyed (what is still pending is rejected); a client that is not connected is destroyed at
 * once, as it has nothing to drain.
 * @module
 */

/** How long a connection attempt may take: 2 s. */
export const CONNECT_TIMEOUT_MS = 2000;

/**
 * The settings every Sluice Redis client starts from, for node-redis's `createClient`:
 * - no offline queue: a command sent while Redis is away fails at once instead of waiting in
 *   memory (callers treat Redis as optional and carry on without it);
 * - reconnecting by itself, 50 ms after a loss and doubling up to every 2 s.
 *
 * @example
 * ```ts
 * const client = createClient({ ...redisClientOptions('redis://127.0.0.1:6379'), commandsQueueMaxLength: 1000 });
 * ```
 */
export function redisClientOptions(url: string) {
  return {
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
    },
  };
}

/** What `closeRedisClients` needs of a node-redis client. */
export interface ClosableRedisClient {
  readonly isReady: boolean;
  close(): Promise<unknown>;
  destroy(): void;
}

/** How long pending replies may take to arrive when a client closes: 1 s. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Closes every client: pending replies drain for up to `graceMs`, then the client is destroyed.
 * Never rejects.
 *
 * @example
 * ```ts
 * await closeRedisClients([client, subscriber]); // at most about 1 s, whatever Redis does
 * ```
 */
export async function closeRedisClients(
  clients: readonly ClosableRedisClient[],
  graceMs = CLOSE_GRACE_MS,
): Promise<void> {
  await Promise.allSettled(clients.map((client) => closeOne(client, graceMs)));
}

async function closeOne(client: ClosableRedisClient, graceMs: number): Promise<void> {
  if (!client.isReady) {
    client.destroy();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace over'>((resolve) => {
    timer = setTimeout(() => resolve('grace over'), graceMs);
  });
  const closed = client.close().then(
    () => 'closed' as const,
    () => 'closed' as const,
  );
  const how = await Promise.race([closed, graceOver]);
  clearTimeout(timer);
  // destroy() also settles the close() still waiting for replies.
  if (how === 'grace over') client.destroy();
}
