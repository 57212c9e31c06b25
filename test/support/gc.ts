// Whether an object is still held, for tests of what a stream keeps alive while it is open.
// The test runner has no --expose-gc: the flag is set at run time and V8's `gc` taken from a
// fresh context, where it appears once the flag is on.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Which of `refs` still point at a live object after a full collection: `true` for each one
 * something still holds. Waits a turn first, as a WeakRef keeps its target alive until the
 * end of the job that made or read it.
 */
export async function stillHeld(refs: readonly WeakRef<object>[]): Promise<boolean[]> {
  await nextTurn();
  gc();
  return refs.map((ref) => ref.deref() !== undefined);
}
