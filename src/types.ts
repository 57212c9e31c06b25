/**
 * Wire types for OpenAI / Azure OpenAI Completions and Chat Completions, streamed and not.
 *
 * Field names follow the wire exactly (snake_case). Every Azure extension is optional and
 * unknown fields are allowed through, because Microsoft adds fields at any time.
 * Wire facts: Microsoft's Azure OpenAI reference (2024-10-21) and content-filtering docs.
 * @module
 */

// --- content filtering (Azure) ---------------------------------------------------------

export type FilterSeverity = 'safe' | 'low' | 'medium' | 'high';

/** A severity category: hate, sexual, violence, self_harm. */
export interface SeverityFilterResult {
  filtered: boolean;
  severity?: FilterSeverity;
}

/** A detection category: jailbreak, indirect_attack, profanity, protected material, ... */
export interface DetectionFilterResult {
  filtered: boolean;
  detected?: boolean;
  citation?: { URL?: string; license?: string };
}

/** Per-prompt or per-choice filter results; `{}` is common. */
export interface ContentFilterResults {
  hate?: SeverityFilterResult;
  sexual?: SeverityFilterResult;
  violence?: SeverityFilterResult;
  self_harm?: SeverityFilterResult;
  jailbreak?: DetectionFilterResult;
  indirect_attack?: DetectionFilterResult;
  profanity?: DetectionFilterResult;
  protected_material_text?: DetectionFilterResult;
  protected_material_code?: DetectionFilterResult;
  custom_blocklists?:
    | { filtered: boolean; details?: Array<{ filtered: boolean; id: string }> }
    | Array<{ filtered: boolean; id: string }>;
  /** Present when the filter service itself failed: the text is unmoderated (not fatal). */
  error?: { code: string; message: string };
  [category: string]: unknown;
}

export interface PromptFilterResult {
  prompt_index: number;
  content_filter_results?: ContentFilterResults;
  /** Singular spelling, used when the filter service failed. */
  content_filter_result?: ContentFilterResults;
}

/** Asynchronous filter mode: which part of the text an annotation covers. */
export interface ContentFilterOffsets {
  check_offset: number;
  start_offset: number;
  end_offset: number;
}

// --- usage and logprobs ----------------------------------------------------------------

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number; [k: string]: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: number; [k: string]: unknown } | null;
  [k: string]: unknown;
}

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
}

export interface ChatTokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

export interface ChatLogprobs {
  content: ChatTokenLogprob[] | null;
  refusal?: ChatTokenLogprob[] | null;
}

/** Legacy Completions logprobs (parallel arrays). */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: Array<number | null>;
  top_logprobs: Array<Record<string, number> | null> | null;
  text_offset: number[];
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call' | (string & {});

// --- chat requests ---------------------------------------------------------------------

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';

export interface ContentPartText {
  type: 'text';
  text: string;
}
export interface ContentPartImage {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
}
export type ContentPart = ContentPartText | ContentPartImage | { type: string; [k: string]: unknown };

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: ChatRole;
  content: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  refusal?: string | null;
  [k: string]: unknown;
}

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export interface StreamOptions {
  include_usage?: boolean;
}

/** Fields shared by both request kinds. */
export interface CommonRequestFields {
  /** Model (OpenAI, Azure v1) or deployment name; optional on Azure deployment routes. */
  model?: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  user?: string;
  stream?: boolean | null;
  stream_options?: StreamOptions | null;
  [k: string]: unknown;
}

export interface ChatCompletionRequest extends CommonRequestFields {
  messages: ChatMessage[];
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  tools?: ToolDefinition[];
  tool_choice?: 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };
  parallel_tool_calls?: boolean;
  response_format?: { type: string; [k: string]: unknown };
}

export interface CompletionRequest extends CommonRequestFields {
  prompt: string | string[];
  /** Legacy: integer 0-5, number of top logprobs per token. */
  logprobs?: number | null;
  echo?: boolean | null;
  suffix?: string | null;
  best_of?: number | null;
}

