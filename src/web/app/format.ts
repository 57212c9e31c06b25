/**
 * Words for the user: per-answer figures and the notice shown under an answer that did not
 * simply complete. Pure functions (Node tests import this module).
 * @module
 */
import { CONTEXT_LENGTH_EXCEEDED } from '../../protocol/context.js';
import type { AnswerEnd, AnswerStats } from './types.js';

export type NoticeAction = 'retry' | 'edit' | 'settings';

export interface Notice {
  tone: 'info' | 'warn' | 'error';
  /** Short, bold: "Stopped", "Rate limited". */
  title: string;
  detail: string;
  action?: NoticeAction;
  /** For rate limits: when Retry makes sense (epoch ms). */
  retryAt?: number;
}

/** The badge beside an answer's figures: `stopped`, `truncated`, ... ; none for a plain completion. */
export function badgeFor(end: AnswerEnd | undefined): string | undefined {
  if (!end) return 'streaming';
  if (end.kind === 'done') return end.finishReason === 'length' ? 'max tokens' : undefined;
  return end.kind === 'rate-limited' ? 'rate limited' : end.kind;
}

/**
 * @example
 * ```ts
 * formatStats({ ttftMs: 120, tokens: 87, tokensExact: true, tokensPerSecond: 41.2, durationMs: 2230 }, 'stop');
 * // ['first token 120 ms', '41.2 tok/s', '87 tokens', '2.2 s', 'finish: stop']
 * ```
 */
export function formatStats(stats: AnswerStats | undefined, finishReason?: string | null): string[] {
  const parts: string[] = [];
  if (!stats) return parts;
  if (stats.ttftMs !== undefined) parts.push(`first token ${formatMs(stats.ttftMs)}`);
  if (stats.tokensPerSecond !== undefined) parts.push(`${stats.tokensPerSecond.toFixed(1)} tok/s`);
  if (stats.tokens !== undefined) {
    const approx = stats.tokensExact ? '' : '≈';
    parts.push(`${approx}${stats.tokens} token${stats.tokens === 1 ? '' : 's'}`);
  }
  if (stats.durationMs !== undefined) parts.push(formatMs(stats.durationMs));
  if (finishReason) parts.push(`finish: ${finishReason}`);
  if (stats.model) parts.push(stats.model);
  return parts;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Seconds left before a rate-limited retry, rounded up; 0 when it may go now. */
export function secondsLeft(retryAt: number | undefined, nowMs: number): number {
  return retryAt === undefined ? 0 : Math.max(0, Math.ceil((retryAt - nowMs) / 1000));
}

/** The notice for an answer's end, or undefined when it simply completed. */
export function noticeFor(end: AnswerEnd | undefined, maxTokens?: number): Notice | undefined {
  if (!end) return undefined;
  switch (end.kind) {
    case 'done':
      if (end.finishReason === 'length') {
        const limit = maxTokens ? ` (${maxTokens})` : '';
        return {
          tone: 'info',
          title: 'Reached max tokens',
          detail: `The answer stopped at the token limit${limit}. Raise it in Settings for longer answers.`,
        };
      }
      return undefined;
    case 'stopped':
      return { tone: 'info', title: 'Stopped', detail: 'You stopped this answer; what arrived is kept.' };
    case 'truncated':
      return { tone: 'warn', title: 'Cut off', detail: `${end.message} What arrived is kept.`, action: 'retry' };
    case 'interrupted':
      return {
        tone: 'warn',
        title: 'Interrupted',
        detail: 'The page was closed while this answer was streaming.',
        action: 'retry',
      };
    case 'filtered':
      return end.where === 'prompt'
        ? { tone: 'error', title: 'Blocked by the content filter', detail: end.message, action: 'edit' }
        : { tone: 'warn', title: 'Filtered', detail: end.message, action: 'retry' };
    case 'rate-limited': {
      const wait = end.retryAfterMs === undefined ? '' : ` Retry after ${Math.ceil(end.retryAfterMs / 1000)} s.`;
      const notice: Notice = { tone: 'warn', title: 'Rate limited', detail: `${end.message}${wait}`, action: 'retry' };
      if (end.retryAfterMs !== undefined) notice.retryAt = end.at + end.retryAfterMs;
      return notice;
    }
    case 'failed': {
      const facts = [
        end.status ? `HTTP ${end.status}` : '',
        end.code ?? '',
        end.requestId ? `request ${end.requestId}` : '',
      ]
        .filter(Boolean)
        .join(' · ');
      // Reached only when the latest message alone does not fit: older turns were dropped already.
      const overflow = end.code === CONTEXT_LENGTH_EXCEEDED;
      const advice = overflow ? ' Shorten your message, or lower Max tokens in Settings.' : '';
      const notice: Notice = {
        tone: 'error',
        title: overflow ? 'Too long for the model' : 'Failed',
        detail: `${end.message}${facts ? ` (${facts})` : ''}${advice}`,
      };
      if (end.retryable) notice.action = 'retry';
      else if (
        end.status === 401 ||
        end.status === 403 ||
        end.status === 404 ||
        end.code === 'unknown_parameter' ||
        overflow
      ) {
        notice.action = 'settings';
      }
      return notice;
    }
  }
}
