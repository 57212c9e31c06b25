/**
 * Chunks in, the non-streaming response out: the accumulator behind `final()`, partial
 * results on errors, and the server's non-streaming answers.
 * @module
 */

import type {
  ApiKind,
  ApiTypes,
  ChatChunkChoice,
  ChatCompletion,
  ChatCompletionChoice,
  ChatLogprobs,
  ChatTokenLogprob,
  Completion,
  CompletionChoice,
  CompletionChunkChoice,
  CompletionLogprobs,
  ContentFilterResults,
  PromptFilterResult,
  ToolCall,
  ToolCallDelta,
  Usage,
} from '../types.js';
import type { ChoiceSummary, FinishHow } from './end-state.js';
import { decideEndState, type EndState } from './end-state.js';
import { firedCategories, mergeChangesNothing, mergeFilterResults } from './filters.js';
import { joinParts, pushPart } from './text-parts.js';

/** Collects a stream's chunks into the response a non-streaming request would have returned. */
export interface Accumulator<K extends ApiKind> {
  /** Adds one chunk: any Azure chunk, including prompt-filter, annotation and usage chunks. */
  push(chunk: ApiTypes[K]['chunk']): void;
  /** A snapshot in the exact non-streaming shape; callable any time, independent of later pushes. */
  response(): ApiTypes[K]['response'];
  /**
   * The end state, from how reading stopped and what arrived (see `decideEndState`).
   * On `{error}`, fills `error.partial` with the snapshot if it is unset and chunks arrived.
   */
  finish(how: FinishHow): EndState;
  /** Chunks pushed so far. */
  readonly chunkCount: number;
  readonly kind: K;
}

/**
 * Creates an accumulator for Chat Completions (`'chat'`) or legacy Completions (`'completions'`).
 *
 * What it builds, and from where:
 * - `id`, `created`, `model` from the first real chunk: Azure's prompt-filter and annotation
 *   chunks have `id: ""` and never win over a chunk with an id. `system_fingerprint` is the
 *   first non-null one seen (left out when no chunk had the key).
 * - `choices` sorted by index, each built from the chunks routed to it by `index` (n > 1
 *   interleaves). Chat: `message.role` `'assistant'`; `content` concatenated, `null` when
 *   empty and the choice has tool calls, a function call or a refusal (as OpenAI answers);
 *   `refusal` concatenated (present when a delta had the key); `tool_calls` by their index
 *   (id, type and name from the first delta that has them, arguments concatenated);
 *   legacy `function_call`; `logprobs.content` / `.refusal` appended. Completions: `text`
 *   concatenated; `logprobs` parallel arrays appended.
 * - `finish_reason`: the last non-null one, except that `content_filter` sticks (an async
 *   filter annotation after the finish chunk may turn `stop` into `content_filter`).
 * - `content_filter_results`: per choice, the worst of every chunk's and annotation's results
 *   (see `mergeFilterResults`); Azure's singular `content_filter_result` (filter service
 *   failed) is kept under its own name. `content_filter_offsets` are stream-only and dropped.
 * - `usage` from the usage chunk; `prompt_filter_results` from the prompt-filter chunk, with
 *   the older `prompt_annotations` spelling normalized to it.
 *
 * Costs O(total size): strings are collected as parts and joined once per snapshot.
 *
 * @example
 * const acc = createAccumulator('chat');
 * for await (const chunk of stream) acc.push(chunk);
 * const response = acc.response();           // ChatCompletion
 * const end = acc.finish({ sawDone: true }); // { state: 'completed' } or why not
 */
export function createAccumulator<K extends ApiKind>(kind: K): Accumulator<K> {
  return new StreamAccumulator(kind);
}

// --- internal ---------------------------------------------------------------------------

/** Fields both chunk kinds share (the accumulator reads chunks through this view). */
interface ChunkView {
  id?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string | null;
  service_tier?: unknown;
  choices?: Array<ChatChunkChoice | CompletionChunkChoice> | null;
  usage?: Usage | null;
  prompt_filter_results?: PromptFilterResult[];
  prompt_annotations?: PromptFilterResult[];
}

