/**
 * Azure content-filter results: which categories fired, and how per-chunk results add up to
 * the one object a non-streaming response carries.
 * @module
 */
import type { ContentFilterResults } from '../types.js';
import { copySafeKeys, isUnsafeKey } from './safe-keys.js';

/**
 * The content-filter categories Azure reports, in the order its documentation lists them:
 * severity categories, detection categories, then `custom_blocklists`. `firedCategories`
 * also counts categories missing here (Azure adds some now and then) when they fire.
 *
 * @example
 * for (const category of CONTENT_FILTER_CATEGORIES) console.log(category, results[category]);
 */
export const CONTENT_FILTER_CATEGORIES = Object.freeze([
  'hate',
  'sexual',
  'violence',
  'self_harm',
  'jailbreak',
  'indirect_attack',
  'profanity',
  'protected_material_text',
  'protected_material_code',
  'custom_blocklists',
] as const);

/** One of the categories Azure documents (see `CONTENT_FILTER_CATEGORIES`). */
export type ContentFilterCategory = (typeof CONTENT_FILTER_CATEGORIES)[number];

/** Keys of a filter-results object that are not categories. */
const NOT_A_CATEGORY = 'error';

/**
 * Own-key test for the per-chunk walks below. V8 optimizes `hasOwnProperty` called inside a
 * `for...in` over the same object (it checks the enumeration cache instead of looking the key
 * up), which `Object.hasOwn` does not get: the walk of Azure's four categories cost about
 * 150 ns with `Object.hasOwn`, 85 ns with this. Held here, never read from the object itself,
 * so an upstream key named `hasOwnProperty` changes nothing.
 */
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Names of the categories that blocked content (`filtered: true`): severity categories
 * (`hate`, `violence`, ...), detection categories (`jailbreak`, `protected_material_code`, ...)
 * and `custom_blocklists` (in either its object or its array form). Unknown categories count
 * when they carry `filtered: true`; the `error` entry (filter service failure) never does.
 *
 * @example
 * firedCategories({ hate: { filtered: false, severity: 'safe' }, violence: { filtered: true, severity: 'medium' } });
 * // -> ['violence']
 */
export function firedCategories(results: ContentFilterResults | undefined): string[] {
  const fired: string[] = [];
  if (results === undefined || results === null || typeof results !== 'object') return fired;
  for (const key of Object.keys(results)) {
    if (key === NOT_A_CATEGORY || isUnsafeKey(key)) continue;
    if (isFired(results[key])) fired.push(key);
  }
  return fired;
}

/**
 * The filter-service failure Azure reports as `{error: {code, message}}` (the text was
 * NOT moderated; this is not fatal), or undefined.
 *
 * @example
 * filterServiceError({ error: { code: 'content_filter_error', message: 'The contents are not filtered' } })?.code;
 * // -> 'content_filter_error'
 */
export function filterServiceError(
  results: ContentFilterResults | undefined,
): { code: string; message: string } | undefined {
  const error = results?.error;
  return error !== null && typeof error === 'object' ? error : undefined;
}

function isFired(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(isFired); // custom_blocklists, array form
  if (value === null || typeof value !== 'object') return false;
  const entry = value as { filtered?: unknown; details?: unknown };
  if (entry.filtered === true) return true;
  return Array.isArray(entry.details) && entry.details.some(isFired);
}

/**
 * Merges `from` into `into` (mutated, returned) keeping the worst of both per category:
 * `filtered` and `detected` OR-ed, the higher `severity` kept, blocklist entries united by id,
 * other fields (e.g. `citation`) taken from the later object. `into`'s category objects are
 * updated in place; what is taken from `from` is copied, so `into` never aliases `from`.
 *
 * Why "worst of": each streamed chunk (or asynchronous annotation) reports on a slice of the
 * text; the non-streaming response reports on all of it, so one slice firing means it fired.
 * Runs for every chunk whose results add something (see `mergeChangesNothing`), hence no
 * spreads or key arrays.
 *
 * `from` is upstream JSON: only its own keys are read, and `__proto__`, `constructor` and
 * `prototype` are skipped at every level, so no chunk can reach a prototype. A `from` that
 * is not an object adds nothing.
 *
 * @example
 * mergeFilterResults({ hate: { filtered: false, severity: 'safe' } }, { hate: { filtered: false, severity: 'low' } });
 * // -> { hate: { filtered: false, severity: 'low' } }
 */
