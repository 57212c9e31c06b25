/**
 * The JSON text a parsed chunk came from, so that a relay can forward the upstream's own
 * bytes instead of serializing the object again (a `JSON.stringify` per relayed chunk is
 * one of a gateway's largest costs; see bench/gateway.bench.ts).
 *
 * Kept only for a relay (`parseStreamEvent`'s `keepSourceJson`, which the remote backend and
 * `toSSE()` turn on): a plain reader does not pay a WeakMap entry per chunk.
 *
 * The text is held beside the object (a WeakMap), never on it: copies, spreads and
 * `JSON.stringify` never see it, and it goes away with the object. It is valid only while
 * the object is as parsed: whoever changes a chunk in place calls `forgetSourceJson` first
 * (the shape check's normalizations and the server's Azure fields do), and whoever builds
 * a new chunk simply has none.
 * @module
 */

const sources = new WeakMap<object, string>();

/**
 * Records that `value` is exactly `JSON.parse(json)`. Text with a line break is not kept:
 * an SSE `data:` line cannot carry it as it is.
 */
export function keepSourceJson(value: object, json: string): void {
  if (json.indexOf('\n') === -1 && json.indexOf('\r') === -1) sources.set(value, json);
}

/**
 * The JSON text `value` was parsed from, if it is known and `value` was not changed since.
 *
 * @example
 * const frame = `data: ${sourceJsonOf(chunk) ?? JSON.stringify(chunk)}\n\n`;
 */
export function sourceJsonOf(value: object): string | undefined {
  return sources.get(value);
}

/** Call before changing `value` in place: its source text no longer describes it. */
export function forgetSourceJson(value: object): void {
  sources.delete(value);
}
