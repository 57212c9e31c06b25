/**
 * Builds OpenAI / Azure OpenAI stream chunks: the one vocabulary every producer speaks (the
 * local and scripted backends, the Azure test server, test fixtures), so a shape is decided
 * once. Plain objects and no Node APIs: the web page may use it too.
 *
 * Shapes (see docs/protocol.md): one `id`, `object`, `created`, `model` for every chunk of a
 * request; a chat choice starts with a role chunk (`delta: {role: 'assistant', content: ''}`),
 * continues with content chunks and ends with a finish chunk (`delta: {}`); a completions
 * choice has no role chunk and ends with `text: ""`; the usage chunk has no choices. Azure adds
 * per-choice `content_filter_results`, a first prompt-filter chunk and, in its asynchronous
 * filter mode, annotation chunks; these three have `id: ""`, `object: ""`, `created: 0`.
 * @module
 */
import type {
  ApiKind,
  ApiTypes,
  ChatChunkChoice,
  CompletionChunkChoice,
  ContentFilterOffsets,
  ContentFilterResults,
  FinishReason,
  PromptFilterResult,
  Usage,
} from '../types.js';

export interface ChunkBuilderOptions {
  /** The model name every chunk carries. */
  model: string;
  /** Default: a fresh `chatcmpl-…` / `cmpl-…` id with 24 random letters and digits, like OpenAI's. */
  id?: string;
  /** Unix seconds. Default: now. */
  created?: number;
  /** `system_fingerprint` on every chunk; left out when undefined (OpenAI sends null, Azure a string). */
  systemFingerprint?: string | null;
  /**
   * `usage: null` on every chunk but the usage chunk, as OpenAI sends when the request had
   * `stream_options.include_usage`. Default false: no `usage` key.
   */
  usageNull?: boolean;
  /**
   * Azure's per-choice filter results: content chunks carry a copy of these, role and finish
   * chunks `{}` (each call may pass its own). Default: none, OpenAI's shape.
   */
  contentFilterResults?: ContentFilterResults;
}

/** Builds the chunks of one response; every chunk is a fresh object the caller may change. */
export interface ChunkBuilder<K extends ApiKind> {
  readonly kind: K;
  readonly id: string;
  readonly created: number;
  readonly model: string;
  /** Chat: the first chunk of choice `index`. Completions have no role chunk: null. */
  role(index?: number): ApiTypes[K]['chunk'] | null;
  /** A piece of text of choice `index`; `filterResults` replaces the builder's. */
  content(index: number, text: string, filterResults?: ContentFilterResults): ApiTypes[K]['chunk'];
  /**
   * Chat: the first chunk of a tool call, `delta.tool_calls: [{index: call, id, type: 'function',
   * function: {name, arguments: ''}}]`; its arguments follow in `toolArguments` chunks.
   */
  toolCall(index: number, call: number, id: string, name: string): ApiTypes[K]['chunk'];
  /** Chat: a piece of a tool call's arguments, `delta.tool_calls: [{index: call, function: {arguments}}]`. */
  toolArguments(index: number, call: number, text: string): ApiTypes[K]['chunk'];
  /** The last chunk of choice `index` (chat `delta: {}`, completions `text: ""`). */
  finish(index: number, reason: FinishReason, filterResults?: ContentFilterResults): ApiTypes[K]['chunk'];
  /** The usage chunk: no choices, and the only chunk whose `usage` is set. */
  usage(usage: Usage): ApiTypes[K]['chunk'];
  /** Any choices under this response's id (several choices at once, tool calls, logprobs); `extra` fields last. */
  chunk(choices: ApiTypes[K]['chunk']['choices'], extra?: Partial<ApiTypes[K]['chunk']>): ApiTypes[K]['chunk'];
  /**
   * Azure's first chunk: prompt filter results and no choices. An object stands for the
   * results of prompt 0; an array is sent as it is.
   */
  promptFilter(results: ContentFilterResults | PromptFilterResult[]): ApiTypes[K]['chunk'];
  /**
   * An asynchronous-filter annotation for choice `index`: filter results and the offsets
   * they cover, no `delta`/`text`. It may come after the choice's finish chunk;
   * `finishReason: 'content_filter'` retracts the text.
   */
  annotation(
    index: number,
    results: ContentFilterResults,
    offsets: ContentFilterOffsets,
    finishReason?: FinishReason | null,
  ): ApiTypes[K]['chunk'];
}

/**
 * Starts a response: its id, time and model, then one call per chunk.
 *
 * @example
 * ```ts
 * const chunks = chunkBuilder('chat', { model: 'gpt-4o', usageNull: true });
 * yield chunks.role(0);
 * yield chunks.content(0, 'Hello');
 * yield chunks.finish(0, 'stop');
 * yield chunks.usage({ prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 });
 * ```
 *
 * @example
 * ```ts
 * // Azure's shape: prompt-filter chunk first, filter results on every choice.
 * const azure = chunkBuilder('completions', { model: 'gpt-35-turbo-instruct', contentFilterResults: safeFilterResults() });
 * [azure.promptFilter(safeFilterResults()), azure.content(0, 'Once'), azure.finish(0, 'length')];
 * ```
 */
