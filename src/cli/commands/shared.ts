/**
 * What `complete` and `chat` share: settings from flags, environment and .env; the engine;
 * output settings; the request body's common fields.
 * @module
 */
import type { Timeouts } from '../../client/options.js';
import type { ChatMessage, CommonRequestFields } from '../../types.js';
import { type AnswerOutcome, type AnswerRequest, answer, type OutputSettings } from '../answer.js';
import type { ParsedValues } from '../args.js';
import { localNotice, type ResolvedConfig, sourceNotice } from '../config.js';
import { type DescribeContext, describeError } from '../describe.js';
import { type Engine, openEngine } from '../engine.js';
import { exitCodeForError } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { chooseRenderMode } from '../render/terminal.js';
import { acceptsStreamOptions, type RequestOptions, readRequestOptions, requestFields } from '../request-options.js';
import { resolveSettings } from '../settings.js';

export interface Setup {
  config: ResolvedConfig;
  request: RequestOptions;
  output: OutputSettings;
  timeouts: Timeouts | undefined;
  describe: DescribeContext;
}

/** Validates every flag and resolves the target before anything is read or sent. */
export function setup(io: CliIO, values: ParsedValues, command: 'complete' | 'chat'): Setup {
  const request = readRequestOptions(values, command);
  const { config } = resolveSettings(io, values);
  const output: OutputSettings = {
    mode: chooseRenderMode({ raw: values.raw === true, isTTY: io.stdout.isTTY === true, env: io.env }),
    json: values.json === true,
    stats: values.stats === true,
    n: request.n,
    spinner: true,
  };
  const timeouts: Timeouts | undefined =
    request.totalTimeoutMs !== undefined || request.idleTimeoutMs !== undefined
      ? {
          ...(request.totalTimeoutMs !== undefined ? { totalMs: request.totalTimeoutMs } : {}),
          ...(request.idleTimeoutMs !== undefined ? { idleMs: request.idleTimeoutMs } : {}),
        }
      : undefined;
  return {
    config,
    request,
    output,
    timeouts,
    describe: {
      names: config.names,
      used: config.used,
      target: config.target,
      kind: command === 'complete' ? 'completions' : 'chat',
      retries: request.retries,
      secrets: config.secrets,
    },
  };
}

/**
 * Says once, on stderr, what the user may not expect: that the local model answers because
 * nothing is configured, or that the endpoint and the key come from different places.
 */
export function noteSettings(io: CliIO, s: Setup): void {
  if (s.config.target.kind === 'local' && s.config.target.implicit) io.stderr.write(`${localNotice()}\n`);
  const notice = sourceNotice(s.config);
  if (notice !== undefined) io.stderr.write(`${notice}\n`);
}

/**
 * The wire fields every request carries: sampling flags, and `stream_options` to get usage
 * when streaming and the api-version accepts it.
 */
export function commonBody(s: Setup): Partial<CommonRequestFields> {
  const body = requestFields(s.request);
  const t = s.config.target;
  const apiVersion = t.kind === 'azure' && t.route === 'deployments' ? t.apiVersion : undefined;
  if (s.request.stream && acceptsStreamOptions(apiVersion)) body.stream_options = { include_usage: true };
  return body;
}

/** Who asks, and how to stop them: what every chat answer needs. */
export interface ChatCall {
  io: CliIO;
  engine: Engine;
  setup: Setup;
  signal: AbortSignal;
}

/** What a chat answer may add to the settings' defaults. */
export type ChatExtra = Partial<Pick<AnswerRequest<'chat'>, 'quietWhen' | 'onFirstText' | 'describe' | 'record'>>;

/**
 * One Chat Completions answer for `messages`, with the settings of `s`.
 * @example
 * const outcome = await answerChat({ io, engine, setup: s, signal }, messagesFor(system, turns));
 */
export function answerChat(call: ChatCall, messages: ChatMessage[], extra: ChatExtra = {}): Promise<AnswerOutcome> {
  const s = call.setup;
  return answer({
    io: call.io,
    engine: call.engine,
    kind: 'chat',
    body: { messages, ...commonBody(s) },
    stream: s.request.stream,
    signal: call.signal,
    timeouts: s.timeouts,
    output: s.output,
    describe: s.describe,
    ...extra,
  });
}

/**
 * Opens the engine for `s`. A setting the client refuses is reported here, where the names
 * of the settings in use are known (main only knows the flags); resolves to the exit code then.
 * @example
 * const engine = await openEngineFor(io, s);
 * if (typeof engine === 'number') return engine;
 */
export async function openEngineFor(io: CliIO, s: Setup): Promise<Engine | number> {
  try {
    return await openEngine(s.config.target, { retries: s.request.retries });
  } catch (error) {
    io.stderr.write(`${describeError(error, s.describe)}\n`);
    return exitCodeForError(error);
  }
}
