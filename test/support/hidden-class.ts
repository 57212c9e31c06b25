// For tests of what keeps V8's hidden classes (client/shapes.ts): whether two objects have the
// same one. The runner has no --allow-natives-syntax: the flag is set at run time, before the
// function that uses it is compiled.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--allow-natives-syntax');

/** True when `a` and `b` have the same hidden class (V8's map). */
export const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