export function chunkBuilder<K extends ApiKind>(kind: K, options: ChunkBuilderOptions): ChunkBuilder<K> {
  const chat = kind === 'chat';
  const id = options.id ?? randomId(chat ? 'chatcmpl' : 'cmpl');
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const { model, systemFingerprint, usageNull, contentFilterResults } = options;
  type Chunk = ApiTypes[K]['chunk'];
  type Choice = Chunk['choices'][number];

  const chunk = (choices: Chunk['choices'], extra?: Partial<Chunk>): Chunk => {
    const out = { id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model } as Chunk;
    if (systemFingerprint !== undefined) out.system_fingerprint = systemFingerprint;
    out.choices = choices;
    if (usageNull) out.usage = null;
    return extra ? Object.assign(out, extra) : out;
  };
  /** Filter results for a choice: the call's, else `{}` (role, finish) or the builder's (content). */
  const filters = (choice: Choice, own: ContentFilterResults | undefined, forText: boolean): Choice => {
    const results = own ?? (forText ? contentFilterResults : contentFilterResults && {});
    if (results !== undefined) choice.content_filter_results = copy(results);
    return choice;
  };
  /** A choice with text (finish null) or the choice's last one (chat `delta: {}`, completions `text: ""`). */
  const textChoice = (index: number, text: string, finish: FinishReason | null): Choice => {
    if (!chat) return { text, index, logprobs: null, finish_reason: finish } satisfies CompletionChunkChoice;
    const delta = finish === null ? { content: text } : {};
    return { index, delta, logprobs: null, finish_reason: finish } satisfies ChatChunkChoice as Choice;
  };

  return {
    kind,
    id,
    created,
    model,
    role(index = 0) {
      if (!chat) return null;
      const choice: ChatChunkChoice = {
        index,
        delta: { role: 'assistant', content: '' },
        logprobs: null,
        finish_reason: null,
      };
      return chunk([filters(choice as Choice, undefined, false)] as Chunk['choices']);
    },
    content(index, text, filterResults) {
      return chunk([filters(textChoice(index, text, null), filterResults, true)] as Chunk['choices']);
    },
    toolCall(index, call, callId, name) {
      const delta = {
        tool_calls: [{ index: call, id: callId, type: 'function' as const, function: { name, arguments: '' } }],
      };
      const choice: ChatChunkChoice = { index, delta, logprobs: null, finish_reason: null };
      return chunk([filters(choice as Choice, undefined, true)] as Chunk['choices']);
    },
    toolArguments(index, call, text) {
      const choice: ChatChunkChoice = {
        index,
        delta: { tool_calls: [{ index: call, function: { arguments: text } }] },
        logprobs: null,
        finish_reason: null,
      };
      return chunk([filters(choice as Choice, undefined, true)] as Chunk['choices']);
    },
    finish(index, reason, filterResults) {
      return chunk([filters(textChoice(index, '', reason), filterResults, false)] as Chunk['choices']);
    },
    usage(usage) {
      const out = chunk([] as Chunk['choices']);
      out.usage = copy(usage);
      return out;
    },
    chunk,
    promptFilter(results) {
      const list = Array.isArray(results) ? results : [{ prompt_index: 0, content_filter_results: results }];
      const out = headless([]);
      out.prompt_filter_results = copy(list);
      return out;
    },
    annotation(index, results, offsets, finishReason = null) {
      const choice = {
        index,
        finish_reason: finishReason,
        content_filter_results: copy(results),
        content_filter_offsets: { ...offsets },
      };
      return headless([choice]);
    },
  };

  function headless(choices: Choice[]): Chunk {
    return { id: '', object: '', created: 0, model: '', choices } as Chunk;
  }
}

/**
 * What Azure's default filter reports for harmless text: the four severity categories, not
 * filtered, severity `safe`. A fresh object per call.
 *
 * @example
 * safeFilterResults().violence; // { filtered: false, severity: 'safe' }
 */
export function safeFilterResults(): ContentFilterResults {
  return {
    hate: { filtered: false, severity: 'safe' },
    self_harm: { filtered: false, severity: 'safe' },
    sexual: { filtered: false, severity: 'safe' },
    violence: { filtered: false, severity: 'safe' },
  };
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `<prefix>-` and 24 random letters and digits, like OpenAI's ids (Web Crypto: Node and
 * browsers alike). Tool calls use `randomId('call', '_')`.
 *
 * @example
 * randomId('chatcmpl'); // 'chatcmpl-9x…'
 */
export function randomId(prefix: string, separator = '-'): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let out = `${prefix}${separator}`;
  for (const byte of bytes) out += ID_ALPHABET[byte % ID_ALPHABET.length];
  return out;
}

// --- internal ---

/** Filter results and prompt results are plain JSON: a deep copy keeps every chunk independent. */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
