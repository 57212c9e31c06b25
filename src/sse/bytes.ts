/**
 * The byte operations the decoder needs — find a byte, decode a UTF-8 range, take a buffer
 * for a line that spans chunks — done as fast as the platform allows.
 *
 * On Node.js a `Buffer` view of each chunk gives `indexOf` through `memchr` and `utf8Slice`
 * straight into V8 (a one-byte string for ASCII lines), several times faster per call than
 * `TextDecoder` on a `subarray`. Elsewhere (browsers) the portable path uses `Uint8Array`
 * and one `TextDecoder`. `Buffer` is looked up on `globalThis` rather than imported, so a
 * browser bundle never pulls in a Node built-in.
 * @module
 */

/** Finds a byte in a chunk view and decodes UTF-8 ranges of it. */
export interface ByteOps {
  /** A view of `chunk` (no copy) on which `indexOf(byte, from)` is fast. */
  view(chunk: Uint8Array): Uint8Array;
  /**
   * Decodes `view[start, end)` as UTF-8: invalid sequences become U+FFFD, and a BOM is kept
   * (only the stream's first BOM is special, and the decoder strips that itself).
   */
  text(view: Uint8Array, start: number, end: number): string;
  /**
   * A new buffer of `size` bytes, already a view, with unspecified contents. On Node small
   * ones come from Buffer's shared pool: a decoder per response then costs no allocation
   * of its own memory.
   */
  alloc(size: number): Uint8Array;
}

const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Works anywhere `TextDecoder` exists. */
export const portableByteOps: ByteOps = {
  view: (chunk) => chunk,
  text: (view, start, end) => textDecoder.decode(view.subarray(start, end)),
  alloc: (size) => new Uint8Array(size),
};

interface NodeBufferView extends Uint8Array {
  utf8Slice(start: number, end: number): string;
}
interface NodeBufferConstructor {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferView;
  isBuffer(value: unknown): boolean;
  allocUnsafe(size: number): NodeBufferView;
  prototype: { utf8Slice?: unknown };
}

function nodeByteOps(): ByteOps | undefined {
  const NodeBuffer = (globalThis as unknown as { Buffer?: NodeBufferConstructor }).Buffer;
  if (NodeBuffer === undefined || typeof NodeBuffer.prototype.utf8Slice !== 'function') return undefined;
  return {
    view: (chunk) =>
      NodeBuffer.isBuffer(chunk) ? chunk : NodeBuffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
    text: (view, start, end) => (view as NodeBufferView).utf8Slice(start, end),
    alloc: (size) => NodeBuffer.allocUnsafe(size),
  };
}

/** The fastest operations available here. */
export const defaultByteOps: ByteOps = nodeByteOps() ?? portableByteOps;
