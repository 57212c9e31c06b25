/**
 * Generates one assistant turn as events, independent of any API's chunk shape (Chat
 * Completions maps them to `tool_calls` deltas, the Responses API to its own events): text,
 * JSON constrained to a schema, or a tool call whose arguments are constrained to the
 * function's parameters schema.
 *
 * The deterministic rules (the tiny model cannot *decide* sensibly, so the grammar decides
 * what it may write and the model only picks among what is allowed):
 * - a named `tool_choice`, or `required` with one function: a call to it; the prompt is
 *   continued with `call <name> ` and the model writes the arguments under the grammar.
 * - `required` with several functions: the model writes ` call <name>` under a grammar that
 *   allows only the declared names, then the arguments.
 * - `auto`: the model writes ` call <name>` or ` answer` under a grammar that allows only
 *   these, sampled with the request's temperature and seed: the model's own choice, the same
 *   for the same seed. ` answer` is dropped and the text is generated from the prompt as without tools.
 * - arguments and JSON output stop at the JSON value's closing bracket.
 * @module
 */
import type { LlamaContextSequence, LlamaGrammar, LlamaGrammarEvaluationState, LlamaModel } from 'node-llama-cpp';
import { randomId } from '../../protocol/chunks.js';
import { toolCallPrefix } from './chat-prompt.js';
import { type ChoiceParams, type ChoiceResult, generateChoice } from './generate-choice.js';
import type { OutputPlan } from './output-plan.js';

export type TurnEvent =
  /** Text (or JSON) content. */
  | { type: 'text'; text: string }
  /** A tool call starts: its id and function name. */
  | { type: 'call'; id: string; name: string }
  /** A piece of the current call's arguments. */
  | { type: 'arguments'; text: string };

/** What a turn needs from the engine: grammars compiled once per request. */
export interface GrammarSource {
  model: LlamaModel;
  grammar(gbnf: string): Promise<LlamaGrammar>;
  jsonGrammar(schema: object): Promise<LlamaGrammar>;
  grammarState(grammar: LlamaGrammar): LlamaGrammarEvaluationState;
}

/** An output plan with its grammars compiled, shared by every choice of the request. */
export type PreparedOutput =
  | { kind: 'text' }
  | { kind: 'json'; grammar: LlamaGrammar }
  | {
      kind: 'tools';
      /** Undefined: the function is fixed (`fixed`). */
      decision: LlamaGrammar | undefined;
      fixed: string | undefined;
      names: string[];
      args: Map<string, LlamaGrammar>;
      /** How an `auto` answer is written. */
      text: { kind: 'text' } | { kind: 'json'; grammar: LlamaGrammar };
    };

/** Tokens the decision may take: ` call ` and the longest name fit easily. */
const DECISION_TOKENS = 96;
const ANSWER = 'answer';

/**
 * Compiles the grammars a plan needs (before generation, so a schema the library rejects is
 * a 400 before the first chunk).
 *
 * @example
 * const prepared = await prepareOutput(plan.output, engine);
 */
export async function prepareOutput(output: OutputPlan, source: GrammarSource): Promise<PreparedOutput> {
  if (output.kind === 'text') return output;
  if (output.kind === 'json') return { kind: 'json', grammar: await source.jsonGrammar(output.schema) };
  const names = output.functions.map((f) => f.name);
  const args = new Map<string, LlamaGrammar>();
  for (const f of output.functions) args.set(f.name, await source.jsonGrammar(f.schema));
  const choice = output.choice;
  const fixed =
    typeof choice === 'object' ? choice.name : choice === 'required' && names.length === 1 ? names[0] : undefined;
  const text =
    output.text.kind === 'json'
      ? { kind: 'json' as const, grammar: await source.jsonGrammar(output.text.schema) }
      : output.text;
  if (fixed !== undefined) return { kind: 'tools', decision: undefined, fixed, names, args, text };
  // Names are checked against /^[a-zA-Z0-9_-]+$/ (output-plan.ts): safe inside GBNF quotes.
  const call = `" ${toolCallPrefix('').trim()} " (${names.map((n) => `"${n}"`).join(' | ')})`;
  const gbnf = choice === 'auto' ? `root ::= ${call} | " ${ANSWER}"` : `root ::= ${call}`;
  return { kind: 'tools', decision: await source.grammar(gbnf), fixed: undefined, names, args, text };
}

