/**
 * How many tokens a choice may generate on the local model, and what a request costs: the
 * one place that decides how the context is shared between prompt and answer.
 * @module
 */

/**
 * A chat answer without `max_tokens` / `max_completion_tokens` may take at most a quarter of
 * the context (128 tokens of 512). Filling the context instead, as before, left no room for
 * the next turn: every chat on a small model failed on its second request. With a quarter,
 * a conversation whose prompt is up to half the context still leaves a quarter free for the
 * next message after the answer; past that, clients drop their oldest turns when a request
 * fails with `context_length_exceeded`.
 *
 * @example
 * defaultChatMaxTokens(512); // 128
 */
export function defaultChatMaxTokens(contextSize: number): number {
  return Math.max(1, Math.floor(contextSize / 4));
}

/**
 * Tokens one choice may generate: what the request asked for (or the chat default), never
 * beyond the room the prompt leaves. When the room is the limit, generation stops with
 * finish_reason `length` and prompt + completion tokens = the context size, which tells
 * "the context is full" apart from "max_tokens reached".
 *
 * @example
 * completionBudget(undefined, 450, 512); // 62: the room left, less than the default 128
 * completionBudget(16, 30, 512); // 16
 */
export function completionBudget(asked: number | undefined, promptTokens: number, contextSize: number): number {
  const room = Math.max(0, contextSize - promptTokens);
  return Math.min(asked ?? defaultChatMaxTokens(contextSize), room);
}

/**
 * The work a request asks for, in tokens to generate (every prompt × n × its budget, at most
 * a context each): the slot pool learns time per token from it to estimate retry-after.
 *
 * @example
 * requestCost({ prompts: 2, n: 3, maxTokens: 16 }, 512); // 96
 */
export function requestCost(
  request: { prompts: number; n: number; maxTokens: number | undefined },
  contextSize: number,
): number {
  const perChoice = Math.min(request.maxTokens ?? defaultChatMaxTokens(contextSize), contextSize);
  return Math.max(1, Math.max(1, request.prompts) * request.n * perChoice);
}
