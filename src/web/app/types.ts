/**
 * Data the page keeps: conversations, answers and how they ended, settings. Plain JSON so it
 * round-trips through localStorage. No DOM types here (Node tests import this module).
 * @module
 */

/**
 * How an answer ended, as the user should read it. Every state but `streaming` is final;
 * the text that arrived is always kept beside it.
 */
export type AnswerEnd =
  /** `[DONE]` arrived. `finishReason` `length` means max tokens was reached. */
  | { kind: 'done'; finishReason: string | null }
  /** The user pressed Stop (or Esc). */
  | { kind: 'stopped' }
  /** The stream ended without `[DONE]`: connection cut, server crash, proxy time-out. */
  | { kind: 'truncated'; message: string }
  /** The content filter blocked the prompt (HTTP 400) or the completion (finish_reason). */
  | { kind: 'filtered'; where: 'prompt' | 'completion'; categories: string[]; message: string }
  /** HTTP 429. `retryAfterMs` comes from retry-after-ms / retry-after. */
  | { kind: 'rate-limited'; retryAfterMs: number | undefined; message: string; at: number }
  /** HTTP errors, error frames, network failures, malformed data. */
  | {
      kind: 'failed';
      message: string;
      status?: number;
      code?: string;
      requestId?: string;
      /** True when trying the same request again may help (5xx, network, error frame). */
      retryable: boolean;
    }
  /** The page was closed or reloaded while this answer streamed. */
  | { kind: 'interrupted' };

export type AnswerEndKind = AnswerEnd['kind'];

/** Per-answer figures, all optional: a failed request may have none. */
export interface AnswerStats {
  /** Request sent -> first text, ms. */
  ttftMs?: number;
  /** Request sent -> end, ms. */
  durationMs?: number;
  /** From the usage chunk when the server sent one, else the number of text chunks. */
  tokens?: number;
  /** True when `tokens` came from the usage chunk (exact), false when counted from chunks. */
  tokensExact?: boolean;
  /** Prompt tokens, from the usage chunk (absent without it). */
  promptTokens?: number;
  /** Tokens per second over the generation (first text -> end). */
  tokensPerSecond?: number;
  /** The `model` field of the chunks (model version, not the deployment). */
  model?: string;
}

export interface UserMessage {
  role: 'user';
  content: string;
}

/** A tool call the answer made: shown as a collapsible block (function name, arguments). */
export interface ToolCallView {
  name: string;
  /** As received: JSON once complete, a prefix of it while streaming. */
  arguments: string;
}

export interface AssistantMessage {
  role: 'assistant';
  content: string;
  /** Tool calls of choice 0, in index order; absent when there were none. */
  toolCalls?: ToolCallView[];
  /** Absent while streaming. */
  end?: AnswerEnd;
  /**
   * While a resumable answer streams (the server named it: `x-sluice-stream-id`), its id and
   * the last event received: after a reload the page asks the server for the rest.
   */
  stream?: { id: string; lastEventId: string };
  stats?: AnswerStats;
  /** The model or deployment name the answer was asked from (the header's choice then). */
  model?: string;
}

export type Message = UserMessage | AssistantMessage;

export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  messages: Message[];
  /**
   * Index of the first message still sent to the model; the ones before were dropped when
   * the context filled up (they stay on screen). Absent: all are sent.
   */
  contextStart?: number;
  /** The model or deployment name this conversation asks; absent: the default in Settings. */
  model?: string;
}

export interface Settings {
  /**
   * Deployment or model name sent as `model` by new conversations and completions (the last
   * one picked); empty = the first name the server lists, or let the server choose.
   */
  model: string;
  /** Empty = no system message. */
  systemMessage: string;
  maxTokens: number;
  temperature: number;
  /** Ask for the usage chunk (`stream_options.include_usage`) for exact token counts. */
  includeUsage: boolean;
}

export const DEFAULT_SETTINGS: Settings = {
  model: '',
  systemMessage: '',
  maxTokens: 256,
  temperature: 0.7,
  includeUsage: true,
};

/** The completion workspace: one prompt, its last result. */
export interface CompletionState {
  prompt: string;
  output: string;
  /** The prompt the output continues (the textarea may have changed since). */
  outputPrompt: string;
  end?: AnswerEnd;
  stats?: AnswerStats;
}
