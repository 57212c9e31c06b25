/**
 * Reads a stream's chunks without `JSON.parse` when they repeat the chunk before them but for
 * their text.
 *
 * Within one stream, Azure's content chunks (and most OpenAI-compatible servers') are the same
 * JSON text but for the delta: same id, created, model, fingerprint, same filter results (Azure
 * sends them on every chunk), same key order. (OpenAI's own add a random `obfuscation` string
 * to every chunk unless asked not to, `stream_options.include_obfuscation: false`; such a stream
 * stops trying after a few chunks.) `JSON.parse` of such a chunk costs about twice what checking that it
 * is the one before with another string in one place, and copying that one, costs.
 *
 * Exact, not heuristic: a template is the text around one JSON string token (the prefix
 * before it and the suffix after it) that was proved to be the chunk's `choices[0].delta.content`
 * (Chat Completions) or `choices[0].text` (Completions) by parsing the text once more with
 * another string there. A later text that starts with the prefix, ends with the suffix and has
 * exactly one JSON string token between them has the same tokens but that one, so it parses to
 * the same value but that one string: a deep copy of the proved parse with the new string in
 * place is what `JSON.parse` would return (own `__proto__` keys included, as own keys). Anything
 * else (another shape, a changed filter result, a usage chunk, escapes that do not decode to a
 * string) goes to `JSON.parse`, and may become the next template.
 *
 * A chunk is proved when the next text chunk begins like it (the same text before the key),
 * not when it is parsed: the proof costs a parse, and a stream's first text chunk is on its way
 * to the client while a chunk that nothing repeats (a role chunk) needs none.
 * @module
 */

/** Proving a template costs a parse; a stream whose chunks never repeat stops paying after this many in a row. */
const MAX_UNUSED_TEMPLATES = 3;
/** Occurrences of the key looked at when proving a template (only a hostile chunk has more). */
const MAX_CANDIDATES = 4;
/** Nesting a template may have: copying is recursive, and a deeper chunk is simply parsed. */
const MAX_DEPTH = 32;
/**
 * Longest string V8 copies when it is sliced (from 13 characters on, a slice is a view that
 * keeps the whole text alive): a plain delta this short is sliced out, a longer one decoded.
 */
const COPIED_SLICE = 12;

type JsonObject = Record<string, unknown>;

/**
 * A copy of a JSON value built as `ChunkTemplate.match` builds its chunks (object literals
 * filled key by key, arrays pushed), so with the same hidden classes, which are not
 * `JSON.parse`'s. For keeping those classes alive (client/shapes.ts); undefined for a value
 * nested deeper than a template may be.
 *
 * @example
 * const copy = copyAsMatched(JSON.parse('{"choices":[{"delta":{"content":""}}]}'));
 */
export function copyAsMatched(value: unknown): unknown {
  const plan = planOf(value, 0);
  return plan === undefined ? undefined : build(plan);
}

/**
 * One stream's template (see the module's notes). Not shared between streams.
 *
 * @example
 * const template = new ChunkTemplate();
 * for (const data of events) {
 *   let chunk = template.match(data);
 *   if (chunk === undefined) {
 *     chunk = JSON.parse(data);
 *     template.learn(data, chunk);
 *   }
 * }
 */
export class ChunkTemplate {
  #prefix = '';
  #suffix = '';
  /** How to build the proved parse (whose string is replaced): once per match. */
  #plan: Plan | undefined;
  /** Which string the token is: `choices[0].delta.content` or `choices[0].text`. */
  #inDelta = true;
  /** Templates proved (or tried) in a row without a match since. */
  #unused = 0;
  /** The current template has matched at least once. */
  #used = false;
  /** The last chunk offered, not proved yet: the proof waits for a chunk that may repeat it. */
  #pending: Pending | undefined;

