/**
 * Errors and end states as one line for stderr: what happened, then what to do. Never a
 * stack trace, never a key: every line is scrubbed of the configured secrets and of
 * anything that looks like a credential. Pure.
 * @module
 */
import { ErrorCodes, type LengthLimitReason, TRUNCATION_REASON_TEXT } from '../errors.js';
import type { EndState } from '../protocol/end-state.js';
import { redactSecrets } from '../protocol/secrets.js';
import type { CliTarget, ResolvedConfig, SettingNames } from './config.js';
import { MissingChoicesError } from './missing-choices.js';
import { UsageError } from './usage-error.js';

export interface DescribeContext {
  /** Setting names to mention (profile-suffixed when a profile is used). */
  names?: SettingNames;
  /** The settings actually used: advice names these, not others the user never set. */
  used?: ResolvedConfig['used'];
  target?: CliTarget;
  /** The API in use, for hints (`complete` uses legacy Completions). */
  kind?: 'chat' | 'completions';
  /** Retries configured, for the rate-limit message. */
  retries?: number;
  /** Values never to print. */
  secrets?: readonly string[];
  /** The interactive chat (its history makes room by itself). */
  interactive?: boolean;
}

interface ErrorLike {
  code?: string;
  message?: string;
  status?: number;
  requestId?: string;
  body?: { error?: { code?: string | null; message?: string; param?: string | null } };
  phase?: string;
  timeoutMs?: number;
  reason?: string;
  categories?: string[];
  where?: string;
  rateLimit?: { retryAfterMs?: number };
  retryAfterMs?: number;
  setting?: string;
}

/**
 * @example
 * describeError(new AuthenticationError('Access denied', { status: 401, requestId: 'r1' }), {})
 * // 'sluice: authentication failed (HTTP 401: Access denied; request id r1). Check AZURE_OPENAI_API_KEY ...'
 */
export function describeError(error: unknown, ctx: DescribeContext = {}): string {
  return finish(describeRaw(error, ctx), ctx);
}

/**
 * The line for a stream that did not complete; undefined for `completed`.
 * @example
 * describeEnd({ state: 'truncated', reason: 'no-done', unfinished: [] }) // 'sluice: the stream ended ...'
 */
export function describeEnd(end: EndState, ctx: DescribeContext = {}): string | undefined {
  switch (end.state) {
    case 'completed':
      return undefined;
    case 'aborted':
      return 'sluice: interrupted; what arrived was kept.';
    case 'filtered': {
      const cats = end.categories.length > 0 ? `: ${end.categories.join(', ')}` : '';
      if (end.where === 'prompt') {
        return finish(`the prompt was blocked by the content filter${cats}. Rephrase it and try again.`, ctx);
      }
      const which = end.choices.length > 1 ? ` (choices ${end.choices.join(', ')})` : '';
      return finish(`the answer was stopped by the content filter${cats}${which}; what arrived is shown above.`, ctx);
    }
    case 'truncated':
      // A limit the server reported (a Responses answer ended `incomplete`): not a broken stream.
      if (end.reason === 'max-tokens' || end.reason === 'context-length') {
        const advice = end.reason === 'max-tokens' ? ' Raise --max-tokens for a longer answer.' : '';
        return finish(`the answer stopped: ${TRUNCATION_REASON_TEXT[end.reason]}.${advice}`, ctx);
      }
      return finish(
        end.reason === 'no-done'
          ? 'the stream ended before [DONE]: the answer above is incomplete. Try again.'
          : `the stream ended with unfinished choice(s) ${end.unfinished.join(', ')}: the answer above is incomplete. Try again.`,
        ctx,
      );
    case 'failed':
      return describeError(end.error, ctx);
  }
}

/**
 * The line for an answer stopped by a limit, when it needs one: a full context (a longer
 * --max-tokens cannot help, unlike the max tokens the user chose, which need no word).
 * @example
 * describeLengthLimit('context-length', { kind: 'chat' }) // "sluice: the answer stopped: the model's context is full ..."
 */
export function describeLengthLimit(
  reason: LengthLimitReason | undefined,
  ctx: DescribeContext = {},
): string | undefined {
  if (reason !== 'context-length') return undefined;
  const advice = ctx.interactive
    ? 'The oldest turns make room for your next question.'
    : `A higher --max-tokens cannot help: shorten the ${ctx.kind === 'completions' ? 'prompt' : 'message'}.`;
  return finish(`the answer stopped: ${TRUNCATION_REASON_TEXT['context-length']}. ${advice}`, ctx);
}

/**
 * Removes secrets: every configured value, then credential-looking patterns.
 * @example
 * scrub('key sk-123456 leaked', ['sk-123456']) // 'key [redacted] leaked'
 */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return redactSecrets(out);
}

// --- internal ---

function finish(line: string, ctx: DescribeContext): string {
  const one = line.replace(/\s+/g, ' ').trim();
  const text = one.startsWith('sluice: ') ? one : `sluice: ${one}`;
  const clipped = text.length > 600 ? `${text.slice(0, 597)}...` : text;
  return scrub(clipped, ctx.secrets);
}