// --- chat responses and chunks ---------------------------------------------------------

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChatDelta {
  role?: ChatRole;
  content?: string | null;
  refusal?: string | null;
  tool_calls?: ToolCallDelta[];
  function_call?: { name?: string; arguments?: string };
  [k: string]: unknown;
}

/**
 * One choice of a chat chunk. An Azure asynchronous-filter annotation has no `delta`,
 * only filter results and offsets: never assume `delta` is there.
 */
export interface ChatChunkChoice {
  index: number;
  delta?: ChatDelta;
  finish_reason: FinishReason | null;
  logprobs?: ChatLogprobs | null;
  content_filter_results?: ContentFilterResults;
  content_filter_result?: ContentFilterResults;
  content_filter_offsets?: ContentFilterOffsets;
  [k: string]: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  /** `chat.completion.chunk`, or `""` on Azure's prompt-filter and annotation chunks. */
  object: 'chat.completion.chunk' | '';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: ChatChunkChoice[];
  usage?: Usage | null;
  prompt_filter_results?: PromptFilterResult[];
  /** Older preview spelling of prompt_filter_results. */
  prompt_annotations?: PromptFilterResult[];
  [k: string]: unknown;
}

export interface ChatCompletionChoice {
  index: number;
  message: ChatMessage & { role: 'assistant' };
  finish_reason: FinishReason | null;
  logprobs: ChatLogprobs | null;
  content_filter_results?: ContentFilterResults;
  [k: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: ChatCompletionChoice[];
  usage?: Usage;
  prompt_filter_results?: PromptFilterResult[];
  [k: string]: unknown;
}

// --- legacy completions ----------------------------------------------------------------

export interface CompletionChoice {
  text: string;
  index: number;
  finish_reason: FinishReason | null;
  logprobs: CompletionLogprobs | null;
  content_filter_results?: ContentFilterResults;
  content_filter_result?: ContentFilterResults;
  content_filter_offsets?: ContentFilterOffsets;
  [k: string]: unknown;
}

/**
 * A streamed Completions choice; annotation choices may lack `text`. (Spelled out rather
 * than `Omit<CompletionChoice, 'text'>`: Omit over an index signature drops every field.)
 */
export interface CompletionChunkChoice {
  text?: string;
  index: number;
  finish_reason: FinishReason | null;
  logprobs?: CompletionLogprobs | null;
  content_filter_results?: ContentFilterResults;
  content_filter_result?: ContentFilterResults;
  content_filter_offsets?: ContentFilterOffsets;
  [k: string]: unknown;
}

export interface CompletionChunk {
  id: string;
  object: 'text_completion' | '';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: CompletionChunkChoice[];
  usage?: Usage | null;
  prompt_filter_results?: PromptFilterResult[];
  prompt_annotations?: PromptFilterResult[];
  [k: string]: unknown;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: CompletionChoice[];
  usage?: Usage;
  prompt_filter_results?: PromptFilterResult[];
  [k: string]: unknown;
}

// --- unions used across the seam -------------------------------------------------------

export type ApiKind = 'chat' | 'completions';

export type AnyChunk = ChatCompletionChunk | CompletionChunk;
export type AnyResponse = ChatCompletion | Completion;

/** Maps an API kind to its request, chunk and response types. */
export interface ApiTypes {
  chat: { request: ChatCompletionRequest; chunk: ChatCompletionChunk; response: ChatCompletion };
  completions: { request: CompletionRequest; chunk: CompletionChunk; response: Completion };
}

/** Azure / OpenAI error body: `{"error": {...}}`. Both innererror spellings are accepted. */
export interface ApiErrorBody {
  error: {
    code?: string | null;
    message: string;
    type?: string | null;
    param?: string | null;
    innererror?: {
      code?: string;
      content_filter_result?: ContentFilterResults;
      content_filter_results?: ContentFilterResults;
      [k: string]: unknown;
    };
    inner_error?: {
      code?: string;
      content_filter_result?: ContentFilterResults;
      content_filter_results?: ContentFilterResults;
      [k: string]: unknown;
    };
    [k: string]: unknown;
  };
}