/** How good a chunk is as the source of id/created/model. */
const HeaderRank = { None: 0, AnyChunk: 1, HasChoices: 2, HasId: 3 } as const;
type HeaderRank = (typeof HeaderRank)[keyof typeof HeaderRank];

class StreamAccumulator<K extends ApiKind> implements Accumulator<K> {
  /**
   * An accumulator that lives as long as the module, so the instances' hidden class does too:
   * a full collection while no stream is alive would otherwise drop it and the optimized code
   * built on it (client/shapes.ts says more). The choice states keep one each, likewise.
   */
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held, never read, on purpose (see above)
  static readonly #keepShape = new StreamAccumulator('chat');
  chunkCount = 0;
  readonly kind: K;
  private headerRank: HeaderRank = HeaderRank.None;
  private id = '';
  private created = 0;
  private model = '';
  private fingerprint: string | null | undefined;
  private serviceTier: unknown;
  private usage: Usage | undefined;
  private prompts: Map<number, PromptFilterResult> | undefined;
  private readonly choices = new Map<number, ChoiceState>();
  /** The choice of the previous chunk: consecutive chunks nearly always share it. */
  private lastChoice: ChoiceState | undefined;

  constructor(kind: K) {
    this.kind = kind;
  }

  push(input: ApiTypes[K]['chunk']): void {
    const chunk = input as ChunkView;
    this.chunkCount++;
    if (this.headerRank !== HeaderRank.HasId) this.takeHeader(chunk);
    const fingerprint = chunk.system_fingerprint;
    if (fingerprint !== undefined && (this.fingerprint === undefined || this.fingerprint === null)) {
      this.fingerprint = fingerprint;
    }
    const choices = chunk.choices;
    if (choices !== undefined && choices !== null) {
      for (let i = 0; i < choices.length; i++) {
        const choice = choices[i]!;
        const index = typeof choice.index === 'number' ? choice.index : 0;
        let state = this.lastChoice;
        if (state === undefined || state.index !== index) {
          state = this.choices.get(index);
          if (state === undefined) {
            state = this.kind === 'chat' ? new ChatChoiceState(index) : new CompletionChoiceState(index);
            this.choices.set(index, state);
          }
          this.lastChoice = state;
        }
        state.push(choice);
      }
    }
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage;
    if (chunk.prompt_filter_results !== undefined) this.takePrompts(chunk.prompt_filter_results);
    if (chunk.prompt_annotations !== undefined) this.takePrompts(chunk.prompt_annotations);
  }

  response(): ApiTypes[K]['response'] {
    const response: Record<string, unknown> = {
      id: this.id,
      object: this.kind === 'chat' ? 'chat.completion' : 'text_completion',
      created: this.created,
      model: this.model,
    };
    if (this.fingerprint !== undefined) response.system_fingerprint = this.fingerprint;
    if (this.serviceTier !== undefined) response.service_tier = this.serviceTier;
    response.choices = this.sortedChoices().map((choice) => choice.build());
    if (this.usage !== undefined) response.usage = structuredClone(this.usage);
    if (this.prompts !== undefined) {
      response.prompt_filter_results = [...this.prompts.values()]
        .sort((a, b) => a.prompt_index - b.prompt_index)
        .map((prompt) => structuredClone(prompt));
    }
    return response as unknown as ApiTypes[K]['response'];
  }

  finish(how: FinishHow): EndState {
    const choices: ChoiceSummary[] = this.sortedChoices().map((choice) => ({
      index: choice.index,
      finishReason: choice.finishReason,
      categories: choice.firedCategories(),
    }));
    const end = decideEndState(how, { choices, sawUsage: this.usage !== undefined });
    if (end.state === 'failed' && end.error.partial === undefined && this.chunkCount > 0) {
      end.error.partial = this.response() as ChatCompletion | Completion;
    }
    return end;
  }

