/**
 * One answer, from request to exit code: stream it (or fetch it whole), print text the
 * moment it arrives (rendered for a terminal, exact bytes for a pipe, NDJSON with --json),
 * a spinner until the first token, stats and a one-line explanation on stderr.
 * @module
 */
import type { StreamMetrics } from '../client/metrics.js';
import type { Timeouts } from '../client/options.js';
import type { ResponseStream, StreamResult } from '../client/response-stream.js';
import type { LengthLimitReason } from '../errors.js';
import { SluiceError } from '../errors.js';
import {
  type EndState,
  endStateOfResponse,
  type LengthLimitRequest,
  lengthLimitReason,
} from '../protocol/end-state.js';
import { choiceText, textDeltas } from '../protocol/text.js';
import type { AnyResponse, ApiKind, ApiTypes, Usage } from '../types.js';
import { type DescribeContext, describeEnd, describeLengthLimit } from './describe.js';
import type { Engine } from './engine.js';
import { exitCodeForEnd } from './exit-codes.js';
import type { CliIO } from './io.js';
import { missingChoices } from './missing-choices.js';
import { createChoiceSequencer } from './render/choices.js';
import { createRenderer, type TextRenderer } from './render/renderer.js';
import { startSpinner } from './render/spinner.js';
import type { RenderMode } from './render/terminal.js';
import { type AnswerFacts, formatStats, summaryLine } from './stats.js';
import { toolCallLines } from './tool-calls.js';

export interface OutputSettings {
  mode: RenderMode;
  json: boolean;
  stats: boolean;
  /** Number of choices asked for (labels when more than one). */
  n: number;
  /** Printed before the answer (each choice's, with -n), like the tutorial's `print(prompt)`. */
  echo?: string;
  /** Show the spinner while waiting (needs stderr to be a terminal). */
  spinner: boolean;
}

export interface AnswerRequest<K extends ApiKind> {
  io: CliIO;
  engine: Engine;
  kind: K;
  body: ApiTypes[K]['request'];
  stream: boolean;
  signal: AbortSignal;
  timeouts?: Timeouts;
  output: OutputSettings;
  describe: DescribeContext;
  /**
   * Ends the caller will handle itself (the chat retries a full context): nothing is
   * written for them, no stats, no summary, no error line.
   */
  quietWhen?: (end: EndState) => boolean;
  /** Called once, just before the first text is written. */
  onFirstText?: () => void;
  /**
   * Called once the answer has ended (not for `quietWhen` ends), with choice 0's text:
   * logs it. The fields it resolves to join the `--json` summary line (the log id).
   */
  record?: (facts: AnswerFacts, text: string) => Promise<Record<string, unknown>>;
}

export interface AnswerOutcome {
  exitCode: number;
  end: EndState;
  /** Choice 0's text as it arrived, complete or not (chat keeps it in the history). */
  text: string;
  usage?: Usage;
}

/**
 * @example
 * const outcome = await answer({ io, engine, kind: 'chat', body, stream: true, signal, output, describe });
 * return outcome.exitCode;
 */