export function mergeFilterResults(into: ContentFilterResults, from: ContentFilterResults): ContentFilterResults {
  const target = into as Record<string, unknown>;
  if (!isPlainObject(from)) return into;
  for (const key in from) {
    if (!hasOwn.call(from, key) || isUnsafeKey(key)) continue;
    const next = from[key];
    const prev = target[key];
    if (key === 'custom_blocklists') target[key] = mergeBlocklists(prev, next);
    else if (isPlainObject(next) && isPlainObject(prev) && key !== NOT_A_CATEGORY) mergeCategory(prev, next);
    else target[key] = copyObject(next);
  }
  return into;
}

/**
 * True when `mergeFilterResults(into, from)` would leave `into` exactly as it is (every
 * value it would write is already there): the common case of Azure repeating the same
 * all-safe results on every chunk, which a caller can then skip. Reads like the merge (own
 * keys only, unsafe keys skipped); anything the merge would copy (blocklists, a new
 * category, the `error` entry) counts as a change.
 *
 * @example
 * const merged = mergeFilterResults({}, safe);
 * if (!mergeChangesNothing(merged, next)) mergeFilterResults(merged, next);
 */
export function mergeChangesNothing(into: ContentFilterResults, from: ContentFilterResults): boolean {
  const target = into as Record<string, unknown>;
  if (!isPlainObject(from)) return true;
  for (const key in from) {
    if (!hasOwn.call(from, key) || isUnsafeKey(key)) continue;
    const next = from[key];
    const prev = target[key];
    if (key === 'custom_blocklists') return false;
    if (isPlainObject(next)) {
      if (!isPlainObject(prev) || key === NOT_A_CATEGORY) return false;
      for (const field in next) {
        if (!hasOwn.call(next, field) || isUnsafeKey(field)) continue;
        const merged = mergedField(prev, field, next[field]);
        if (merged !== KEEP && !(hasOwn.call(prev, field) && Object.is(prev[field], merged))) return false;
      }
    } else if (!(hasOwn.call(target, key) && Object.is(prev, next))) return false;
  }
  return true;
}

function mergeCategory(prev: Record<string, unknown>, next: Record<string, unknown>): void {
  for (const field in next) {
    if (!hasOwn.call(next, field) || isUnsafeKey(field)) continue;
    const merged = mergedField(prev, field, next[field]);
    if (merged !== KEEP) prev[field] = merged;
  }
}

/** What `mergedField` returns when the category keeps its own value. */
const KEEP: unique symbol = Symbol('keep');

/**
 * The rule for one field of a category: `filtered` and `detected` OR-ed (the first value
 * kept unless a later one is `true`), the higher `severity`, any other field the later value.
 */
function mergedField(prev: Record<string, unknown>, field: string, value: unknown): unknown {
  if (field === 'filtered' || field === 'detected') return value === true || !(field in prev) ? value : KEEP;
  if (field === 'severity') return severityRank(value) > severityRank(prev.severity) ? value : KEEP;
  return value;
}

/** Azure's severities in order; anything else ranks below `safe`. (A switch: a Map lookup cost more than the merge.) */
function severityRank(value: unknown): number {
  switch (value) {
    case 'safe':
      return 0;
    case 'very_low':
      return 1;
    case 'low':
      return 2;
    case 'medium':
      return 3;
    case 'high':
      return 4;
    default:
      return -1;
  }
}

type BlocklistEntry = { filtered: boolean; id: string };

function mergeBlocklists(prev: unknown, next: unknown): unknown {
  if (prev === undefined || prev === null) return Array.isArray(next) ? next.map(copyObject) : copyObject(next);
  if (Array.isArray(prev) && Array.isArray(next)) return uniteEntries(prev, next);
  if (isPlainObject(prev) && isPlainObject(next)) {
    const merged = copySafeKeys(prev);
    for (const key of Object.keys(next)) if (!isUnsafeKey(key)) merged[key] = next[key];
    merged.filtered = prev.filtered === true || next.filtered === true;
    if (Array.isArray(prev.details) || Array.isArray(next.details)) {
      merged.details = uniteEntries(asArray(prev.details), asArray(next.details));
    }
    return merged;
  }
  return Array.isArray(next) ? next.map(copyObject) : copyObject(next); // shapes disagree: the later wins
}

function uniteEntries(a: unknown[], b: unknown[]): BlocklistEntry[] {
  const byId = new Map<string, BlocklistEntry>();
  for (const entry of [...a, ...b]) {
    if (!isPlainObject(entry)) continue;
    const id = String(entry.id);
    const seen = byId.get(id);
    if (seen === undefined) byId.set(id, copySafeKeys(entry) as BlocklistEntry);
    else if (entry.filtered === true) seen.filtered = true;
  }
  return [...byId.values()];
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function copyObject(value: unknown): unknown {
  return isPlainObject(value) ? copySafeKeys(value) : value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