  private takeHeader(chunk: ChunkView): void {
    const rank: HeaderRank =
      typeof chunk.id === 'string' && chunk.id !== ''
        ? HeaderRank.HasId
        : chunk.choices !== undefined && chunk.choices !== null && chunk.choices.length > 0
          ? HeaderRank.HasChoices
          : HeaderRank.AnyChunk;
    if (rank <= this.headerRank) return;
    this.headerRank = rank;
    this.id = typeof chunk.id === 'string' ? chunk.id : '';
    this.created = typeof chunk.created === 'number' ? chunk.created : 0;
    this.model = typeof chunk.model === 'string' ? chunk.model : '';
    if (chunk.service_tier !== undefined) this.serviceTier = chunk.service_tier;
  }

  private takePrompts(list: PromptFilterResult[]): void {
    if (!Array.isArray(list)) return;
    this.prompts ??= new Map();
    for (const prompt of list) {
      const index = typeof prompt.prompt_index === 'number' ? prompt.prompt_index : 0;
      const seen = this.prompts.get(index);
      if (seen === undefined) {
        // Filter results go through the merge (which drops prototype keys) rather than a clone;
        // any other field is cloned (there is rarely one: no clone of the results to throw away).
        const { content_filter_results: _results, content_filter_result: _result, ...rest } = prompt;
        const first: PromptFilterResult = { ...(hasOtherKeys(rest) ? structuredClone(rest) : {}), prompt_index: index };
        if (prompt.content_filter_results !== undefined) {
          first.content_filter_results = mergeFilterResults({}, prompt.content_filter_results);
        }
        if (prompt.content_filter_result !== undefined) {
          first.content_filter_result = mergeFilterResults({}, prompt.content_filter_result);
        }
        this.prompts.set(index, first);
        continue;
      }
      if (prompt.content_filter_results !== undefined) {
        seen.content_filter_results = mergeFilterResults(
          seen.content_filter_results ?? {},
          prompt.content_filter_results,
        );
      }
      if (prompt.content_filter_result !== undefined) {
        seen.content_filter_result = mergeFilterResults(seen.content_filter_result ?? {}, prompt.content_filter_result);
      }
    }
  }

  private sortedChoices(): ChoiceState[] {
    return [...this.choices.values()].sort((a, b) => a.index - b.index);
  }
}

/** What both choice kinds share: finish_reason and filter results. */
abstract class ChoiceState {
  readonly index: number;
  finishReason: string | null = null;
  private mergedFilters: ContentFilterResults | undefined;
  private filterError: ContentFilterResults | undefined;

  constructor(index: number) {
    this.index = index;
  }

  abstract push(choice: ChatChunkChoice | CompletionChunkChoice): void;
  abstract build(): ChatCompletionChoice | CompletionChoice;

  /** Categories that fired across all of this choice's filter results. */
  firedCategories(): string[] {
    const fired = firedCategories(this.mergedFilters);
    for (const category of firedCategories(this.filterError)) if (!fired.includes(category)) fired.push(category);
    return fired;
  }

  protected pushCommon(choice: ChatChunkChoice | CompletionChunkChoice): void {
    const reason = choice.finish_reason;
    // content_filter sticks: a later chunk must not un-filter a blocked choice.
    if (reason !== undefined && reason !== null && this.finishReason !== 'content_filter') this.finishReason = reason;
    const results = choice.content_filter_results;
    if (results !== undefined && results !== null) {
      const merged = this.mergedFilters;
      // Azure repeats the same all-safe results on every chunk: checking that costs less than merging.
      if (merged === undefined) this.mergedFilters = mergeFilterResults({}, results);
      else if (!mergeChangesNothing(merged, results)) mergeFilterResults(merged, results);
    }
    const failed = choice.content_filter_result;
    if (failed !== undefined && failed !== null) this.filterError = mergeFilterResults(this.filterError ?? {}, failed);
  }

  protected addFilterFields(out: Record<string, unknown>): void {
    const merged = this.mergedFilters;
    if (merged !== undefined) out.content_filter_results = structuredClone(merged);
    if (this.filterError !== undefined) out.content_filter_result = structuredClone(this.filterError);
  }
}

interface ToolCallState {
  index: number;
  id: string | undefined;
  type: string | undefined;
  name: string | undefined;
  args: string[];
}

