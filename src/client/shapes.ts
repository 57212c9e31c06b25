/**
 * Hidden classes that outlive a full garbage collection.
 *
 * V8 gives objects built the same way one hidden class (a "map"), and optimized code checks
 * and uses those maps. A map lives only while something refers to it: a class instance's final
 * map and a parsed chunk's maps are referred to only by their objects. When a full collection
 * runs while no stream is alive (a client between requests, a benchmark's forced collection),
 * they die, and with them every optimized function built on them (V8's "weak objects"
 * deoptimization): the next stream runs its first thousand chunks or so unoptimized, at about
 * twice the cost, while some twenty functions are compiled again.
 *
 * So a few objects stay referenced here: one instance of each class on the per-chunk path,
 * built once (`keepShape`), and hollow copies of a recent stream's first and last items
 * (`keepItemShapes`): the same keys in the same order, every string value emptied and every
 * array cut to its first element, so they hold the maps and none of the text (key names are
 * kept: they are the shape; a logprobs map keyed by tokens keeps its first entry's tokens).
 * Each item is copied twice: as `JSON.parse` builds it, and as the stream's chunk template
 * builds the content chunks that repeat it (protocol/chunk-template.ts), whose maps differ.
 * @module
 */

import { copyAsMatched } from '../protocol/chunk-template.js';

/** The instances kept: a handful, built once per process. */
const exemplars: object[] = [];

/** Hollow copies of a recent stream's items, replaced at most once per `ITEM_REFRESH_MS`. */
let itemShapes: unknown[] = [];
let itemShapesAt = Number.NEGATIVE_INFINITY;

/** Hollow copies cost a few microseconds a stream: a gateway ending streams by the thousand makes them once a second. */
const ITEM_REFRESH_MS = 1000;
/** The largest hollow copy kept, in JSON characters (an Azure chunk's is about 400). */
const MAX_SHAPE_TEXT = 16 * 1024;

/**
 * Keeps `exemplar` referenced for the life of the process, so its hidden class survives a
 * full collection; returns it.
 *
 * @example
 * class Decoder { static readonly #keep = keepShape(new Decoder()); }
 */
export function keepShape<T extends object>(exemplar: T): T {
  exemplars.push(exemplar);
  return exemplar;
}

/**
 * Keeps hollow copies of `items` (a stream's first and last items, as parsed from JSON), at
 * most once per second. Items that are not JSON-shaped are skipped.
 *
 * @example
 * keepItemShapes([first, second, third, last], performance.now());
 */
export function keepItemShapes(items: readonly unknown[], now: number): void {
  if (now - itemShapesAt < ITEM_REFRESH_MS) return;
  itemShapesAt = now;
  const hollow: unknown[] = [];
  for (const item of items) {
    if (item === null || typeof item !== 'object') continue;
    try {
      const text = JSON.stringify(item, hollowed);
      // Parsed again, so the copies get JSON.parse's maps, which a literal copy would not; and
      // copied as the stream's chunk template copies a chunk (protocol/chunk-template.ts), whose
      // maps are those of most content chunks. An item with a great many keys (a hostile
      // upstream's) is not worth keeping.
      if (text !== undefined && text.length <= MAX_SHAPE_TEXT) {
        const parsed: unknown = JSON.parse(text);
        const copied = copyAsMatched(parsed);
        hollow.push(parsed);
        if (copied !== undefined) hollow.push(copied);
      }
    } catch {
      // Not JSON (a cycle, a BigInt from a backend): nothing to keep.
    }
  }
  itemShapes = hollow;
}

/** `JSON.stringify`'s replacer: strings emptied, arrays cut to their first element. */
function hollowed(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return '';
  if (Array.isArray(value) && value.length > 1) return value.slice(0, 1);
  return value;
}

/** @internal For tests: what is kept. */
export function keptShapes(): { exemplars: readonly object[]; items: readonly unknown[] } {
  return { exemplars, items: itemShapes };
}

/** @internal For tests: forgets the kept items, so the next stream's end keeps its own. */
export function forgetItemShapes(): void {
  itemShapes = [];
  itemShapesAt = Number.NEGATIVE_INFINITY;
}
