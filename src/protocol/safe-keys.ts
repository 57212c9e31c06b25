/**
 * The keys no upstream-supplied object may hand to an assignment. `JSON.parse` makes
 * `"__proto__"` an ordinary own key, but `target[key] = value` with that key replaces the
 * target's prototype, and a later merge into "that object" writes into `Object.prototype`
 * for the whole process. Every merge or copy of upstream JSON skips these keys.
 * @module
 */

/**
 * True for `__proto__`, `constructor` and `prototype`.
 *
 * @example
 * for (const key of Object.keys(upstream)) if (!isUnsafeKey(key)) target[key] = upstream[key];
 */
export function isUnsafeKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype';
}

/**
 * A shallow copy of an upstream object's own keys, without the unsafe ones: what a merge may
 * keep of it.
 *
 * @example
 * copySafeKeys(JSON.parse('{"a":1,"__proto__":{"polluted":true}}')); // { a: 1 }
 */
export function copySafeKeys(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) if (!isUnsafeKey(key)) out[key] = value[key];
  return out;
}
