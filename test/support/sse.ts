/**
 * Test helpers: run the decoder over bytes with a given chunking and record every callback
 * in one ordered log, for both byte-operation implementations.
 */
import { type ByteOps, defaultByteOps, portableByteOps } from '../../src/sse/bytes.js';
import { createDecoderWith, type DecoderEnd, type DecoderOptions, type SseEvent } from '../../src/sse/decoder.js';

export type LogEntry = { event: SseEvent } | { retry: number } | { comment: string };

export interface Run {
  log: LogEntry[];
  end: DecoderEnd;
  lastEventId: string;
}

export const byteOpsUnderTest: ReadonlyArray<{ name: string; ops: ByteOps }> = [
  { name: 'node', ops: defaultByteOps },
  { name: 'portable', ops: portableByteOps },
];

export const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `bytes` cut into pieces of `size` bytes (the last may be shorter). */
export function slices(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** `bytes` cut at the given positions (sorted, deduplicated, out-of-range ones dropped). */
export function cutAt(bytes: Uint8Array, positions: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(positions.filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Feeds `chunks` to a fresh decoder and returns the log, the end report and the last event ID. */
export function run(chunks: readonly Uint8Array[], options?: DecoderOptions, ops: ByteOps = defaultByteOps): Run {
  const log: LogEntry[] = [];
  const decoder = createDecoderWith(
    ops,
    {
      onEvent: (event) => log.push({ event }),
      onRetry: (retry) => log.push({ retry }),
      onComment: (comment) => log.push({ comment }),
    },
    options,
  );
  for (const c of chunks) decoder.feed(c);
  const lastEventId = decoder.lastEventId;
  return { log, end: decoder.end(), lastEventId };
}

/** The chunkings every example input is fed with: whole, then 256-, 64-, 8- and 1-byte slices. */
export const SLICE_SIZES = [Number.POSITIVE_INFINITY, 256, 64, 8, 1] as const;

/**
 * Runs `input` whole and in 256/64/8/1-byte slices with both byte implementations, checks
 * that every run gives the same result, and returns it.
 */
export function decodeEveryWay(input: string | Uint8Array, options?: DecoderOptions): Run {
  const bytes = typeof input === 'string' ? encode(input) : input;
  let first: Run | undefined;
  for (const { name, ops } of byteOpsUnderTest) {
    for (const size of SLICE_SIZES) {
      const chunks = size === Number.POSITIVE_INFINITY ? [bytes] : slices(bytes, size);
      const r = run(chunks, options, ops);
      if (first === undefined) first = r;
      else if (JSON.stringify(r) !== JSON.stringify(first)) {
        throw new Error(
          `${name} ops with ${size}-byte slices differ from the whole input:\n${JSON.stringify(r)}\nvs\n${JSON.stringify(first)}`,
        );
      }
    }
  }
  return first as Run;
}

/** Just the events of a run. */
export function events(r: Run): SseEvent[] {
  return r.log.flatMap((e) => ('event' in e ? [e.event] : []));
}