function describeRaw(error: unknown, ctx: DescribeContext): string {
  if (!(error instanceof Error)) return `unexpected error: ${sentence(String(error))} Please report it.`;
  const e = error as Error & ErrorLike;
  const names = ctx.names;
  const remote = describeTarget(ctx.target);
  const openai = ctx.target?.kind === 'openai';
  const keyName = ctx.used?.key?.name ?? (openai ? names?.openaiKey : names?.apiKey) ?? 'the key';
  // An endpoint nobody set (OpenAI's default) is not a setting to check.
  const endpointName = ctx.used?.endpoint?.name ?? (openai ? undefined : names?.endpoint);
  const deploymentName =
    ctx.used?.deployment?.name ??
    (openai ? '--model' : `${names?.deployment ?? 'AZURE_OPENAI_DEPLOYMENT'} or --deployment`);
  switch (e.code) {
    case ErrorCodes.CONFIG:
      return error instanceof UsageError
        ? `${sentence(e.message)} Run "sluice${error.command && error.command !== 'complete' ? ` ${error.command}` : ''} --help" for usage.`
        : sentence(inCliTerms(e.message ?? '', e.setting, ctx));
    case ErrorCodes.AUTH:
      return `authentication failed (${http(e)}). Check ${keyName} and ${endpointName ?? 'the endpoint'}${remote}.`;
    case ErrorCodes.NOT_FOUND:
      return `not found (${http(e)}). Check the ${openai ? 'model' : 'deployment'} name (${deploymentName}) and ${endpointName ?? 'the endpoint'}${remote}.`;
    case ErrorCodes.RATE_LIMIT: {
      const wait = e.rateLimit?.retryAfterMs ?? e.retryAfterMs;
      const retries = ctx.retries ?? 2;
      // The service's own "Please retry after N seconds" would say the wait twice.
      return `rate limited (${http(e, RETRY_AFTER_SENTENCE)}) after ${retries} ${retries === 1 ? 'retry' : 'retries'}. ${
        wait ? `Wait ${Math.ceil(wait / 1000)} s and try again` : 'Try again later'
      }, raise --retries, or ask for more quota.`;
    }
    case ErrorCodes.CONTENT_FILTER: {
      const cats = e.categories?.length ? `: ${e.categories.join(', ')}` : '';
      return e.where === 'completion'
        ? `the answer was stopped by the content filter${cats}; what arrived is shown above.`
        : `the prompt was blocked by the content filter${cats} (${http(e)}). Rephrase it and try again.`;
    }
    case ErrorCodes.BAD_REQUEST: {
      const apiCode = e.body?.error?.code;
      if (apiCode === 'context_length_exceeded') {
        return `the ${ctx.kind === 'completions' ? 'prompt' : 'message'} does not fit the model's context (${http(e)}). Shorten it, or ask for fewer tokens with --max-tokens.`;
      }
      if (apiCode === 'OperationNotSupported' && ctx.kind === 'completions') {
        return `this deployment does not support legacy Completions (${http(e)}). Use "sluice chat", or a completions model such as gpt-35-turbo-instruct.`;
      }
      const param = e.body?.error?.param ? ` Check ${flagFor(e.body.error.param)}.` : ' Check the request flags.';
      return `the request was rejected (${http(e)}).${param}`;
    }
    case ErrorCodes.SERVER:
    case ErrorCodes.API:
      return `the service failed (${http(e)}). Try again later.`;
    case ErrorCodes.CONNECTION:
      return `could not reach the service${remote}: ${sentence(e.message ?? '')} Check ${endpointName ?? 'the endpoint'} and your network.`;
    case ErrorCodes.TIMEOUT:
      return timeoutLine(e);
    case ErrorCodes.STREAM_TRUNCATED:
      return `the stream ended early (${clause(e.message ?? '')}): the answer above is incomplete. Try again.`;
    case ErrorCodes.STREAM_ERROR: {
      const body = e.body?.error;
      const detail = body ? `${body.code ? `${body.code}: ` : ''}${body.message ?? ''}` : e.message;
      return `the service reported an error mid-stream (${detail}); what arrived is shown above. Try again.`;
    }
    case ErrorCodes.PROTOCOL:
    case ErrorCodes.SSE_LINE_TOO_LONG:
      if (error instanceof MissingChoicesError) {
        const which = error.missing.length === 1 ? 'choice' : 'choices';
        return `asked for ${error.asked} choices (-n ${error.asked}) but ${which} ${error.missing.join(', ')} never came${remote}; what arrived is shown above. The server may not support -n: ask for one answer at a time.`;
      }
      return `the answer was not a valid OpenAI event stream (${clause(e.message ?? '')}). Is ${endpointName ?? 'the endpoint'}${remote} an Azure OpenAI or OpenAI-compatible endpoint?`;
    case ErrorCodes.MODEL_LOAD: {
      // Only the path and what went wrong: the library's own note on where the path came from
      // and its advice name its API; the CLI names its settings.
      const first = firstSentence(e.message ?? '');
      const why = /^Could not load the local model at .*? \([^)]*\): (.*)$/s.exec(first)?.[1];
      const path = (error as { modelPath?: unknown }).modelPath;
      const what =
        why !== undefined && typeof path === 'string' ? `Could not load the local model at ${path}: ${why}` : first;
      return `${sentence(what)} Set --model PATH or SLUICE_MODEL to a readable GGUF file.`;
    }
    case ErrorCodes.OVERLOADED: {
      const wait = e.retryAfterMs === undefined ? '' : ` in ${Math.max(1, Math.ceil(e.retryAfterMs / 1000))} s`;
      return `the local model is busy: every slot and queue place is taken. Try again${wait}.`;
    }
    case ErrorCodes.ABORTED:
      return 'interrupted; what arrived was kept.';
    default:
      return `unexpected error: ${sentence(e.message || e.name)} Please report it (SLUICE_DEBUG=1 shows the stack).`;
  }
}