class ChatChoiceState extends ChoiceState {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held for its hidden class (see StreamAccumulator)
  static readonly #keepShape = new ChatChoiceState(0);
  private readonly content: string[] = [];
  /** undefined: no delta had `refusal`; otherwise its parts (possibly none). */
  private refusal: string[] | undefined;
  private toolCalls: Map<number, ToolCallState> | undefined;
  private lastToolCall: ToolCallState | undefined;
  private functionCall: { name: string | undefined; args: string[] } | undefined;
  private logprobs: { content: ChatTokenLogprob[] | null; refusal: ChatTokenLogprob[] | null | undefined } | undefined;

  push(input: ChatChunkChoice | CompletionChunkChoice): void {
    const choice = input as ChatChunkChoice;
    const delta = choice.delta;
    if (delta !== undefined && delta !== null) {
      const content = delta.content;
      if (typeof content === 'string' && content !== '') pushPart(this.content, content);
      if (delta.refusal !== undefined) {
        this.refusal ??= [];
        if (typeof delta.refusal === 'string' && delta.refusal !== '') pushPart(this.refusal, delta.refusal);
      }
      if (delta.tool_calls !== undefined && delta.tool_calls !== null) this.pushToolCalls(delta.tool_calls);
      if (delta.function_call !== undefined && delta.function_call !== null) this.pushFunctionCall(delta.function_call);
    }
    const logprobs = choice.logprobs;
    if (logprobs !== undefined && logprobs !== null) this.pushLogprobs(logprobs);
    this.pushCommon(choice);
  }

  build(): ChatCompletionChoice {
    const text = joinParts(this.content);
    const refusal = this.refusal === undefined ? undefined : joinParts(this.refusal);
    const hasOther =
      this.toolCalls !== undefined || this.functionCall !== undefined || (refusal !== undefined && refusal !== '');
    const message: ChatCompletionChoice['message'] = {
      role: 'assistant',
      content: text === '' && hasOther ? null : text,
    };
    if (refusal !== undefined) message.refusal = refusal === '' ? null : refusal;
    if (this.toolCalls !== undefined) {
      message.tool_calls = [...this.toolCalls.values()].sort((a, b) => a.index - b.index).map(buildToolCall);
    }
    if (this.functionCall !== undefined) {
      message.function_call = { name: this.functionCall.name ?? '', arguments: joinParts(this.functionCall.args) };
    }
    const out: ChatCompletionChoice = {
      index: this.index,
      message,
      logprobs: this.buildLogprobs(),
      finish_reason: this.finishReason,
    };
    this.addFilterFields(out);
    return out;
  }

  private pushToolCalls(deltas: ToolCallDelta[]): void {
    this.toolCalls ??= new Map();
    for (const delta of deltas) {
      // Some OpenAI-compatible servers omit `index`: a delta with an id starts a new call,
      // one without continues the previous call.
      const index =
        typeof delta.index === 'number'
          ? delta.index
          : delta.id !== undefined || this.lastToolCall === undefined
            ? this.toolCalls.size
            : this.lastToolCall.index;
      let call = this.toolCalls.get(index);
      if (call === undefined) {
        call = { index, id: undefined, type: undefined, name: undefined, args: [] };
        this.toolCalls.set(index, call);
      }
      this.lastToolCall = call;
      if (call.id === undefined && typeof delta.id === 'string' && delta.id !== '') call.id = delta.id;
      const type: unknown = delta.type;
      if (call.type === undefined && typeof type === 'string' && type !== '') call.type = type;
      const fn = delta.function;
      if (fn !== undefined && fn !== null) {
        if (call.name === undefined && typeof fn.name === 'string' && fn.name !== '') call.name = fn.name;
        if (typeof fn.arguments === 'string' && fn.arguments !== '') pushPart(call.args, fn.arguments);
      }
    }
  }

  private pushFunctionCall(delta: { name?: string; arguments?: string }): void {
    this.functionCall ??= { name: undefined, args: [] };
    if (this.functionCall.name === undefined && typeof delta.name === 'string' && delta.name !== '') {
      this.functionCall.name = delta.name;
    }
    if (typeof delta.arguments === 'string' && delta.arguments !== '')
      pushPart(this.functionCall.args, delta.arguments);
  }

