/**
 * Wire types for the OpenAI / Azure OpenAI Responses API (`POST /v1/responses`,
 * `/openai/v1/responses`), streamed and not: the request, the `Response` object and the typed
 * stream events. Field names follow the wire exactly (snake_case); unknown fields and unknown
 * item, part and event types pass through, because the API grows often.
 *
 * Responses is its own family beside Chat Completions and Completions (`ApiKind`): its stream
 * is typed events ending with a terminal event, not choice chunks ending with `[DONE]`, so it
 * does not travel through the chunk seam. Shapes checked against openai 6.49's
 * `resources/responses/responses.d.ts`.
 * @module
 */

// --- request ---------------------------------------------------------------------------

/** A text, image or file part of an input message (others pass through). */
export type ResponseInputContent =
  | { type: 'input_text'; text: string }
  | { type: 'input_image'; image_url?: string | null; file_id?: string | null; detail?: 'auto' | 'low' | 'high' }
  | { type: 'input_file'; file_id?: string | null; file_data?: string; filename?: string }
  | { type: string; [k: string]: unknown };

/** A message in `input`: the user's (or system's, developer's) words, or an earlier answer. */
export interface ResponseInputMessage {
  type?: 'message';
  role: 'user' | 'assistant' | 'system' | 'developer';
  content: string | ResponseInputContent[] | ResponseOutputContent[];
  id?: string;
  status?: ResponseItemStatus;
  [k: string]: unknown;
}

/** The result of a function call, sent back in the next request's `input`. */
export interface ResponseFunctionCallOutput {
  type: 'function_call_output';
  call_id: string;
  output: string | ResponseInputContent[];
  id?: string;
  [k: string]: unknown;
}

/** An item of `input`: messages, earlier output items (function calls, reasoning), tool results. */
export type ResponseInputItem =
  | ResponseInputMessage
  | ResponseFunctionCallOutput
  | ResponseOutputItem
  | { type: string; [k: string]: unknown };

/** A function the model may call. (Built-in tools — web search, file search — pass through.) */
export interface ResponseFunctionTool {
  type: 'function';
  name: string;
  description?: string | null;
  parameters: Record<string, unknown> | null;
  strict: boolean | null;
}
export type ResponseTool = ResponseFunctionTool | { type: string; [k: string]: unknown };

export type ResponseToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; name: string }
  | { type: string; [k: string]: unknown };

/** `text.format`: plain text, any JSON object, or JSON matching a schema. */
export type ResponseTextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      schema: Record<string, unknown>;
      description?: string;
      strict?: boolean | null;
    };

export interface ResponseTextConfig {
  format?: ResponseTextFormat;
  verbosity?: 'low' | 'medium' | 'high' | null;
  [k: string]: unknown;
}

/** `POST /responses`. On Azure v1, `model` is the deployment name. */
export interface ResponseCreateRequest {
  model?: string;
  /** A string is one user message. */
  input?: string | ResponseInputItem[];
  instructions?: string | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  tools?: ResponseTool[];
  tool_choice?: ResponseToolChoice;
  parallel_tool_calls?: boolean | null;
  text?: ResponseTextConfig;
  previous_response_id?: string | null;
  /** Whether the server keeps the response (for `previous_response_id` and `GET /responses/{id}`). */
  store?: boolean | null;
  stream?: boolean | null;
  /** Run in the background; poll or resume the stream later. */
  background?: boolean | null;
  metadata?: Record<string, string> | null;
  reasoning?: { effort?: string | null; summary?: string | null; [k: string]: unknown } | null;
  truncation?: 'auto' | 'disabled' | null;
  user?: string;
  [k: string]: unknown;
}

// --- the Response object ---------------------------------------------------------------

export type ResponseStatus = 'completed' | 'failed' | 'in_progress' | 'cancelled' | 'queued' | 'incomplete';
export type ResponseItemStatus = 'in_progress' | 'completed' | 'incomplete';

/** A citation or file path in output text (kept as sent). */
export type ResponseAnnotation =
  | { type: 'url_citation'; url: string; title: string; start_index: number; end_index: number }
  | { type: 'file_citation'; file_id: string; filename?: string; index: number }
  | { type: string; [k: string]: unknown };

export interface ResponseOutputText {
  type: 'output_text';
  text: string;
  annotations: ResponseAnnotation[];
  logprobs?: unknown[];
  [k: string]: unknown;
}

export interface ResponseOutputRefusal {
  type: 'refusal';
  refusal: string;
  [k: string]: unknown;
}

export type ResponseOutputContent = ResponseOutputText | ResponseOutputRefusal;

/** The model's message: text parts (and refusals). */
export interface ResponseOutputMessage {
  type: 'message';
  id: string;
  role: 'assistant';
  status: ResponseItemStatus;
  content: ResponseOutputContent[];
  [k: string]: unknown;
}

/** A call of one of the request's functions; `arguments` is a JSON text. */
export interface ResponseFunctionCall {
  type: 'function_call';
  call_id: string;
  name: string;
  arguments: string;
  id?: string;
  status?: ResponseItemStatus;
  [k: string]: unknown;
}

/** Reasoning: kept as sent (it may be encrypted) and sent back as it is. */
export interface ResponseReasoningItem {
  type: 'reasoning';
  id: string;
  summary: unknown[];
  [k: string]: unknown;
}

/** Any other item type (web search calls, ...), passed through untouched. */
export interface ResponseOtherItem {
  type: string;
  id?: string;
  [k: string]: unknown;
}