/**
 * Generates one turn; returns why it stopped (`tool_calls` when a call's arguments are
 * complete) and the tokens sampled (the decision's included).
 *
 * @example
 * ```ts
 * const turn = generateTurn(sequence, params, prepared, engine, signal);
 * for (let r = await turn.next(); !r.done; r = await turn.next()) handle(r.value);
 * ```
 */
export async function* generateTurn(
  sequence: LlamaContextSequence,
  params: ChoiceParams,
  output: PreparedOutput,
  source: GrammarSource,
  signal: AbortSignal,
): AsyncGenerator<TurnEvent, ChoiceResult, undefined> {
  if (output.kind === 'text') return yield* textEvents(generateChoice(sequence, params, signal));
  if (output.kind === 'json')
    return yield* textEvents(generateChoice(sequence, jsonParams(params, output.grammar, source), signal));

  let name = output.fixed;
  let spent = 0;
  if (name === undefined && output.decision) {
    const decision = generateChoice(
      sequence,
      {
        ...params,
        maxTokens: Math.min(DECISION_TOKENS, params.maxTokens),
        stops: [],
        stopTokenSequences: [],
        trimLeadingWhitespace: false,
        grammar: source.grammarState(output.decision),
      },
      signal,
    );
    let written = '';
    for (let r = await decision.next(); ; r = await decision.next()) {
      if (r.done) {
        spent = r.value.completionTokens;
        break;
      }
      written += r.value;
    }
    const words = written.trim().split(' ');
    if (words[0] === ANSWER && words.length === 1) {
      const text = output.text;
      const answer = text.kind === 'json' ? jsonParams(params, text.grammar, source) : params;
      const result = yield* textEvents(generateChoice(sequence, answer, signal));
      return { ...result, completionTokens: result.completionTokens + spent };
    }
    name = words.length === 2 && output.names.includes(words[1] as string) ? words[1] : undefined;
    // The budget ran out before the choice was written: nothing to show.
    if (name === undefined) return { finishReason: 'length', completionTokens: spent };
  }
  if (name === undefined) throw new Error('No function to call');
  const grammar = output.args.get(name);
  if (!grammar) throw new Error(`No grammar for ${name}`);

  yield { type: 'call', id: randomId('call', '_'), name };
  const prefix = source.model.tokenize(` ${toolCallPrefix(name)}`);
  const args = generateChoice(
    sequence,
    {
      ...jsonParams(params, grammar, source),
      promptTokens: [...params.promptTokens, ...prefix],
      maxTokens: params.maxTokens - spent,
      // A user's stop sequence cuts text answers, not arguments (JSON has no raw newlines in strings).
      stops: [],
      stopTokenSequences: [],
    },
    signal,
  );
  const result = yield* events(args, 'arguments');
  const finishReason = result.finishReason === 'stop' ? 'tool_calls' : result.finishReason;
  return { finishReason, completionTokens: result.completionTokens + spent };
}

// --- internal ---

function jsonParams(params: ChoiceParams, grammar: LlamaGrammar, source: GrammarSource): ChoiceParams {
  return { ...params, grammar: source.grammarState(grammar), jsonEnd: true, trimLeadingWhitespace: false };
}

function textEvents(choice: AsyncGenerator<string, ChoiceResult, undefined>) {
  return events(choice, 'text');
}

async function* events(
  choice: AsyncGenerator<string, ChoiceResult, undefined>,
  type: 'text' | 'arguments',
): AsyncGenerator<TurnEvent, ChoiceResult, undefined> {
  try {
    for (let r = await choice.next(); ; r = await choice.next()) {
      if (r.done) return r.value;
      yield { type, text: r.value };
    }
  } finally {
    // A reader that stops early ends the choice (and frees node-llama-cpp's generator).
    await choice.return({ finishReason: 'stop', completionTokens: 0 });
  }
}