export async function answer<K extends ApiKind>(req: AnswerRequest<K>): Promise<AnswerOutcome> {
  const { io, output } = req;
  const printer = createPrinter(io, output);
  const onFirstText = req.onFirstText;
  if (onFirstText) {
    const text = printer.text;
    printer.text = (index, t) => {
      printer.text = text;
      onFirstText();
      text(index, t);
    };
  }
  const spinner =
    output.spinner && io.stderr.isTTY
      ? startSpinner((t) => io.stderr.write(t), 'waiting for the first token')
      : undefined;
  const stopSpinner = () => spinner?.stop();
  let facts: AnswerFacts;
  const seen = new Set<number>();
  try {
    facts = req.stream
      ? await streamAnswer(req, printer, stopSpinner, seen)
      : await wholeAnswer(req, printer, stopSpinner, seen);
  } finally {
    stopSpinner();
  }
  // A server that ignores `n` (or drops a choice) must not look like success.
  const missing = facts.end.state === 'completed' ? missingChoices(output.n, seen) : undefined;
  if (missing) facts = { ...facts, end: { state: 'failed', error: missing } };
  if (req.quietWhen?.(facts.end)) {
    return { exitCode: exitCodeForEnd(facts.end), end: facts.end, text: printer.text0, usage: facts.usage };
  }
  const logged = (await req.record?.(facts, printer.text0)) ?? {};
  if (output.json) io.stdout.write(summaryLine(facts, req.describe.secrets ?? [], logged));
  if (output.stats) io.stderr.write(`${formatStats(facts).join('\n')}\n`);
  const line = describeEnd(facts.end, req.describe) ?? describeLengthLimit(facts.lengthLimit, req.describe);
  if (line) io.stderr.write(`${line}\n`);
  return { exitCode: exitCodeForEnd(facts.end), end: facts.end, text: printer.text0, usage: facts.usage };
}

// --- internal ---

interface Printer {
  /** Choice 0's text so far. */
  text0: string;
  text(index: number, text: string): void;
  finish(index: number): void;
  close(): void;
}

/** Routes choices to renderers: one live, the others buffered, each labelled when n > 1. */
function createPrinter(io: CliIO, output: OutputSettings): Printer {
  const out = io.stdout;
  const tty = out.isTTY === true;
  let last = '\n';
  const write = (s: string) => {
    if (s === '') return;
    last = s;
    out.write(s);
  };
  const renderer = (): TextRenderer =>
    createRenderer(output.mode, { tty, columns: () => out.columns ?? 80, rows: () => out.rows ?? 24 });
  const printer: Printer = { text0: '', text() {}, finish() {}, close() {} };
  if (output.json) {
    printer.text = (index, text) => {
      if (index === 0) printer.text0 += text;
    };
    return printer;
  }
  if (output.n <= 1) {
    const r = renderer();
    if (output.echo) write(r.push(output.echo));
    printer.text = (index, text) => {
      if (index !== 0) return;
      printer.text0 += text;
      write(r.push(text));
    };
    printer.close = () => write(r.end());
    return printer;
  }
  const styled = output.mode !== 'raw';
  let r = renderer();
  const seq = createChoiceSequencer(output.n, {
    begin(index) {
      if (index > 0) write('\n');
      write(styled ? `\u001b[1;36m[choice ${index}]\u001b[0m\n` : `[choice ${index}]\n`);
      r = renderer();
      if (output.echo) write(r.push(output.echo));
    },
    text(_index, text) {
      write(r.push(text));
    },
    end() {
      write(r.end());
      if (!last.endsWith('\n')) write('\n');
    },
  });
  printer.text = (index, text) => {
    if (index === 0) printer.text0 += text;
    seq.text(index, text);
  };
  printer.finish = (index) => seq.finish(index);
  printer.close = () => seq.close();
  return printer;
}

async function streamAnswer<K extends ApiKind>(
  req: AnswerRequest<K>,
  printer: Printer,
  stopSpinner: () => void,
  seen: Set<number>,
): Promise<AnswerFacts> {
  const { io, output } = req;
  let stream: ResponseStream<K> | undefined;
  let thrown: unknown;
  try {
    stream = req.engine.stream(req.kind, req.body, { signal: req.signal, timeouts: req.timeouts });
    for await (const chunk of stream) {
      if (output.json) {
        stopSpinner();
        io.stdout.write(`${JSON.stringify(chunk)}\n`);
      }
      const deltas = textDeltas(chunk);
      for (let i = 0; i < deltas.length; i++) {
        const d = deltas[i] as { index: number; text: string };
        stopSpinner();
        printer.text(d.index, d.text);
      }
      const choices = chunk.choices;
      for (let i = 0; i < choices.length; i++) {
        const c = choices[i] as { index: number; finish_reason?: string | null };
        seen.add(c.index);
        if (c.finish_reason) printer.finish(c.index);
      }
    }
  } catch (error) {
    thrown = error;
  }
  stopSpinner();
  printer.close();

  let result: StreamResult<K> | undefined;
  if (stream) {
    try {
      result = await stream.final();
    } catch (error) {
      thrown ??= error;
    }
  }
  if (!output.json) writeToolCalls(io, result?.response, output.n);
  const end: EndState =
    result?.end ?? (thrown !== undefined ? { state: 'failed', error: asSluiceError(thrown) } : { state: 'completed' });
  const requestId =
    (stream
      ? await stream.meta.then(
          (m) => m.requestId,
          () => undefined,
        )
      : undefined) ?? requestIdFromError(end, thrown);
  const settled =
    end.state === 'completed' && thrown !== undefined
      ? { state: 'failed' as const, error: asSluiceError(thrown) }
      : end;
  return {
    end: settled,
    metrics: result?.metrics ?? stream?.metrics,
    usage: result?.response.usage ?? result?.metrics.usage,
    finishReasons: finishReasons(result?.response),
    lengthLimit: settled.state === 'completed' ? limitOf(req, result?.response) : undefined,
    requestId,
  };
}

