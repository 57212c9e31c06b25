// For tests of what a stream keeps alive while it is open: a backend that sends a few chunks
// and then falls silent, and whether the chunks it sent are still held by anyone.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Backend } from '../../src/backend.js';
import { type ChunkBuilder, chunkBuilder } from '../../src/protocol/index.js';
import type { AnyChunk } from '../../src/types.js';

// The test runner has no --expose-gc: the flag is set at run time and V8's `gc` taken from a
// fresh context, where it appears once the flag is on.
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

/** A chat backend that sends `first` (one chunk each, made when asked) and then parks. */
export interface ParkedBackend {
  backend: Backend;
  /** The chunks sent so far, followed weakly. */
  made: WeakRef<object>[];
  /** Sends the finish chunk, and then the end. */
  open(): void;
}

/**
 * A backend whose stream sends the chunks `first` makes, then waits before its finish chunk
 * until `open()`. Its stream is an iterator object, not a generator, so that nothing of the
 * backend itself holds a chunk it sent.
 */
export function parkedBackend(first: readonly ((build: ChunkBuilder<'chat'>) => AnyChunk)[]): ParkedBackend {
  const build = chunkBuilder('chat', { model: 'm' });
  const made: WeakRef<object>[] = [];
  let open!: () => void;
  const parked = new Promise<void>((resolve) => {
    open = resolve;
  });
  const iterator = (): AsyncIterator<AnyChunk> => {
    let sent = 0;
    return {
      next() {
        const at = sent++;
        const make = first[at];
        if (make) {
          const chunk = make(build);
          made.push(new WeakRef(chunk));
          return Promise.resolve({ value: chunk, done: false });
        }
        if (at === first.length) return parked.then(() => ({ value: build.finish(0, 'stop'), done: false }));
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  };
  return { backend: { name: 'parked', stream: () => ({ [Symbol.asyncIterator]: iterator }) }, made, open };
}