  private pushLogprobs(logprobs: ChatLogprobs): void {
    this.logprobs ??= { content: null, refusal: undefined };
    if (Array.isArray(logprobs.content)) this.logprobs.content = append(this.logprobs.content ?? [], logprobs.content);
    if (logprobs.refusal !== undefined) {
      this.logprobs.refusal = Array.isArray(logprobs.refusal)
        ? append(this.logprobs.refusal ?? [], logprobs.refusal)
        : (this.logprobs.refusal ?? null);
    }
  }

  private buildLogprobs(): ChatLogprobs | null {
    if (this.logprobs === undefined) return null;
    const out: ChatLogprobs = { content: this.logprobs.content === null ? null : this.logprobs.content.slice() };
    if (this.logprobs.refusal !== undefined)
      out.refusal = this.logprobs.refusal === null ? null : this.logprobs.refusal.slice();
    return out;
  }
}

class CompletionChoiceState extends ChoiceState {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: held for its hidden class (see StreamAccumulator)
  static readonly #keepShape = new CompletionChoiceState(0);
  private readonly text: string[] = [];
  private logprobs:
    | {
        tokens: string[];
        token_logprobs: Array<number | null>;
        top_logprobs: Array<Record<string, number> | null>;
        text_offset: number[];
        topSeen: boolean;
      }
    | undefined;

  push(input: ChatChunkChoice | CompletionChunkChoice): void {
    const choice = input as CompletionChunkChoice;
    const text = choice.text;
    if (typeof text === 'string' && text !== '') pushPart(this.text, text);
    const logprobs = choice.logprobs;
    if (logprobs !== undefined && logprobs !== null) this.pushLogprobs(logprobs);
    this.pushCommon(choice);
  }

  build(): CompletionChoice {
    const out: CompletionChoice = {
      text: joinParts(this.text),
      index: this.index,
      logprobs: this.buildLogprobs(),
      finish_reason: this.finishReason,
    };
    this.addFilterFields(out);
    return out;
  }

  private pushLogprobs(logprobs: CompletionLogprobs): void {
    this.logprobs ??= {
      tokens: [],
      token_logprobs: [],
      top_logprobs: [],
      text_offset: [],
      topSeen: false,
    };
    const lp = this.logprobs;
    const tokens = Array.isArray(logprobs.tokens) ? logprobs.tokens : [];
    append(lp.tokens, tokens);
    if (Array.isArray(logprobs.token_logprobs)) append(lp.token_logprobs, logprobs.token_logprobs);
    if (Array.isArray(logprobs.top_logprobs)) {
      lp.topSeen = true;
      append(lp.top_logprobs, logprobs.top_logprobs);
    } else {
      // Keep the arrays parallel: a chunk without top_logprobs contributes one null per token.
      for (let i = 0; i < tokens.length; i++) lp.top_logprobs.push(null);
    }
    if (Array.isArray(logprobs.text_offset)) append(lp.text_offset, logprobs.text_offset);
  }

  private buildLogprobs(): CompletionLogprobs | null {
    const lp = this.logprobs;
    if (lp === undefined) return null;
    return {
      tokens: lp.tokens.slice(),
      token_logprobs: lp.token_logprobs.slice(),
      top_logprobs: lp.topSeen ? lp.top_logprobs.slice() : null,
      text_offset: lp.text_offset.slice(),
    };
  }
}

function buildToolCall(call: ToolCallState): ToolCall {
  return {
    id: call.id ?? '',
    type: (call.type ?? 'function') as ToolCall['type'],
    function: { name: call.name ?? '', arguments: joinParts(call.args) },
  };
}

/** Appends in place without spreading (spreading a long array can overflow the stack). */
function append<T>(target: T[], items: readonly T[]): T[] {
  for (let i = 0; i < items.length; i++) target.push(items[i]!);
  return target;
}

/** True when `entry` has a key besides `prompt_index`. */
function hasOtherKeys(entry: object): boolean {
  for (const key in entry) if (key !== 'prompt_index') return true;
  return false;
}