  /**
   * The value `JSON.parse(data)` would return, when `data` is the template with another string
   * in its place; `undefined` otherwise (then parse it, and call `learn`).
   */
  match(data: string): JsonObject | undefined {
    let text = this.#plan === undefined ? undefined : this.#textIn(data);
    if (text === undefined) {
      // The chunk offered last is proved only now that one begins like it: a stream's first
      // text chunk, on its way to the client, pays no proof, and a chunk never repeated none.
      const pending = this.#pending;
      if (pending === undefined || data.slice(0, pending.head.length) !== pending.head) return undefined;
      this.#pending = undefined;
      if (!this.#prove(pending)) return undefined;
      text = this.#textIn(data);
      if (text === undefined) return undefined;
    }
    this.#used = true;
    this.#unused = 0;
    const chunk = build(this.#plan!) as JsonObject;
    const choice = (chunk.choices as JsonObject[])[0]!;
    if (this.#inDelta) (choice.delta as JsonObject).content = text;
    else choice.text = text;
    return chunk;
  }

  /**
   * Offers a chunk just parsed from `data` (`value` is `JSON.parse(data)`) as the next
   * template, proved when a later chunk begins like it. Kept when it has a one-choice text to
   * vary and the proof holds; the current template stays when `value` has no text (a finish or
   * usage chunk, a filter annotation).
   */
  learn(data: string, value: object): void {
    if (this.#unused >= MAX_UNUSED_TEMPLATES) return;
    let inDelta = true;
    let current = textOf(value, true);
    if (typeof current !== 'string') {
      inDelta = false;
      current = textOf(value, false);
      if (typeof current !== 'string') return;
    }
    if (this.#plan !== undefined && !this.#used && ++this.#unused >= MAX_UNUSED_TEMPLATES) {
      this.#plan = undefined;
      this.#pending = undefined;
      return;
    }
    this.#plan = undefined;
    const at = data.indexOf(inDelta ? '"content"' : '"text"');
    this.#pending = at === -1 ? undefined : { data, current, inDelta, head: data.slice(0, at) };
  }

  /** The string a text that fits the template has in its place; undefined when it does not fit. */
  #textIn(data: string): string | undefined {
    const start = this.#prefix.length;
    const end = data.length - this.#suffix.length;
    // Slices compared with === (memory compared at once) cost less than half startsWith / endsWith.
    if (end - start < 2 || data.slice(0, start) !== this.#prefix || data.slice(end) !== this.#suffix) return undefined;
    return stringToken(data, start, end);
  }

  /** Makes `pending` the template when the proof holds (see the module's notes). */
  #prove(pending: Pending): boolean {
    const { data, inDelta } = pending;
    this.#used = false;
    const key = inDelta ? '"content"' : '"text"';
    // Another string than the chunk's, so that finding it there proves where it came from.
    const probe = pending.current === 'a' ? '"b"' : '"a"';
    let from = 0;
    for (let n = 0; n < MAX_CANDIDATES; n++) {
      const at = data.indexOf(key, from);
      if (at === -1) break;
      from = at + key.length;
      let i = skipSpace(data, from);
      if (data.charCodeAt(i) !== 0x3a /* : */) continue;
      i = skipSpace(data, i + 1);
      if (data.charCodeAt(i) !== 0x22 /* " */) continue;
      const end = endOfString(data, i);
      if (end === -1) break;
      let proved: unknown;
      try {
        proved = JSON.parse(data.slice(0, i) + probe + data.slice(end));
      } catch {
        continue;
      }
      if (textOf(proved, inDelta) !== probe.slice(1, -1)) continue;
      const plan = planOf(proved, 0);
      if (plan === undefined) break;
      this.#prefix = data.slice(0, i);
      this.#suffix = data.slice(end);
      this.#plan = plan;
      this.#inDelta = inDelta;
      return true;
    }
    // No proof (a key spelled with escapes, a hostile duplicate): that counts as unused too.
    this.#unused++;
    return false;
  }
}

/** A chunk offered to `learn`, waiting for its proof. */
interface Pending {
  data: string;
  /** Its text, which the proof's probe must differ from. */
  current: string;
  inDelta: boolean;
  /** Its text before the key's first appearance: a chunk that may repeat it begins so. */
  head: string;
}

/**
 * The value of the JSON text `data[start, end)` when it is exactly one string token, else
 * `undefined`. The value is always a string of its own: a kept slice of `data` would keep all
 * of `data` alive for as long as the text is kept (an accumulated answer keeps every delta).
 * So a plain token of up to `COPIED_SLICE` characters is sliced out (V8 copies a slice that
 * short), and any other is decoded by `JSON.parse`, even with no escape in it.
 */
function stringToken(data: string, start: number, end: number): string | undefined {
  if (data.charCodeAt(start) !== 0x22 || data.charCodeAt(end - 1) !== 0x22) return undefined;
  const last = end - 1;
  if (last - start - 1 <= COPIED_SLICE) {
    // Most deltas are a token or two: with no quote, backslash or control character inside,
    // the text between the quotes is the value (JSON keeps any other character as it is).
    let i = start + 1;
    while (i < last) {
      const c = data.charCodeAt(i);
      if (c === 0x22 || c === 0x5c || c < 0x20) break;
      i++;
    }
    if (i === last) return data.slice(start + 1, last);
  }
  let value: unknown;
  try {
    value = JSON.parse(data.slice(start, end));
  } catch {
    return undefined;
  }
  return typeof value === 'string' ? value : undefined;
}

/** The index just past the JSON string token that starts at `data[start]` (a quote), or -1. */
function endOfString(data: string, start: number): number {
  for (let i = start + 1; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) i++;
  }
  return -1;
}

function skipSpace(data: string, i: number): number {
  for (;;) {
    const c = data.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
}

/**
 * The value at the varying place, `choices[0].delta.content` (`inDelta`) or `choices[0].text`,
 * of a parsed chunk with exactly one choice; `undefined` when there is no such place.
 */
function textOf(value: unknown, inDelta: boolean): unknown {
  const choices = (value as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return undefined;
  const choice = choices[0] as { delta?: unknown; text?: unknown } | null;
  if (choice === null || typeof choice !== 'object') return undefined;
  if (!inDelta) return choice.text;
  const delta = choice.delta as { content?: unknown } | null;
  return delta !== null && typeof delta === 'object' ? delta.content : undefined;
}

/**
 * How to build a copy of one `JSON.parse` result, as `JSON.parse` builds it: plain objects
 * and arrays, keys in the same order (listed once, here, not enumerated per copy), and
 * `"__proto__"` an own key (defined, never assigned: no prototype is ever set from upstream
 * data).
 */
type Plan =
  | { kind: 'value'; value: unknown }
  | { kind: 'array'; items: Plan[] }
  | { kind: 'object'; keys: string[]; items: Plan[]; defineEach: boolean };

/** The plan for `value`, or `undefined` when it nests deeper than `MAX_DEPTH`. */
function planOf(value: unknown, depth: number): Plan | undefined {
  if (value === null || typeof value !== 'object') return { kind: 'value', value };
  if (depth >= MAX_DEPTH) return undefined;
  const items: Plan[] = [];
  const keys = Array.isArray(value) ? undefined : Object.keys(value);
  const values: unknown[] = keys === undefined ? (value as unknown[]) : keys.map((key) => (value as JsonObject)[key]);
  for (const item of values) {
    const plan = planOf(item, depth + 1);
    if (plan === undefined) return undefined;
    items.push(plan);
  }
  if (keys === undefined) return { kind: 'array', items };
  return { kind: 'object', keys, items, defineEach: keys.includes('__proto__') };
}

function build(plan: Plan): unknown {
  if (plan.kind === 'value') return plan.value;
  const items = plan.items;
  if (plan.kind === 'array') {
    const out: unknown[] = [];
    for (let i = 0; i < items.length; i++) out.push(build(items[i]!));
    return out;
  }
  const keys = plan.keys;
  const out: JsonObject = {};
  if (plan.defineEach) {
    for (let i = 0; i < keys.length; i++) {
      Object.defineProperty(out, keys[i]!, {
        value: build(items[i]!),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  } else {
    for (let i = 0; i < keys.length; i++) out[keys[i]!] = build(items[i]!);
  }
  return out;
}