export type ResponseOutputItem =
  | ResponseOutputMessage
  | ResponseFunctionCall
  | ResponseReasoningItem
  | ResponseOtherItem;

export interface ResponseUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  input_tokens_details?: { cached_tokens?: number; [k: string]: unknown };
  output_tokens_details?: { reasoning_tokens?: number; [k: string]: unknown };
  [k: string]: unknown;
}

/** Why a response stopped short: `max_output_tokens` or `content_filter`. */
export interface ResponseIncompleteDetails {
  reason?: 'max_output_tokens' | 'content_filter' | (string & {});
  [k: string]: unknown;
}

/** Why a response failed (`status: 'failed'`). */
export interface ResponseErrorInfo {
  code: string;
  message: string;
  [k: string]: unknown;
}

/**
 * A response: OpenAI's `Response` object (named so here because `Response` is fetch's).
 * The openai SDK adds an `output_text` convenience; on the wire there is none (see `outputText`).
 */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status?: ResponseStatus;
  model: string;
  output: ResponseOutputItem[];
  usage?: ResponseUsage | null;
  incomplete_details: ResponseIncompleteDetails | null;
  error: ResponseErrorInfo | null;
  instructions?: string | ResponseInputItem[] | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  tools?: ResponseTool[];
  tool_choice?: ResponseToolChoice;
  parallel_tool_calls?: boolean;
  text?: ResponseTextConfig;
  previous_response_id?: string | null;
  store?: boolean;
  background?: boolean | null;
  metadata?: Record<string, string> | null;
  [k: string]: unknown;
}

// --- stream events -----------------------------------------------------------------------

/** Fields every event has. */
interface EventBase {
  /** Increases by one per event from 0; what a resumed stream continues after. */
  sequence_number: number;
}

/** Events that carry the whole response so far. */
export interface ResponseLifecycleEvent extends EventBase {
  type:
    | 'response.created'
    | 'response.in_progress'
    | 'response.queued'
    | 'response.completed'
    | 'response.incomplete'
    | 'response.failed';
  response: ResponseObject;
}

export interface ResponseOutputItemEvent extends EventBase {
  type: 'response.output_item.added' | 'response.output_item.done';
  output_index: number;
  item: ResponseOutputItem;
}

export interface ResponseContentPartEvent extends EventBase {
  type: 'response.content_part.added' | 'response.content_part.done';
  item_id: string;
  output_index: number;
  content_index: number;
  part: ResponseOutputContent | { type: string; [k: string]: unknown };
}

export interface ResponseTextDeltaEvent extends EventBase {
  type: 'response.output_text.delta';
  item_id: string;
  output_index: number;
  content_index: number;
  delta: string;
  logprobs?: unknown[];
}

export interface ResponseTextDoneEvent extends EventBase {
  type: 'response.output_text.done';
  item_id: string;
  output_index: number;
  content_index: number;
  text: string;
  logprobs?: unknown[];
}

export interface ResponseAnnotationAddedEvent extends EventBase {
  type: 'response.output_text.annotation.added';
  item_id: string;
  output_index: number;
  content_index: number;
  annotation_index: number;
  annotation: ResponseAnnotation;
}

export interface ResponseRefusalDeltaEvent extends EventBase {
  type: 'response.refusal.delta';
  item_id: string;
  output_index: number;
  content_index: number;
  delta: string;
}

export interface ResponseRefusalDoneEvent extends EventBase {
  type: 'response.refusal.done';
  item_id: string;
  output_index: number;
  content_index: number;
  refusal: string;
}

export interface ResponseFunctionCallArgumentsDeltaEvent extends EventBase {
  type: 'response.function_call_arguments.delta';
  item_id: string;
  output_index: number;
  delta: string;
}

export interface ResponseFunctionCallArgumentsDoneEvent extends EventBase {
  type: 'response.function_call_arguments.done';
  item_id: string;
  output_index: number;
  arguments: string;
  name?: string;
}

/** A failure mid-stream (its own event type, not a `response.failed`). */
export interface ResponseErrorEvent extends EventBase {
  type: 'error';
  code: string | null;
  message: string;
  param: string | null;
}

/** An event type this version does not know (reasoning summaries, tool progress, ...), kept as sent. */
export interface ResponseUnknownEvent {
  type: string;
  sequence_number?: number;
  [k: string]: unknown;
}

/** The events Sluice reads. Narrow on `type`; anything else is a `ResponseUnknownEvent`. */
export type ResponseKnownEvent =
  | ResponseLifecycleEvent
  | ResponseOutputItemEvent
  | ResponseContentPartEvent
  | ResponseTextDeltaEvent
  | ResponseTextDoneEvent
  | ResponseAnnotationAddedEvent
  | ResponseRefusalDeltaEvent
  | ResponseRefusalDoneEvent
  | ResponseFunctionCallArgumentsDeltaEvent
  | ResponseFunctionCallArgumentsDoneEvent
  | ResponseErrorEvent;

/** One event of a Responses stream. */
export type ResponseStreamEvent = ResponseKnownEvent | ResponseUnknownEvent;

/** The events that end a stream; nothing comes after them (there is no `[DONE]`). */
export type ResponseTerminalEvent =
  | (ResponseLifecycleEvent & { type: 'response.completed' | 'response.incomplete' | 'response.failed' })
  | ResponseErrorEvent;
