/**
 * `sluice chat --api responses`: one answer through the Responses API. The text deltas go
 * to the terminal as they arrive (rendered like chat's), `--json` writes every raw event as
 * one line and then the summary line, `--stats` and the closing explanation are chat's.
 * @module
 */
import type { ResponsesStream } from '../client/responses-stream.js';
import { SluiceError } from '../errors.js';
import type { EndState } from '../protocol/end-state.js';
import { outputText } from '../protocol/responses/accumulate.js';
import { endStateOfResponseObject } from '../protocol/responses/end-state.js';
import type { ResponseCreateRequest, ResponseObject } from '../protocol/responses/types.js';
import type { Usage } from '../types.js';
import type { ParsedValues } from './args.js';
import { noteSettings, openEngineFor, type Setup } from './commands/shared.js';
import { describeEnd } from './describe.js';
import type { Engine } from './engine.js';
import { exitCodeForEnd } from './exit-codes.js';
import { listenForInterrupt } from './interrupt.js';
import type { CliIO, CliIO as IO } from './io.js';
import { createRenderer } from './render/renderer.js';
import { type AnswerFacts, formatStats, summaryLine } from './stats.js';
import { UsageError } from './usage-error.js';

/** The values `--api` takes. */
export const API_CHOICES = ['chat', 'responses'] as const;

/**
 * The API `--api` names (default `chat`); throws UsageError for any other value.
 * @example
 * apiOf({ api: 'responses' }); // 'responses'
 */
export function apiOf(values: ParsedValues): (typeof API_CHOICES)[number] {
  const api = values.api;
  if (api === undefined) return 'chat';
  if (api === 'chat' || api === 'responses') return api;
  throw new UsageError(`--api ${String(api)} is not an API the chat command speaks: use chat or responses`, {
    setting: '--api',
    command: 'chat',
  });
}

/**
 * `sluice chat --api responses MESSAGE`: one answer (no interactive chat, no logged
 * conversation to continue), then the exit code.
 * @example
 * if (apiOf(values) === 'responses') return runResponses(io, s, values, message, images.length);
 */
export async function runResponses(
  io: IO,
  s: Setup,
  values: ParsedValues,
  message: string | undefined,
  images = 0,
): Promise<number> {
  if (images > 0) {
    throw new UsageError('--api responses sends text only: drop the images, or leave out --api', {
      setting: '--api',
      command: 'chat',
    });
  }
  if (message === undefined || message === '') {
    throw new UsageError('--api responses needs a MESSAGE (the interactive chat speaks Chat Completions)', {
      setting: '--api',
      command: 'chat',
    });
  }
  if (values.continue === true || values.cid !== undefined) {
    throw new UsageError('--api responses sends one message: --continue and --cid are for Chat Completions', {
      setting: '--api',
      command: 'chat',
    });
  }
  const system = typeof values.system === 'string' ? values.system : undefined;
  const body = responsesBody(s, message, system);
  noteSettings(io, s);
  const engine = await openEngineFor(io, s);
  if (typeof engine === 'number') return engine;
  const interrupt = listenForInterrupt(io);
  try {
    return await answerResponses({ io, engine, setup: s, signal: interrupt.signal }, body);
  } finally {
    interrupt.dispose();
    await engine.close();
  }
}

/**
 * The Responses request for one message, from the chat flags. Throws UsageError for a flag
 * the Responses API has no field for.
 * @example
 * responsesBody(s, 'Hi', 'Be brief.'); // { input: 'Hi', instructions: 'Be brief.', max_output_tokens: ... }
 */
export function responsesBody(s: Setup, message: string, system: string | undefined): ResponseCreateRequest {
  const r = s.request;
  for (const [flag, set] of [
    ['-n', r.n > 1],
    ['--stop', r.stop !== undefined && r.stop.length > 0],
    ['--seed', r.seed !== undefined],
  ] as const) {
    if (set) {
      throw new UsageError(
        `${flag} does not apply to --api responses (the Responses API has no such setting): drop it`,
        {
          setting: flag,
          command: 'chat',
        },
      );
    }
  }
  return {
    input: message,
    ...(system !== undefined ? { instructions: system } : {}),
    ...(r.maxTokens !== undefined ? { max_output_tokens: r.maxTokens } : {}),
    ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
    ...(r.topP !== undefined ? { top_p: r.topP } : {}),
  };
}

/**
 * Asks `engine` for one Responses answer and prints it; resolves to the exit code.
 * @example
 * return answerResponses({ io, engine, setup: s, signal }, responsesBody(s, message, system));
 */
export async function answerResponses(
  call: { io: CliIO; engine: Engine; setup: Setup; signal: AbortSignal },
  body: ResponseCreateRequest,
): Promise<number> {
  const { io, engine, setup: s } = call;
  if (engine.responses === undefined) {
    throw new UsageError(
      'The local model does not answer the Responses API yet: drop --api responses, or set an Azure or OpenAI endpoint',
      { setting: '--api', command: 'chat' },
    );
  }
  const settings = { signal: call.signal, ...(s.timeouts !== undefined ? { timeouts: s.timeouts } : {}) };
  const out = io.stdout;
  const renderer = createRenderer(s.output.mode, {
    tty: out.isTTY === true,
    columns: () => out.columns ?? 80,
    rows: () => out.rows ?? 24,
  });
  const write = (text: string) => {
    if (text !== '') out.write(text);
  };
  let facts: AnswerFacts;
  if (s.request.stream) {
    const stream: ResponsesStream = engine.responses.stream(body, settings);
    try {
      for await (const event of stream) {
        if (s.output.json) write(`${JSON.stringify(event)}\n`);
        else if (event.type === 'response.output_text.delta') write(renderer.push((event as { delta: string }).delta));
      }
    } catch {
      // the end state below says what happened
    }
    if (!s.output.json) write(renderer.end());
    const result = await stream.final();
    const requestId = await stream.meta.then(
      (m) => m.requestId,
      () => undefined,
    );
    facts = factsOf(result.end, result.response, result.metrics.usage, requestId);
    facts.metrics = result.metrics;
  } else {
    try {
      const response = await engine.responses.create(body, settings);
      if (s.output.json) write(`${JSON.stringify(response)}\n`);
      else write(renderer.push(outputText(response)) + renderer.end());
      const end = endStateOfResponseObject(response) ?? { state: 'completed' };
      facts = factsOf(end, response, undefined, response.meta.requestId);
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      const end: EndState = call.signal.aborted
        ? { state: 'aborted', reason: call.signal.reason }
        : { state: 'failed', error };
      facts = factsOf(end, undefined, undefined, undefined);
    }
  }
  if (s.output.json) write(summaryLine(facts, s.describe.secrets ?? []));
  if (s.output.stats) io.stderr.write(`${formatStats(facts).join('\n')}\n`);
  const line = describeEnd(facts.end, s.describe);
  if (line) io.stderr.write(`${line}\n`);
  return exitCodeForEnd(facts.end);
}

function factsOf(
  end: EndState,
  response: ResponseObject | undefined,
  usage: Usage | undefined,
  requestId: string | undefined,
): AnswerFacts {
  const given = response?.usage;
  const facts: AnswerFacts = { end, finishReasons: [response?.status ?? null] };
  const tokens =
    usage ??
    (given
      ? { prompt_tokens: given.input_tokens, completion_tokens: given.output_tokens, total_tokens: given.total_tokens }
      : undefined);
  if (tokens !== undefined) facts.usage = tokens;
  if (requestId !== undefined) facts.requestId = requestId;
  return facts;
}
