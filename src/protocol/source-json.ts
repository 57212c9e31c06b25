/**
 * The JSON text a parsed chunk came from, so that a relay can forward the upstream's own
 * bytes instead of serializing the object again (a `JSON.stringify` per relayed chunk is
 * one of a gateway's largest costs; see bench/gateway.bench.ts).
 *
 * Kept only for a relay (`parseStreamEvent`'s `keepSourceJson`, which the remote backend and
 * `toSSE()` turn on): a plain reader does not pay a WeakMap entry per chunk.
 *
 * The text is held in a private field stamped onto the object (`SourceText`), never in a
 * property: copies, spreads, `JSON.stringify`, `Object.keys` and proxies never see it, and it
 * goes away with the object. (It used to be a WeakMap entry, which cost about 0.4 µs a chunk,
 * a quarter of parsing one, mostly in collecting the table's entries.) It is valid only while
 * the object is as parsed: whoever changes a chunk in place calls `forgetSourceJson` first
 * (the shape check's normalizations and the server's Azure fields do), and whoever builds
 * a new chunk simply has none.
 * @module
 */

/** Hands back what it is given: a subclass's private fields then land on that object. */
class Stamped {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the point: `SourceText` stamps its field on `target`
    return target;
  }
}

/** The private field that holds an object's source text (the object is `this` for `Stamped`'s sake). */
class SourceText extends Stamped {
  #json: string | undefined;

  /** Stamps `json` on `target`, or replaces what it holds. */
  static keep(target: object, json: string | undefined): void {
    if (#json in target) (target as SourceText).#json = json;
    else new SourceText(target, json);
  }

  static of(target: object): string | undefined {
    return #json in target ? (target as SourceText).#json : undefined;
  }

  private constructor(target: object, json: string | undefined) {
    super(target);
    this.#json = json;
  }
}

/**
 * Records that `value` is exactly `JSON.parse(json)`. Text with a line break is not kept:
 * an SSE `data:` line cannot carry it as it is. `value` must be extensible (anything
 * `JSON.parse` returns is).
 */
export function keepSourceJson(value: object, json: string): void {
  if (json.indexOf('\n') === -1 && json.indexOf('\r') === -1 && Object.isExtensible(value)) {
    SourceText.keep(value, json);
  }
}

/**
 * The JSON text `value` was parsed from, if it is known and `value` was not changed since.
 *
 * @example
 * const frame = `data: ${sourceJsonOf(chunk) ?? JSON.stringify(chunk)}\n\n`;
 */
export function sourceJsonOf(value: object): string | undefined {
  return SourceText.of(value);
}

/** Call before changing `value` in place: its source text no longer describes it. */
export function forgetSourceJson(value: object): void {
  if (SourceText.of(value) !== undefined) SourceText.keep(value, undefined);
}
