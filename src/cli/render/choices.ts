/**
 * Several choices (`-n 2` or more) in one stream interleave chunk by chunk. On screen each
 * choice must read as one piece, in index order, with nothing lost. The sequencer streams
 * one choice live (the lowest unfinished index) and buffers the others; when the live one
 * finishes, the next one's buffer is flushed and it continues live. A choice that never
 * arrived gets no label (the caller reports it missing). Pure: it only calls the `emit`
 * callbacks.
 * @module
 */

export interface ChoiceEmitter {
  /** A choice starts (print its label). */
  begin(index: number): void;
  text(index: number, text: string): void;
  /** A choice is over (finished, or the stream ended). */
  end(index: number): void;
}

export interface ChoiceSequencer {
  text(index: number, text: string): void;
  /** The choice got its finish_reason. */
  finish(index: number): void;
  /** The stream is over: every remaining choice is printed, in order. */
  close(): void;
}

/**
 * @example
 * const seq = createChoiceSequencer(2, emitter);
 * seq.text(1, 'b'); seq.text(0, 'a'); seq.finish(0); // emits: begin 0, 'a', end 0, begin 1, 'b'
 */
export function createChoiceSequencer(n: number, emit: ChoiceEmitter): ChoiceSequencer {
  const buffers = new Map<number, string[]>();
  const finished = new Set<number>();
  /** Choices that sent anything (text or a finish_reason): only those get a label. */
  const arrived = new Set<number>();
  let current = -1; // the choice shown live; -1 before the first text
  let begun = false; // whether `current`'s label is out
  let count = n;
  function start(index: number): void {
    current = index;
    begun = false;
    if (arrived.has(index)) begin();
  }
  function begin(): void {
    begun = true;
    emit.begin(current);
    const pending = buffers.get(current);
    if (pending) {
      for (const t of pending) emit.text(current, t);
      buffers.delete(current);
    }
  }
  function end(): void {
    if (begun) emit.end(current);
  }
  /** Moves past every finished choice, starting the next unfinished one. */
  function advance(): void {
    while (current >= 0 && finished.has(current) && current + 1 < count) {
      end();
      start(current + 1);
    }
  }
  function saw(index: number): void {
    arrived.add(index);
    if (index + 1 > count) count = index + 1;
    if (current < 0) start(0);
    if (index === current && !begun) begin();
  }
  return {
    text(index, text) {
      saw(index);
      if (index === current) emit.text(index, text);
      else {
        const list = buffers.get(index);
        if (list) list.push(text);
        else buffers.set(index, [text]);
      }
    },
    finish(index) {
      saw(index);
      finished.add(index);
      advance();
    },
    close() {
      if (current < 0) return;
      end();
      for (let i = current + 1; i < count; i++) {
        if (!arrived.has(i)) continue;
        start(i);
        end();
      }
      current = count; // closed
    },
  };
}