async function wholeAnswer<K extends ApiKind>(
  req: AnswerRequest<K>,
  printer: Printer,
  stopSpinner: () => void,
  seen: Set<number>,
): Promise<AnswerFacts> {
  const started = performance.now();
  try {
    const { response, requestId } = await req.engine.create(req.kind, req.body, {
      signal: req.signal,
      timeouts: req.timeouts,
    });
    stopSpinner();
    if (req.output.json) req.io.stdout.write(`${JSON.stringify(response)}\n`);
    const choices = [...response.choices].sort((a, b) => a.index - b.index);
    for (const c of choices) {
      seen.add(c.index);
      const text = choiceText(c);
      if (text) printer.text(c.index, text);
      printer.finish(c.index);
    }
    printer.close();
    if (!req.output.json) writeToolCalls(req.io, response, req.output.n);
    const end = endStateOfResponse(response);
    const metrics: StreamMetrics = {
      startedAt: Date.now(),
      chunks: 0,
      gapsMs: { p50: 0, p95: 0, max: 0 },
      durationMs: performance.now() - started,
      ...(response.usage ? { usage: response.usage } : {}),
    };
    return {
      end,
      metrics,
      usage: response.usage,
      finishReasons: finishReasons(response),
      lengthLimit: end.state === 'completed' ? limitOf(req, response) : undefined,
      requestId,
    };
  } catch (error) {
    stopSpinner();
    printer.close();
    const end: EndState = req.signal.aborted
      ? { state: 'aborted', reason: req.signal.reason }
      : { state: 'failed', error: asSluiceError(error) };
    return { end, finishReasons: [], requestId: requestIdFromError(end, error) };
  }
}

function writeToolCalls(io: CliIO, response: AnyResponse | undefined, n: number): void {
  for (const line of toolCallLines(response, n)) io.stderr.write(`${line}\n`);
}

/** Which limit a `length` finish hit: the request's max_tokens, or the model's context. */
function limitOf<K extends ApiKind>(
  req: AnswerRequest<K>,
  response: AnyResponse | undefined,
): LengthLimitReason | undefined {
  if (!response) return undefined;
  return lengthLimitReason(response, req.body as LengthLimitRequest, req.engine.contextTokens?.());
}

function finishReasons(response: AnyResponse | undefined): Array<string | null> {
  if (!response) return [];
  const out: Array<string | null> = [];
  for (const c of response.choices) out[c.index] = c.finish_reason ?? null;
  return Array.from(out, (r) => r ?? null);
}

/** Sluice errors are outcomes; anything else is a bug and goes up to main (exit 1). */
function asSluiceError(error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  throw error;
}

function requestIdFromError(end: EndState, thrown: unknown): string | undefined {
  const e = (end.state === 'failed' ? end.error : thrown) as { requestId?: unknown } | undefined;
  return typeof e?.requestId === 'string' ? e.requestId : undefined;
}
