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
