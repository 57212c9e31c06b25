/**
 * Generates one choice on one context sequence, pulled a token at a time: the model
 * evaluates the next token only when the caller asks for more text, so a slow reader
 * holds generation back instead of filling memory.
 * @module
 */
import type { LlamaContextSequence, LlamaGrammarEvaluationState, SequenceEvaluateOptions, Token } from 'node-llama-cpp';
import { throwIfAborted } from '../../abort.js';
import type { FinishReason } from '../../types.js';
import { JsonEnd } from './json-end.js';
import { StopMatcher } from './stop-matcher.js';
import { TokenTextDecoder } from './token-text.js';

export interface ChoiceParams {
  /** The whole prompt, BOS included. */
  promptTokens: readonly number[];
  /** Already clamped to what the context can hold after the prompt. */
  maxTokens: number;
  temperature: number;
  topP: number;
  /** 0: no top-k cut (OpenAI's sampling). */
  topK: number;
  seed: number;
  presencePenalty: number;
  frequencyPenalty: number;
  stops: readonly string[];
  stopTokenSequences: readonly (readonly number[])[];
  /** The transcript prompt ends with "Assistant:": drop the space the model writes first. */
  trimLeadingWhitespace: boolean;
  /** Called once per generated token (metrics). */
  onToken(): void;
  /** Constrains sampling to a grammar (a fresh state per choice: it tracks what was written). */
  grammar?: LlamaGrammarEvaluationState;
  /** Stop once a JSON object or array is complete (JSON grammars allow trailing newlines). */
  jsonEnd?: boolean;
}

export interface ChoiceResult {
  finishReason: FinishReason;
  completionTokens: number;
}

/**
 * Yields text pieces on character boundaries, never any part of a stop sequence; returns why
 * it stopped and how many tokens it generated. Checks `signal` before every token.
 *
 * @example
 * ```ts
 * const gen = generateChoice(sequence, params, signal);
 * for (let r = await gen.next(); !r.done; r = await gen.next()) write(r.value);
 * ```
 */
export async function* generateChoice(
  sequence: LlamaContextSequence,
  params: ChoiceParams,
  signal: AbortSignal,
): AsyncGenerator<string, ChoiceResult, undefined> {
  const { promptTokens, maxTokens } = params;
  if (maxTokens <= 0) return { finishReason: 'length', completionTokens: 0 };

  // Keep whatever prefix the sequence already holds (the same prompt, for choice 2..n), but
  // always evaluate at least the prompt's last token: its logits give the first new token.
  await sequence.adaptStateToTokens(promptTokens.slice(0, -1) as Token[], false);
  throwIfAborted(signal);
  const input = promptTokens.slice(sequence.nextTokenIndex) as Token[];

  const generated: Token[] = [];
  const options: SequenceEvaluateOptions = {
    temperature: params.temperature,
    topP: params.topP,
    topK: params.topK,
    minP: 0,
    seed: params.seed >>> 0,
  };
  if (params.grammar) options.grammarEvaluationState = params.grammar;
  if (params.presencePenalty !== 0 || params.frequencyPenalty !== 0) {
    options.repeatPenalty = {
      punishTokens: () => generated,
      maxPunishTokens: maxTokens,
      penalty: 1,
      presencePenalty: params.presencePenalty,
      frequencyPenalty: params.frequencyPenalty,
    };
  }

  const decoder = new TokenTextDecoder(sequence.model, promptTokens);
  const stops = new StopMatcher(params.stops);
  const jsonEnd = params.jsonEnd ? new JsonEnd() : undefined;
  const stopSequences = params.stopTokenSequences;
  let leading = params.trimLeadingWhitespace;
  let finishReason: FinishReason = 'length';

  const tokens = sequence.evaluate(input, options);
  try {
    while (generated.length < maxTokens) {
      throwIfAborted(signal);
      const next = await tokens.next();
      if (next.done) {
        finishReason = 'stop'; // an end-of-generation token
        break;
      }
      generated.push(next.value);
      params.onToken();
      if (stopSequences.length > 0 && endsWithAny(generated, stopSequences)) {
        finishReason = 'stop';
        break;
      }
      const piece = decoder.push(next.value);
      const json = jsonEnd?.push(piece);
      const { emit, stopped } = stops.push(json ? json.emit : piece);
      let text = json?.stopped && !stopped ? emit + stops.flush() : emit;
      if (leading && text) {
        text = text.trimStart();
        leading = text === '';
      }
      if (text) yield text;
      if (stopped || json?.stopped) return { finishReason: 'stop', completionTokens: generated.length };
    }
  } finally {
    // Ends node-llama-cpp's generator so its sampler is freed and its lock released.
    await tokens.return();
  }
  // Text held back as a possible stop sequence or an unfinished character is real output.
  const { emit, stopped } = stops.push(decoder.flush());
  let rest = emit + (stopped ? '' : stops.flush());
  if (leading) rest = rest.trimStart();
  if (rest) yield rest;
  return { finishReason: stopped ? 'stop' : finishReason, completionTokens: generated.length };
}

// --- internal ---

function endsWithAny(tokens: readonly number[], sequences: readonly (readonly number[])[]): boolean {
  outer: for (const seq of sequences) {
    if (seq.length === 0 || seq.length > tokens.length) continue;
    const offset = tokens.length - seq.length;
    for (let i = 0; i < seq.length; i++) if (tokens[offset + i] !== seq[i]) continue outer;
    return true;
  }
  return false;
}
