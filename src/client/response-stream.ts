/**
 * ResponseStream: one streamed Chat Completions or Completions answer, whatever produced it
 * (an HTTP call, any Backend). The machinery (time-outs, abort, metrics, end states) is
 * EventStream's; this adds what chunks mean: the shape checks, the accumulator, per-choice
 * text and the SSE relay.
 * @module
 */
import type { SluiceError } from '../errors.js';
import { type Accumulator, createAccumulator } from '../protocol/accumulate.js';
import { type EndState, type FinishHow, truncationError } from '../protocol/end-state.js';
import { checkChunk, DEFAULT_SHAPE_LIMITS, type ShapeLimits } from '../protocol/shape.js';
import { relayToSse } from '../protocol/sse-relay.js';
import { choiceText, type TextDelta, textDeltas } from '../protocol/text.js';
import type { ApiKind, ApiTypes, Usage } from '../types.js';
import {
  EventStream,
  type EventStreamOptions,
  type ItemSource,
  type StreamCodec,
  type StreamOutcome,
} from './event-stream.js';
import { httpSource } from './http-source.js';
import { tokenDeltas } from './metrics.js';
import { keepShape } from './shapes.js';

export {
  type ResponseMeta,
  type SourceContext,
  type SourceEnd,
  toSluiceError,
} from './event-stream.js';

/** The outcome of a stream: never a rejection for stream faults, the end state says it. */
export type StreamResult<K extends ApiKind> = StreamOutcome<ApiTypes[K]['response']>;

/**
 * Produces chunks. Returning normally means `[DONE]` unless it returns `{sawDone: false}`;
 * throwing a SluiceError fails the stream. Work may start eagerly, when the function is
 * called (the HTTP source sends its request at once).
 */
export type ChunkSource<K extends ApiKind> = ItemSource<ApiTypes[K]['chunk']>;

export interface ResponseStreamOptions extends EventStreamOptions {
  /**
   * Bounds on choice and tool-call indexes (see `shapeLimitsFor` in `sluice/protocol`);
   * default 128 choices and 128 tool calls. A chunk beyond them ends the stream.
   */
  limits?: ShapeLimits | undefined;
}

type Chunk<K extends ApiKind> = ApiTypes[K]['chunk'];

/**
 * A streamed response. Iterate it once (for-await, `textDeltas()`, `toSSE()`,
 * `toReadableStream()`), or just await `final()` / `text()`.
 *
 * @example
 * const stream = client.chat.stream({ messages: [{ role: 'user', content: 'Hi' }] });
 * for await (const { text } of stream.textDeltas()) process.stdout.write(text);
 * const { end, metrics } = await stream.final();
 */
export class ResponseStream<K extends ApiKind> extends EventStream<Chunk<K>, ApiTypes[K]['response']> {
  readonly kind: K;

  constructor(kind: K, source: ChunkSource<K>, options: ResponseStreamOptions = {}) {
    super(source, new ChunkCodec(kind, options.limits ?? DEFAULT_SHAPE_LIMITS), options);
    this.kind = kind;
  }

  /**
   * Per-choice text as it arrives (chunks and choices without text are skipped).
   * @example
   * for await (const { index, text } of stream.textDeltas()) if (index === 0) process.stdout.write(text);
   */
  async *textDeltas(): AsyncGenerator<TextDelta, void, undefined> {
    for await (const chunk of this) {
      const deltas = textDeltas(chunk);
      for (let i = 0; i < deltas.length; i++) yield deltas[i]!;
    }
  }

  /**
   * Choice 0's whole text. Rejects with the stream's error (its `partial` keeps what
   * arrived) when the stream failed, was truncated or aborted; a completion stopped by the
   * content filter resolves with the text that was let through.
   */
  async text(): Promise<string> {
    const result = await this.final();
    if (result.error) throw result.error;
    const choices: ReadonlyArray<{ index: number }> = result.response.choices;
    return choiceText(choices.find((c) => c.index === 0)) ?? '';
  }

  /**
   * The stream re-encoded as SSE bytes for a server to forward, by the one relay
   * (protocol/sse-relay.ts): `data: <chunk json>` per chunk, then `data: [DONE]`; any
   * failure (truncation and abort included) ends it with one `data: {"error": ...}` frame
   * and no `[DONE]`. Cancelling it aborts the request.
   */
  toSSE(): ReadableStream<Uint8Array> {
    return relayToSse(this.relayIterator());
  }
}

/**
 * What chunks mean to the stream: checked by `checkChunk`, accumulated by `createAccumulator`.
 * A class, not a literal of closures: the stream calls these per chunk, and one method per
 * name for every stream stays inlined where a closure per stream would not.
 */
export class ChunkCodec<K extends ApiKind> implements StreamCodec<Chunk<K>, ApiTypes[K]['response']> {
  readonly #acc: Accumulator<K>;
  readonly #limits: ShapeLimits;

  constructor(kind: K, limits: ShapeLimits) {
    this.#acc = createAccumulator(kind);
    this.#limits = limits;
  }

  check(chunk: Chunk<K>): Chunk<K> {
    return checkChunk(chunk, this.#limits);
  }

  tokens(chunk: Chunk<K>): number {
    return tokenDeltas(chunk);
  }

  usage(chunk: Chunk<K>): Usage | null | undefined {
    return chunk.usage;
  }

  push(chunk: Chunk<K>): void {
    this.#acc.push(chunk);
  }

  count(): number {
    return this.#acc.chunkCount;
  }

  response(): ApiTypes[K]['response'] {
    return this.#acc.response();
  }

  finish(how: FinishHow): EndState {
    return this.#acc.finish(how);
  }

  endError(end: EndState, cause: unknown): SluiceError | undefined {
    if (end.state !== 'truncated') return undefined;
    // Chat streams only ever end `no-done` / `unfinished-choice` (a limit is a `length` finish).
    const reason = end.reason === 'unfinished-choice' ? 'unfinished-choice' : 'no-done';
    return truncationError({ ...end, reason }, this.#acc.response(), cause);
  }

  empty(): ApiTypes[K]['response'] {
    return { choices: [] } as unknown as ApiTypes[K]['response'];
  }
}

/**
 * A stream that lives as long as the module, never read, so the hidden classes of a stream
 * and of its parts (codec, accumulator, metrics, watchdog, source, iterator) survive a full
 * collection while no other stream is alive (see client/shapes.ts).
 */
const idle = new ResponseStream(
  'chat',
  httpSource<'chat'>(() => new Promise(() => {})),
);
keepShape(idle[Symbol.asyncIterator]());
keepShape(idle);
