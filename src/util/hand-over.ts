/**
 * A value handed over once. A stream's starter lives as long as the stream (a caller keeps it
 * to start or retry), and a value it closed over would live as long: a request body, a whole
 * conversation. Taken through a hand-over, the starter keeps nothing once it has started.
 * @module
 */

/**
 * A function that returns `value` on its first call and lets go of it; a second call throws (a
 * starter called twice is a bug, and must not start with nothing).
 *
 * @example
 * const body = handOver(request.body);
 * const start = (signal: AbortSignal) => backend.stream({ kind: 'chat', body: body() }, signal);
 */
export function handOver<T>(value: T): () => T {
  let held: { value: T } | undefined = { value };
  return () => {
    if (held === undefined) throw new TypeError('This value was already handed over');
    const taken = held.value;
    held = undefined;
    return taken;
  };
}
