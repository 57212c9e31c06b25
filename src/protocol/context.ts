/**
 * A conversation and the model's context window: what a context-length failure looks like,
 * the size such a failure states, and which turns to drop so the conversation fits again.
 * The CLI chat and the web page both use these, so a chat survives a full context the same
 * way everywhere. Browser-safe.
 * @module
 */

/** The error code OpenAI, Azure and Sluice's embedded model give a prompt that does not fit. */
export const CONTEXT_LENGTH_EXCEEDED = 'context_length_exceeded';

/** Largest context size believed, tokens: anything above is a hostile or broken field. */
const MAX_CONTEXT_SIZE = 100_000_000;

/**
 * True when `error` is the answer to a prompt that does not fit the model's context: a
 * SluiceError whose error body (or own `code`) is `context_length_exceeded`.
 *
 * @example
 * isContextLengthError({ body: { error: { code: 'context_length_exceeded' } } }); // true
 */
export function isContextLengthError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const body = (error as { body?: { error?: { code?: unknown } } }).body;
  return (
    body?.error?.code === CONTEXT_LENGTH_EXCEEDED || (error as { code?: unknown }).code === CONTEXT_LENGTH_EXCEEDED
  );
}

/**
 * The context size stated in a context-length error message, or undefined.
 *
 * @example
 * contextSizeInMessage("This model's maximum context length is 512 tokens. However, ..."); // 512
 */
export function contextSizeInMessage(message: string): number | undefined {
  const match = /maximum context length is (\d{1,9}) tokens/i.exec(message);
  return match?.[1] === undefined ? undefined : contextSizeOrUndefined(Number(match[1]));
}

/**
 * `value` when it is a believable context size (a whole number of tokens from 1 to 10^8),
 * else undefined: sizes come from upstream fields and error texts, so they are checked.
 *
 * @example
 * contextSizeOrUndefined(8192); // 8192
 * contextSizeOrUndefined('8192'); // undefined
 */
export function contextSizeOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_CONTEXT_SIZE
    ? value
    : undefined;
}

/**
 * Drops the oldest exchange (a question and its answers) from the front of `turns` in
 * place, never the latest turn; returns how many turns went (0: nothing left to drop). The
 * caller keeps its system message apart, so it always stays.
 *
 * @example
 * const turns = [{ role: 'user' }, { role: 'assistant' }, { role: 'user' }];
 * dropOldestExchange(turns); // 2, leaving the last question
 */
export function dropOldestExchange(turns: Array<{ role: string }>): number {
  if (turns.length <= 1) return 0;
  let n = 1;
  while (n < turns.length - 1 && turns[n]?.role !== 'user') n++;
  turns.splice(0, n);
  return n;
}
