/**
 * Reads a request body once, before any slot is taken. It is checked by the one request
 * validator (protocol/request.ts) against what this backend can honour: bad input is a
 * BadRequestError (400, the one error-body builder's shape) and costs no model time.
 * @module
 */

import type { BackendRequest } from '../../backend.js';
import { type RequestCapabilities, requestedMaxTokens, validateRequest } from '../../protocol/request.js';
import type { ChatMessage, ContentPart } from '../../types.js';
import { badRequest } from './bad-request.js';
import { toolCallText, toolsText } from './chat-prompt.js';
import { type OutputPlan, planOutput } from './output-plan.js';

/**
 * What the local model can honour: text in; text, tool calls and JSON out (grammar-constrained,
 * see output-plan.ts). Legacy `functions`, images, logprobs and best_of > n are refused,
 * naming the parameter, never ignored.
 */
export const LOCAL_CAPABILITIES: RequestCapabilities = {
  tools: true,
  functions: false,
  responseFormat: true,
  images: false,
  logprobs: false,
  bestOf: false,
};

export interface RequestPlan {
  kind: 'chat' | 'completions';
  /** Completions: one entry per prompt. Chat: empty. */
  prompts: string[];
  /** Chat: the conversation. Completions: empty. */
  messages: Array<{ role: string; text: string }>;
  n: number;
  /** Undefined: chat's default, a share of the context (token-budget.ts). */
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  /** Choice i uses seed + i, so choices differ yet a request is reproducible. */
  seed: number;
  stops: string[];
  presencePenalty: number;
  frequencyPenalty: number;
  includeUsage: boolean;
  /** Completions `echo`: the prompt is sent first, as part of the choice's text. */
  echo: boolean;
  /** Chat: text, JSON (`response_format`) or a tool call. Completions: text. */
  output: OutputPlan;
}

/**
 * @example
 * ```ts
 * const plan = planRequest({ kind: 'completions', body: { prompt: 'Once upon a time', max_tokens: 20 } });
 * plan.maxTokens; // 20
 * ```
 */
export function planRequest(
  request: BackendRequest,
  capabilities: RequestCapabilities = LOCAL_CAPABILITIES,
): RequestPlan {
  const kind = request.kind;
  const checked = validateRequest(kind, request.body, { capabilities, atBackend: true });
  if (!checked.ok) {
    const { message, param, code } = checked.problem;
    throw badRequest(param, message, code);
  }
  // Valid from here on: every field has the type and range the validator checked.
  const body = request.body as unknown as Record<string, unknown>;
  const seed = typeof body.seed === 'number' ? body.seed : randomSeed();
  const stop = body.stop;
  const streamOptions = body.stream_options as { include_usage?: unknown } | null | undefined;
  const common = {
    n: (body.n as number | null | undefined) ?? 1,
    maxTokens: requestedMaxTokens(kind, body),
    temperature: (body.temperature as number | null | undefined) ?? 1,
    topP: (body.top_p as number | null | undefined) ?? 1,
    seed,
    stops: typeof stop === 'string' ? [stop] : Array.isArray(stop) ? (stop as string[]) : [],
    presencePenalty: (body.presence_penalty as number | null | undefined) ?? 0,
    frequencyPenalty: (body.frequency_penalty as number | null | undefined) ?? 0,
    includeUsage: streamOptions?.include_usage === true,
  };
  if (kind === 'chat') {
    const output = planOutput(body);
    const messages = (body.messages as ChatMessage[]).map((m) => ({ role: m.role, text: messageText(m) }));
    if (output.kind === 'tools') messages.unshift({ role: 'system', text: toolsText(output.functions) });
    return { kind, prompts: [], messages, ...common, echo: false, output };
  }
  const prompt = body.prompt as string | string[];
  return {
    kind,
    prompts: typeof prompt === 'string' ? [prompt] : prompt,
    messages: [],
    ...common,
    echo: body.echo === true,
    output: { kind: 'text' },
  };
}

/** The text of a message's content: strings as they are, text parts joined, other parts skipped. */
export function contentText(content: ChatMessage['content'] | undefined): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as ContentPart[]) {
    if (part.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}

// --- internal ---

/** A message as the prompt shows it: its text, then the tool calls an assistant turn made. */
function messageText(m: ChatMessage): string {
  const text = contentText(m.content);
  if (m.role !== 'assistant' || !Array.isArray(m.tool_calls) || m.tool_calls.length === 0) return text;
  const calls = toolCallText(m.tool_calls);
  return text ? `${text}\n${calls}` : calls;
}

function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}