/**
 * A library ConfigError's message with its option name (`endpoint`, `apiVersion`...) replaced
 * by the flag or variable the user set: the CLI never speaks of library options.
 */
function inCliTerms(message: string, setting: string | undefined, ctx: DescribeContext): string {
  if (setting === undefined) return message;
  const openai = ctx.target?.kind === 'openai';
  const names: Record<string, string | undefined> = {
    endpoint: ctx.used?.endpoint?.name ?? ctx.names?.endpoint,
    baseURL: ctx.used?.endpoint?.name ?? ctx.names?.baseURL,
    apiKey: ctx.used?.key?.name ?? (openai ? ctx.names?.openaiKey : ctx.names?.apiKey),
    deployment: ctx.used?.deployment?.name ?? (openai ? '--model' : '--deployment'),
    model: ctx.used?.deployment?.name ?? '--model',
    apiVersion: '--api-version',
    maxRetries: '--retries',
  };
  const name = Object.hasOwn(names, setting) ? names[setting] : undefined;
  return name === undefined ? message : message.split(`\`${setting}\``).join(name);
}

/**
 * `text` as a sentence: a full stop added unless it already ends with one (or with ? or !),
 * so joining a message and advice never doubles punctuation.
 */
function sentence(text: string): string {
  const t = text.trimEnd();
  return /[.?!]$/.test(t) ? t : `${t}.`;
}

/** Azure's and OpenAI's "Please retry after 3 seconds." in a 429 message. */
const RETRY_AFTER_SENTENCE = /\s*(?:Please )?retry after \d+(?:\.\d+)? (?:seconds?|ms|milliseconds?)\.?/gi;

/** `text` without its final full stop, to sit inside parentheses or before a semicolon. */
function clause(text: string): string {
  return text.trimEnd().replace(/\.+$/, '');
}

/** The first sentence of `text` (up to a full stop followed by a capital letter). */
function firstSentence(text: string): string {
  return text.split(/\.\s+(?=[A-Z])/)[0] ?? text;
}

/** `HTTP 401 code: message; request id X`; `drop` removes a part of the message already said. */
function http(e: ErrorLike, drop?: RegExp): string {
  const parts: string[] = [];
  const apiCode = e.body?.error?.code;
  const status = e.status !== undefined ? `HTTP ${e.status}` : '';
  const head = [status, apiCode && apiCode !== String(e.status) ? apiCode : ''].filter(Boolean).join(' ');
  const raw = e.body?.error?.message ?? e.message ?? '';
  const message = clause(drop ? raw.replace(drop, '') : raw);
  parts.push(head ? `${head}: ${message}` : message);
  if (e.requestId) parts.push(`request id ${e.requestId}`);
  return parts.join('; ');
}

function timeoutLine(e: ErrorLike): string {
  const s = e.timeoutMs !== undefined ? `${+(e.timeoutMs / 1000).toFixed(3)} s` : 'the limit';
  switch (e.phase) {
    case 'idle':
      return `no chunk arrived for ${s} (--idle-timeout): the answer above is incomplete. Try again or raise --idle-timeout.`;
    case 'total':
      return `the answer took longer than ${s} (--timeout): what arrived is shown above. Raise --timeout or ask for fewer tokens.`;
    case 'first-token':
      return `no first token after ${s}. The service may be overloaded; try again.`;
    default:
      return `no response after ${s}. The service may be overloaded or unreachable; try again.`;
  }
}

function describeTarget(target: CliTarget | undefined): string {
  if (!target) return '';
  if (target.kind === 'azure') return ` (${target.endpoint}, deployment ${target.deployment})`;
  if (target.kind === 'openai') return ` (${target.baseURL})`;
  return '';
}

function flagFor(param: string): string {
  const flags: Record<string, string> = {
    max_tokens: '--max-tokens',
    temperature: '--temperature',
    top_p: '--top-p',
    stop: '--stop',
    seed: '--seed',
    n: '-n',
    stream_options: '--api-version (stream_options needs 2024-09-01-preview or later)',
    model: '--model / --deployment',
  };
  return flags[param] ?? `the "${param}" parameter`;
}
