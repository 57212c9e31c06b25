/**
 * Turns generated tokens into text on character boundaries. A byte-fallback token can hold
 * part of a UTF-8 character (an emoji is often four one-byte tokens): such tokens are held
 * until the character is complete, so no streamed piece ever contains half a character.
 * @module
 */

/** The slice of node-llama-cpp's LlamaModel this needs (kept small so tests can fake it). */
export interface Detokenizer {
  detokenize(tokens: readonly number[], specialTokens?: boolean, lastTokens?: readonly number[]): string;
}

/** UTF-8 needs at most 4 bytes; past that, a replacement character is the real output. */
const MAX_PENDING_TOKENS = 4;
/** Tokens of left context for the detokenizer (SentencePiece's leading-space rule needs one or two). */
const CONTEXT_TOKENS = 4;
const REPLACEMENT = '\uFFFD';

/**
 * @example
 * ```ts
 * const decoder = new TokenTextDecoder(model, promptTokens);
 * for (const token of tokens) out += decoder.push(token);
 * out += decoder.flush();
 * ```
 */
export class TokenTextDecoder {
  readonly #model: Detokenizer;
  #pending: number[] = [];
  #recent: number[] = [];

  /**
   * @param context the tokens before the first one pushed (the prompt's end): SentencePiece
   *   drops a word's leading space at the start of a text, so the decoder must know there was text.
   */
  constructor(model: Detokenizer, context: readonly number[] = []) {
    this.#model = model;
    this.#recent = context.slice(-CONTEXT_TOKENS);
  }

  /** Text completed by this token ('' while a character is still incomplete). */
  push(token: number): string {
    this.#pending.push(token);
    const text = this.#model.detokenize(this.#pending, false, this.#recent);
    if (text.endsWith(REPLACEMENT) && this.#pending.length < MAX_PENDING_TOKENS) return '';
    this.#commit();
    return text;
  }

  /** Whatever is still pending at the end (an incomplete character decodes to U+FFFD). */
  flush(): string {
    if (this.#pending.length === 0) return '';
    const text = this.#model.detokenize(this.#pending, false, this.#recent);
    this.#commit();
    return text;
  }

  #commit(): void {
    this.#recent = [...this.#recent, ...this.#pending].slice(-CONTEXT_TOKENS);
    this.#pending = [];
  }
}
