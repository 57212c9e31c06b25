/**
 * Realistic Azure OpenAI streams for tests, as chunk arrays and as SSE text, each with the
 * non-streaming response it must accumulate to (written by hand, never computed) and the
 * end state it must produce. Reused by the client, server and CLI tests.
 *
 * The SSE text is built by plain string concatenation here (`toSseText`), not with
 * `src/sse`, so that tests of the decoder and the client are checked against an
 * independent encoder.
 *
 * Shapes follow `shared/reference/azure-openai-streaming.md`: the prompt-filter chunk
 * (`id: ""`, `choices: []`), the role chunk, content chunks with per-choice filter results,
 * the finish chunk (`delta: {}`), the usage chunk, `[DONE]`. Keys are in Azure's
 * (alphabetical) order.
 * @module
 */
import type { ErrorCode } from '../../errors.js';
import type {
  ApiErrorBody,
  ApiKind,
  ApiTypes,
  ChatChunkChoice,
  ChatCompletion,
  ChatCompletionChunk,
  Completion,
  CompletionChunk,
  CompletionChunkChoice,
  ContentFilterResults,
  EndState,
  PromptFilterResult,
} from '../types.js';

// --- the fixture shape ----------------------------------------------------------------

/** One SSE event of a fixture: a chunk, an error frame (`data:` or `event: error`), `[DONE]`. */
export type FixtureFrame<K extends ApiKind> =
  | { chunk: ApiTypes[K]['chunk'] }
  | { error: ApiErrorBody; event?: 'error' }
  | { done: true };

/** The end state a fixture must produce; a `failed` one is described by its error's code. */
export type ExpectedEnd = Exclude<EndState, { state: 'failed' }> | { state: 'failed'; code: ErrorCode };

export interface AzureStreamFixture<K extends ApiKind> {
  name: string;
  kind: K;
  /** What the stream shows, in a sentence. */
  description: string;
  /** Every event, in wire order. */
  frames: FixtureFrame<K>[];
  /** Only the chunk frames, in order: what a Backend would yield. */
  chunks: ApiTypes[K]['chunk'][];
  /** The exact SSE text on the wire (LF line endings, `[DONE]` with its blank line). */
  sse: string;
  /** Whether the stream ends with `data: [DONE]`. */
  sawDone: boolean;
  /** The non-streaming response the chunks accumulate to. */
  expected: ApiTypes[K]['response'];
  /** The end state of `finish({sawDone})`, or `failed` for an error frame. */
  expectedEnd: ExpectedEnd;
  /** The concatenated text per choice index, as textDeltas would yield it. */
  expectedText: string[];
}

export interface SseTextOptions {
  /** Line ending, default `\n`. */
  eol?: '\n' | '\r\n' | '\r';
  /** Whether `data: [DONE]` gets its blank line (Azure historically sometimes omitted it). Default true. */
  doneBlankLine?: boolean;
}

/**
 * Hand-rolled SSE encoding of fixture frames: `data: <json>` + blank line per chunk,
 * `event: error` before error frames that have it, `data: [DONE]` at the end.
 *
 * @example
 * toSseText(chatBasic.frames, { doneBlankLine: false }); // Azure's old unterminated [DONE]
 */
export function toSseText<K extends ApiKind>(frames: FixtureFrame<K>[], options: SseTextOptions = {}): string {
  const eol = options.eol ?? '\n';
  const doneBlankLine = options.doneBlankLine ?? true;
  let out = '';
  for (const frame of frames) {
    if ('chunk' in frame) out += `data: ${JSON.stringify(frame.chunk)}${eol}${eol}`;
    else if ('error' in frame) {
      if (frame.event === 'error') out += `event: error${eol}`;
      out += `data: ${JSON.stringify(frame.error)}${eol}${eol}`;
    } else out += `data: [DONE]${eol}${doneBlankLine ? eol : ''}`;
  }
  return out;
}

function fixture<K extends ApiKind>(
  f: Omit<AzureStreamFixture<K>, 'chunks' | 'sse' | 'sawDone'>,
): AzureStreamFixture<K> {
  const chunks: ApiTypes[K]['chunk'][] = [];
  for (const frame of f.frames) if ('chunk' in frame) chunks.push(frame.chunk);
  const sawDone = f.frames.some((frame) => 'done' in frame);
  return { ...f, chunks, sse: toSseText(f.frames), sawDone };
}

// --- building blocks ------------------------------------------------------------------

/** Per-choice results of Azure's default filter on harmless text. Fresh object per call. */
export function safeChoiceFilters(): ContentFilterResults {
  return {
    hate: { filtered: false, severity: 'safe' },
    self_harm: { filtered: false, severity: 'safe' },
    sexual: { filtered: false, severity: 'safe' },
    violence: { filtered: false, severity: 'safe' },
  };
}

/** Prompt results of Azure's default filter on a harmless prompt (with jailbreak detection). */
export function safePromptFilters(): ContentFilterResults {
  return {
    hate: { filtered: false, severity: 'safe' },
    jailbreak: { filtered: false, detected: false },
    self_harm: { filtered: false, severity: 'safe' },
    sexual: { filtered: false, severity: 'safe' },
    violence: { filtered: false, severity: 'safe' },
  };
}

interface ChatHeader {
  id: string;
  created: number;
  model: string;
  fingerprint?: string;
}

function chat(
  h: ChatHeader,
  choices: ChatChunkChoice[],
  extra: Partial<ChatCompletionChunk> = {},
): ChatCompletionChunk {
  return {
    choices,
    created: h.created,
    id: h.id,
    model: h.model,
    object: 'chat.completion.chunk',
    ...(h.fingerprint !== undefined ? { system_fingerprint: h.fingerprint } : {}),
    ...extra,
  };
}

/** Azure's first chunk: prompt filter results, no choices, empty id/model. */
function promptFilterChunk(results: PromptFilterResult[]): ChatCompletionChunk {
  return { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: results };
}

/** An asynchronous-filter annotation: no delta, offsets, `id: ""`. */
function annotation(
  index: number,
  results: ContentFilterResults,
  offsets: [number, number, number],
  finishReason: string | null = null,
): ChatCompletionChunk {
  return {
    choices: [
      {
        content_filter_offsets: { check_offset: offsets[0], start_offset: offsets[1], end_offset: offsets[2] },
        content_filter_results: results,
        finish_reason: finishReason,
        index,
      },
    ],
    created: 0,
    id: '',
    model: '',
    object: '',
  };
}

function content(
  index: number,
  text: string,
  filters: ContentFilterResults | undefined = safeChoiceFilters(),
): ChatChunkChoice {
  return {
    ...(filters !== undefined ? { content_filter_results: filters } : {}),
    delta: { content: text },
    finish_reason: null,
    index,
    logprobs: null,
  };
}

function roleChoice(index: number): ChatChunkChoice {
  return {
    content_filter_results: {},
    delta: { content: '', refusal: null, role: 'assistant' },
    finish_reason: null,
    index,
    logprobs: null,
  };
}

function finishChoice(index: number, reason: string, filters: ContentFilterResults = {}): ChatChunkChoice {
  return { content_filter_results: filters, delta: {}, finish_reason: reason, index, logprobs: null };
}

const GPT4O: ChatHeader = {
  id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
  created: 1732550400,
  model: 'gpt-4o-2024-08-06',
  fingerprint: 'fp_04751d0b65',
};

// --- chat, n = 1 ----------------------------------------------------------------------

/** n = 1: prompt-filter chunk, role chunk, five content bursts (one with non-ASCII), finish, usage, [DONE]. */
export const chatBasic = fixture<'chat'>({
  name: 'chatBasic',
  kind: 'chat',
  description: 'n = 1 with the prompt-filter chunk, role, content bursts, finish, usage chunk and [DONE]',
  frames: [
    { chunk: promptFilterChunk([{ prompt_index: 0, content_filter_results: safePromptFilters() }]) },
    { chunk: chat(GPT4O, [roleChoice(0)], { usage: null }) },
    { chunk: chat(GPT4O, [content(0, 'A sluice gate')], { usage: null }) },
    { chunk: chat(GPT4O, [content(0, ' holds water back')], { usage: null }) },
    { chunk: chat(GPT4O, [content(0, ' and lets it through')], { usage: null }) },
    { chunk: chat(GPT4O, [content(0, ' in measured bursts —')], { usage: null }) },
    { chunk: chat(GPT4O, [content(0, ' café-style ☕.')], { usage: null }) },
    { chunk: chat(GPT4O, [finishChoice(0, 'stop')], { usage: null }) },
    {
      chunk: chat(GPT4O, [], {
        usage: {
          completion_tokens: 19,
          completion_tokens_details: {
            accepted_prediction_tokens: 0,
            reasoning_tokens: 0,
            rejected_prediction_tokens: 0,
          },
          prompt_tokens: 24,
          prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
          total_tokens: 43,
        },
      }),
    },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: 'A sluice gate holds water back and lets it through in measured bursts — café-style ☕.',
          refusal: null,
        },
        logprobs: null,
        finish_reason: 'stop',
        content_filter_results: {
          hate: { filtered: false, severity: 'safe' },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: false, severity: 'safe' },
          violence: { filtered: false, severity: 'safe' },
        },
      },
    ],
    usage: {
      completion_tokens: 19,
      completion_tokens_details: { accepted_prediction_tokens: 0, reasoning_tokens: 0, rejected_prediction_tokens: 0 },
      prompt_tokens: 24,
      prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
      total_tokens: 43,
    },
    prompt_filter_results: [
      {
        prompt_index: 0,
        content_filter_results: {
          hate: { filtered: false, severity: 'safe' },
          jailbreak: { filtered: false, detected: false },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: false, severity: 'safe' },
          violence: { filtered: false, severity: 'safe' },
        },
      },
    ],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: ['A sluice gate holds water back and lets it through in measured bursts — café-style ☕.'],
});

/** chatBasic's SSE text with `data: [DONE]` lacking its blank line, as older Azure versions sent it. */
export const chatBasicUnterminatedDoneSse = toSseText(chatBasic.frames, { doneBlankLine: false });

// --- chat, n = 2 ----------------------------------------------------------------------

/** n = 2 with the two choices' chunks interleaved; choice 1 finishes first and with `length`. */
export const chatTwoChoices = fixture<'chat'>({
  name: 'chatTwoChoices',
  kind: 'chat',
  description: 'n = 2, chunks of both choices interleaved, one finish_reason per choice',
  frames: [
    { chunk: promptFilterChunk([{ prompt_index: 0, content_filter_results: safePromptFilters() }]) },
    { chunk: chat(GPT4O, [roleChoice(0)]) },
    { chunk: chat(GPT4O, [roleChoice(1)]) },
    { chunk: chat(GPT4O, [content(1, 'Rivers')]) },
    { chunk: chat(GPT4O, [content(0, 'Water')]) },
    { chunk: chat(GPT4O, [content(0, ' waits')]) },
    { chunk: chat(GPT4O, [content(1, ' run')]) },
    { chunk: chat(GPT4O, [finishChoice(1, 'length')]) },
    { chunk: chat(GPT4O, [content(0, ' behind the gate.')]) },
    { chunk: chat(GPT4O, [finishChoice(0, 'stop')]) },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Water waits behind the gate.', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
        content_filter_results: safeChoiceFilters(),
      },
      {
        index: 1,
        message: { role: 'assistant', content: 'Rivers run', refusal: null },
        logprobs: null,
        finish_reason: 'length',
        content_filter_results: safeChoiceFilters(),
      },
    ],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: ['Water waits behind the gate.', 'Rivers run'],
});

// --- tool calls -----------------------------------------------------------------------

/** Two parallel tool calls: id/type/name on each call's first delta, arguments in fragments. */
export const chatParallelToolCalls = fixture<'chat'>({
  name: 'chatParallelToolCalls',
  kind: 'chat',
  description: 'two parallel tool calls streamed by index, arguments in fragments, finish_reason tool_calls',
  frames: [
    { chunk: promptFilterChunk([{ prompt_index: 0, content_filter_results: safePromptFilters() }]) },
    {
      chunk: chat(GPT4O, [
        {
          content_filter_results: {},
          delta: { content: null, refusal: null, role: 'assistant' },
          finish_reason: null,
          index: 0,
          logprobs: null,
        },
      ]),
    },
    {
      chunk: chat(GPT4O, [
        {
          content_filter_results: {},
          delta: {
            tool_calls: [
              {
                function: { arguments: '', name: 'get_weather' },
                id: 'call_3Qm9vXb2kLr8TzY1',
                index: 0,
                type: 'function',
              },
            ],
          },
          finish_reason: null,
          index: 0,
          logprobs: null,
        },
      ]),
    },
    { chunk: chat(GPT4O, [toolArgs(0, '{"ci')]) },
    { chunk: chat(GPT4O, [toolArgs(0, 'ty": "Par')]) },
    { chunk: chat(GPT4O, [toolArgs(0, 'is"}')]) },
    {
      chunk: chat(GPT4O, [
        {
          content_filter_results: {},
          delta: {
            tool_calls: [
              {
                function: { arguments: '', name: 'get_time' },
                id: 'call_8hWc0PzR5nJ2aDk4',
                index: 1,
                type: 'function',
              },
            ],
          },
          finish_reason: null,
          index: 0,
          logprobs: null,
        },
      ]),
    },
    { chunk: chat(GPT4O, [toolArgs(1, '{"tz": ')]) },
    { chunk: chat(GPT4O, [toolArgs(1, '"Europe/Paris"}')]) },
    { chunk: chat(GPT4O, [finishChoice(0, 'tool_calls')]) },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: 'call_3Qm9vXb2kLr8TzY1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city": "Paris"}' },
            },
            {
              id: 'call_8hWc0PzR5nJ2aDk4',
              type: 'function',
              function: { name: 'get_time', arguments: '{"tz": "Europe/Paris"}' },
            },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
        content_filter_results: {},
      },
    ],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: [''],
});

function toolArgs(call: number, fragment: string): ChatChunkChoice {
  return {
    content_filter_results: {},
    delta: { tool_calls: [{ function: { arguments: fragment }, index: call }] },
    finish_reason: null,
    index: 0,
    logprobs: null,
  };
}

/** The legacy `function_call` delta (pre-tools API versions). */
export const chatLegacyFunctionCall = fixture<'chat'>({
  name: 'chatLegacyFunctionCall',
  kind: 'chat',
  description: 'legacy function_call: name on the first delta, arguments in fragments, finish_reason function_call',
  frames: [
    {
      chunk: chat({ id: 'chatcmpl-7xLgFnC0mQ2', created: 1690000000, model: 'gpt-35-turbo' }, [
        {
          delta: { function_call: { arguments: '', name: 'lookup' }, role: 'assistant' },
          finish_reason: null,
          index: 0,
        },
      ]),
    },
    {
      chunk: chat({ id: 'chatcmpl-7xLgFnC0mQ2', created: 1690000000, model: 'gpt-35-turbo' }, [
        { delta: { function_call: { arguments: '{"q":' } }, finish_reason: null, index: 0 },
      ]),
    },
    {
      chunk: chat({ id: 'chatcmpl-7xLgFnC0mQ2', created: 1690000000, model: 'gpt-35-turbo' }, [
        { delta: { function_call: { arguments: ' "locks"}' } }, finish_reason: null, index: 0 },
      ]),
    },
    {
      chunk: chat({ id: 'chatcmpl-7xLgFnC0mQ2', created: 1690000000, model: 'gpt-35-turbo' }, [
        { delta: {}, finish_reason: 'function_call', index: 0 },
      ]),
    },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-7xLgFnC0mQ2',
    object: 'chat.completion',
    created: 1690000000,
    model: 'gpt-35-turbo',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '{"q": "locks"}' } },
        logprobs: null,
        finish_reason: 'function_call',
      },
    ],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: [''],
});

/** A refusal streamed in `delta.refusal` (structured outputs): content stays null. */
export const chatRefusal = fixture<'chat'>({
  name: 'chatRefusal',
  kind: 'chat',
  description: 'a refusal in delta.refusal fragments; content null in the response',
  frames: [
    {
      chunk: chat(GPT4O, [
        { delta: { content: null, refusal: '', role: 'assistant' }, finish_reason: null, index: 0, logprobs: null },
      ]),
    },
    { chunk: chat(GPT4O, [{ delta: { refusal: "I'm sorry, " }, finish_reason: null, index: 0, logprobs: null }]) },
    {
      chunk: chat(GPT4O, [
        { delta: { refusal: "I can't help with that." }, finish_reason: null, index: 0, logprobs: null },
      ]),
    },
    { chunk: chat(GPT4O, [{ delta: {}, finish_reason: 'stop', index: 0, logprobs: null }]) },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: "I'm sorry, I can't help with that." },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: [''],
});

/** Chat logprobs: each content chunk carries its tokens' logprobs; they are appended. */
export const chatLogprobs = fixture<'chat'>({
  name: 'chatLogprobs',
  kind: 'chat',
  description: 'logprobs=true, top_logprobs=1: logprobs.content arrays appended across chunks',
  frames: [
    {
      chunk: chat(GPT4O, [
        {
          delta: { content: '', role: 'assistant' },
          finish_reason: null,
          index: 0,
          logprobs: { content: [], refusal: null },
        },
      ]),
    },
    {
      chunk: chat(GPT4O, [
        {
          delta: { content: 'Open' },
          finish_reason: null,
          index: 0,
          logprobs: {
            content: [
              {
                bytes: [79, 112, 101, 110],
                logprob: -0.02,
                token: 'Open',
                top_logprobs: [{ bytes: [79, 112, 101, 110], logprob: -0.02, token: 'Open' }],
              },
            ],
            refusal: null,
          },
        },
      ]),
    },
    {
      chunk: chat(GPT4O, [
        {
          delta: { content: ' gate' },
          finish_reason: null,
          index: 0,
          logprobs: {
            content: [
              {
                bytes: [32, 103, 97, 116, 101],
                logprob: -1.25,
                token: ' gate',
                top_logprobs: [{ bytes: [32, 103, 97, 116, 101], logprob: -1.25, token: ' gate' }],
              },
            ],
            refusal: null,
          },
        },
      ]),
    },
    { chunk: chat(GPT4O, [{ delta: {}, finish_reason: 'length', index: 0, logprobs: null }]) },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Open gate' },
        logprobs: {
          content: [
            {
              bytes: [79, 112, 101, 110],
              logprob: -0.02,
              token: 'Open',
              top_logprobs: [{ bytes: [79, 112, 101, 110], logprob: -0.02, token: 'Open' }],
            },
            {
              bytes: [32, 103, 97, 116, 101],
              logprob: -1.25,
              token: ' gate',
              top_logprobs: [{ bytes: [32, 103, 97, 116, 101], logprob: -1.25, token: ' gate' }],
            },
          ],
          refusal: null,
        },
        finish_reason: 'length',
      },
    ],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: ['Open gate'],
});

// --- content filtering ----------------------------------------------------------------

/**
 * Asynchronous filter mode: content chunks carry no filter results; annotation chunks
 * (`id: ""`, no delta, with offsets) arrive later, the last one after the finish chunk.
 */
export const chatAsyncFilterAnnotations = fixture<'chat'>({
  name: 'chatAsyncFilterAnnotations',
  kind: 'chat',
  description: 'async filter: annotations without delta, with offsets, one after the finish chunk; nothing blocked',
  frames: [
    { chunk: promptFilterChunk([{ prompt_index: 0, content_filter_results: safePromptFilters() }]) },
    {
      chunk: chat(GPT4O, [
        { delta: { content: '', role: 'assistant' }, finish_reason: null, index: 0, logprobs: null },
      ]),
    },
    { chunk: chat(GPT4O, [{ delta: { content: 'The' }, finish_reason: null, index: 0, logprobs: null }]) },
    { chunk: chat(GPT4O, [{ delta: { content: ' flood' }, finish_reason: null, index: 0, logprobs: null }]) },
    {
      chunk: annotation(
        0,
        {
          hate: { filtered: false, severity: 'safe' },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: false, severity: 'safe' },
          violence: { filtered: false, severity: 'low' },
        },
        [9, 0, 9],
      ),
    },
    { chunk: chat(GPT4O, [{ delta: { content: ' receded.' }, finish_reason: null, index: 0, logprobs: null }]) },
    { chunk: chat(GPT4O, [{ delta: {}, finish_reason: 'stop', index: 0, logprobs: null }]) },
    {
      chunk: annotation(
        0,
        {
          hate: { filtered: false, severity: 'safe' },
          protected_material_code: { detected: false, filtered: false },
          protected_material_text: { detected: false, filtered: false },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: false, severity: 'safe' },
          violence: { filtered: false, severity: 'safe' },
        },
        [18, 9, 18],
      ),
    },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'The flood receded.' },
        logprobs: null,
        finish_reason: 'stop',
        content_filter_results: {
          hate: { filtered: false, severity: 'safe' },
          protected_material_code: { detected: false, filtered: false },
          protected_material_text: { detected: false, filtered: false },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: false, severity: 'safe' },
          violence: { filtered: false, severity: 'low' },
        },
      },
    ],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: ['The flood receded.'],
});

/**
 * Asynchronous filter mode, blocked late: the finish chunk says `stop`, then an annotation
 * with `finish_reason: content_filter` arrives; the text already shown must be retracted.
 */
export const chatAsyncFilterBlocked = fixture<'chat'>({
  name: 'chatAsyncFilterBlocked',
  kind: 'chat',
  description: 'async filter: a blocking annotation (finish_reason content_filter) after the finish chunk',
  frames: [
    { chunk: promptFilterChunk([{ prompt_index: 0, content_filter_results: safePromptFilters() }]) },
    {
      chunk: chat(GPT4O, [
        { delta: { content: '', role: 'assistant' }, finish_reason: null, index: 0, logprobs: null },
      ]),
    },
    { chunk: chat(GPT4O, [{ delta: { content: 'He swung' }, finish_reason: null, index: 0, logprobs: null }]) },
    { chunk: chat(GPT4O, [{ delta: { content: ' the axe' }, finish_reason: null, index: 0, logprobs: null }]) },
    { chunk: chat(GPT4O, [{ delta: {}, finish_reason: 'stop', index: 0, logprobs: null }]) },
    {
      chunk: annotation(
        0,
        {
          hate: { filtered: false, severity: 'safe' },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: false, severity: 'safe' },
          violence: { filtered: true, severity: 'medium' },
        },
        [16, 0, 16],
        'content_filter',
      ),
    },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'He swung the axe' },
        logprobs: null,
        finish_reason: 'content_filter',
        content_filter_results: {
          hate: { filtered: false, severity: 'safe' },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: false, severity: 'safe' },
          violence: { filtered: true, severity: 'medium' },
        },
      },
    ],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'filtered', where: 'completion', categories: ['violence'], choices: [0] },
  expectedText: ['He swung the axe'],
});

/** Synchronous filter blocks the completion: the finish chunk has `finish_reason: content_filter`. */
export const chatCompletionFiltered = fixture<'chat'>({
  name: 'chatCompletionFiltered',
  kind: 'chat',
  description: 'completion blocked by the default filter: finish_reason content_filter with the category that fired',
  frames: [
    { chunk: promptFilterChunk([{ prompt_index: 0, content_filter_results: safePromptFilters() }]) },
    { chunk: chat(GPT4O, [roleChoice(0)]) },
    { chunk: chat(GPT4O, [content(0, 'The scene')]) },
    {
      chunk: chat(GPT4O, [
        finishChoice(0, 'content_filter', {
          hate: { filtered: false, severity: 'safe' },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: true, severity: 'medium' },
          violence: { filtered: false, severity: 'safe' },
        }),
      ]),
    },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'The scene', refusal: null },
        logprobs: null,
        finish_reason: 'content_filter',
        content_filter_results: {
          hate: { filtered: false, severity: 'safe' },
          self_harm: { filtered: false, severity: 'safe' },
          sexual: { filtered: true, severity: 'medium' },
          violence: { filtered: false, severity: 'safe' },
        },
      },
    ],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'filtered', where: 'completion', categories: ['sexual'], choices: [0] },
  expectedText: ['The scene'],
});

/** Older preview versions (2023-06-01-preview): `prompt_annotations`, no system_fingerprint. */
export const chatPromptAnnotations = fixture<'chat'>({
  name: 'chatPromptAnnotations',
  kind: 'chat',
  description: 'old preview spelling prompt_annotations, normalized to prompt_filter_results',
  frames: [
    {
      chunk: {
        choices: [],
        created: 0,
        id: '',
        model: '',
        object: '',
        prompt_annotations: [{ content_filter_results: safePromptFilters(), prompt_index: 0 }],
      },
    },
    {
      chunk: chat({ id: 'chatcmpl-7R4nOldPreview', created: 1689000000, model: 'gpt-35-turbo' }, [
        { delta: { role: 'assistant' }, finish_reason: null, index: 0 },
      ]),
    },
    {
      chunk: chat({ id: 'chatcmpl-7R4nOldPreview', created: 1689000000, model: 'gpt-35-turbo' }, [
        { content_filter_results: safeChoiceFilters(), delta: { content: 'Hello' }, finish_reason: null, index: 0 },
      ]),
    },
    {
      chunk: chat({ id: 'chatcmpl-7R4nOldPreview', created: 1689000000, model: 'gpt-35-turbo' }, [
        { content_filter_results: safeChoiceFilters(), delta: { content: ' there.' }, finish_reason: null, index: 0 },
      ]),
    },
    {
      chunk: chat({ id: 'chatcmpl-7R4nOldPreview', created: 1689000000, model: 'gpt-35-turbo' }, [
        { delta: {}, finish_reason: 'stop', index: 0 },
      ]),
    },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-7R4nOldPreview',
    object: 'chat.completion',
    created: 1689000000,
    model: 'gpt-35-turbo',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello there.' },
        logprobs: null,
        finish_reason: 'stop',
        content_filter_results: safeChoiceFilters(),
      },
    ],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: ['Hello there.'],
});

const FILTER_FAILED = { error: { code: 'content_filter_error', message: 'The contents are not filtered' } };

/**
 * The filter service failed: singular `content_filter_result: {error}` on the prompt and the
 * choice. The text is unmoderated but the stream is fine (completed).
 */
export const chatFilterServiceError = fixture<'chat'>({
  name: 'chatFilterServiceError',
  kind: 'chat',
  description: 'content_filter_result with error (filter service failed): not fatal, kept in the response',
  frames: [
    {
      chunk: {
        choices: [],
        created: 0,
        id: '',
        model: '',
        object: '',
        prompt_filter_results: [{ content_filter_result: structuredClone(FILTER_FAILED), prompt_index: 0 }],
      },
    },
    {
      chunk: chat(GPT4O, [
        { delta: { content: '', role: 'assistant' }, finish_reason: null, index: 0, logprobs: null },
      ]),
    },
    {
      chunk: chat(GPT4O, [
        {
          content_filter_result: structuredClone(FILTER_FAILED),
          delta: { content: 'Unmoderated text.' },
          finish_reason: null,
          index: 0,
          logprobs: null,
        },
      ]),
    },
    { chunk: chat(GPT4O, [{ delta: {}, finish_reason: 'stop', index: 0, logprobs: null }]) },
    { done: true },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Unmoderated text.' },
        logprobs: null,
        finish_reason: 'stop',
        content_filter_result: { error: { code: 'content_filter_error', message: 'The contents are not filtered' } },
      },
    ],
    prompt_filter_results: [
      {
        prompt_index: 0,
        content_filter_result: { error: { code: 'content_filter_error', message: 'The contents are not filtered' } },
      },
    ],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'completed' },
  expectedText: ['Unmoderated text.'],
});

// --- faults ---------------------------------------------------------------------------

const SERVER_ERROR_BODY: ApiErrorBody = {
  error: {
    code: null,
    message:
      'The server had an error processing your request. Sorry about that! You can retry your request, or contact us through an Azure support request at: https://go.microsoft.com/fwlink/?linkid=2213926 if the error persists.',
    param: null,
    type: 'server_error',
  },
};

/** A `data: {"error": ...}` frame after some content; no `[DONE]` follows. */
export const chatMidStreamError = fixture<'chat'>({
  name: 'chatMidStreamError',
  kind: 'chat',
  description: 'mid-stream data: {"error": ...} frame after two content chunks; partial text kept',
  frames: [
    { chunk: promptFilterChunk([{ prompt_index: 0, content_filter_results: safePromptFilters() }]) },
    { chunk: chat(GPT4O, [roleChoice(0)]) },
    { chunk: chat(GPT4O, [content(0, 'Half of')]) },
    { chunk: chat(GPT4O, [content(0, ' an answer')]) },
    { error: SERVER_ERROR_BODY },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Half of an answer', refusal: null },
        logprobs: null,
        finish_reason: null,
        content_filter_results: safeChoiceFilters(),
      },
    ],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'failed', code: 'SLUICE_STREAM_ERROR' },
  expectedText: ['Half of an answer'],
});

/** An `event: error` frame (named event) after one content chunk. */
export const chatErrorEvent = fixture<'chat'>({
  name: 'chatErrorEvent',
  kind: 'chat',
  description: 'mid-stream event: error frame after one content chunk',
  frames: [
    { chunk: chat(GPT4O, [roleChoice(0)]) },
    { chunk: chat(GPT4O, [content(0, 'Once')]) },
    {
      error: { error: { code: 'InternalServerError', message: 'Backend returned unexpected response. Please retry.' } },
      event: 'error',
    },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Once', refusal: null },
        logprobs: null,
        finish_reason: null,
        content_filter_results: safeChoiceFilters(),
      },
    ],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'failed', code: 'SLUICE_STREAM_ERROR' },
  expectedText: ['Once'],
});

/** The connection closed mid-answer: no finish_reason, no `[DONE]`. */
export const chatTruncated = fixture<'chat'>({
  name: 'chatTruncated',
  kind: 'chat',
  description: 'cut mid-answer: no finish_reason and no [DONE]; partial text kept',
  frames: [
    { chunk: promptFilterChunk([{ prompt_index: 0, content_filter_results: safePromptFilters() }]) },
    { chunk: chat(GPT4O, [roleChoice(0)]) },
    { chunk: chat(GPT4O, [content(0, 'The gate opened and')]) },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'The gate opened and', refusal: null },
        logprobs: null,
        finish_reason: null,
        content_filter_results: safeChoiceFilters(),
      },
    ],
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'truncated', reason: 'no-done', unfinished: [0] },
  expectedText: ['The gate opened and'],
});

/** Every choice finished, but the stream was cut before `[DONE]` (a proxy closed it). */
export const chatMissingDone = fixture<'chat'>({
  name: 'chatMissingDone',
  kind: 'chat',
  description: 'finish chunk arrived but [DONE] never did: truncated (no-done) with no unfinished choice',
  frames: [
    { chunk: chat(GPT4O, [roleChoice(0)]) },
    { chunk: chat(GPT4O, [content(0, 'Complete text.')]) },
    { chunk: chat(GPT4O, [finishChoice(0, 'stop')]) },
  ],
  expected: {
    id: 'chatcmpl-AXq3mKb8Yb1xVtN0cR7wLpE2sHfJ9',
    object: 'chat.completion',
    created: 1732550400,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_04751d0b65',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Complete text.', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
        content_filter_results: safeChoiceFilters(),
      },
    ],
  } satisfies ChatCompletion,
  expectedEnd: { state: 'truncated', reason: 'no-done', unfinished: [] },
  expectedText: ['Complete text.'],
});

// --- legacy completions ---------------------------------------------------------------

const INSTRUCT = { id: 'cmpl-AXq4LegacyInstruct0', created: 1732550500, model: 'gpt-35-turbo-instruct' };

function completion(choices: CompletionChunkChoice[], extra: Partial<CompletionChunk> = {}): CompletionChunk {
  return {
    choices,
    created: INSTRUCT.created,
    id: INSTRUCT.id,
    model: INSTRUCT.model,
    object: 'text_completion',
    ...extra,
  };
}

function token(text: string, logprob: number, alt: string, altLogprob: number, offset: number): CompletionChunkChoice {
  return {
    content_filter_results: safeChoiceFilters(),
    finish_reason: null,
    index: 0,
    logprobs: {
      text_offset: [offset],
      token_logprobs: [logprob],
      tokens: [text],
      top_logprobs: [{ [text]: logprob, [alt]: altLogprob }],
    },
    text,
  };
}

/** Legacy Completions with `logprobs: 2`: parallel arrays appended; usage chunk; finish `length`. */
export const completionsLogprobs = fixture<'completions'>({
  name: 'completionsLogprobs',
  kind: 'completions',
  description: 'legacy completions with logprobs (tokens/token_logprobs/top_logprobs/text_offset), usage chunk',
  frames: [
    {
      chunk: {
        choices: [],
        created: 0,
        id: '',
        model: '',
        object: '',
        prompt_filter_results: [{ content_filter_results: safePromptFilters(), prompt_index: 0 }],
      },
    },
    { chunk: completion([token(' Once', -0.31, ' The', -1.62, 19)], { usage: null }) },
    { chunk: completion([token(' upon', -0.01, ' there', -5.2, 24)], { usage: null }) },
    { chunk: completion([token(' a', -0.002, ' the', -6.9, 29)], { usage: null }) },
    {
      chunk: completion([{ content_filter_results: {}, finish_reason: 'length', index: 0, logprobs: null, text: '' }], {
        usage: null,
      }),
    },
    { chunk: completion([], { usage: { completion_tokens: 3, prompt_tokens: 5, total_tokens: 8 } }) },
    { done: true },
  ],
  expected: {
    id: 'cmpl-AXq4LegacyInstruct0',
    object: 'text_completion',
    created: 1732550500,
    model: 'gpt-35-turbo-instruct',
    choices: [
      {
        text: ' Once upon a',
        index: 0,
        logprobs: {
          tokens: [' Once', ' upon', ' a'],
          token_logprobs: [-0.31, -0.01, -0.002],
          top_logprobs: [
            { ' Once': -0.31, ' The': -1.62 },
            { ' upon': -0.01, ' there': -5.2 },
            { ' a': -0.002, ' the': -6.9 },
          ],
          text_offset: [19, 24, 29],
        },
        finish_reason: 'length',
        content_filter_results: safeChoiceFilters(),
      },
    ],
    usage: { completion_tokens: 3, prompt_tokens: 5, total_tokens: 8 },
    prompt_filter_results: [{ prompt_index: 0, content_filter_results: safePromptFilters() }],
  } satisfies Completion,
  expectedEnd: { state: 'completed' },
  expectedText: [' Once upon a'],
});

/** Legacy Completions, prompt array of two (two choices) interleaved, the seed's API shape. */
export const completionsTwoPrompts = fixture<'completions'>({
  name: 'completionsTwoPrompts',
  kind: 'completions',
  description: 'legacy completions with two prompts: choices 0 and 1 interleaved, two prompt filter results',
  frames: [
    {
      chunk: {
        choices: [],
        created: 0,
        id: '',
        model: '',
        object: '',
        prompt_filter_results: [
          { content_filter_results: safePromptFilters(), prompt_index: 1 },
          { content_filter_results: safePromptFilters(), prompt_index: 0 },
        ],
      },
    },
    {
      chunk: completion([
        { content_filter_results: safeChoiceFilters(), finish_reason: null, index: 1, logprobs: null, text: 'Blue' },
      ]),
    },
    {
      chunk: completion([
        { content_filter_results: safeChoiceFilters(), finish_reason: null, index: 0, logprobs: null, text: 'Red' },
      ]),
    },
    {
      chunk: completion([
        { content_filter_results: safeChoiceFilters(), finish_reason: null, index: 0, logprobs: null, text: ' sky' },
      ]),
    },
    { chunk: completion([{ content_filter_results: {}, finish_reason: 'stop', index: 0, logprobs: null, text: '' }]) },
    {
      chunk: completion([
        { content_filter_results: safeChoiceFilters(), finish_reason: null, index: 1, logprobs: null, text: ' sea' },
      ]),
    },
    { chunk: completion([{ content_filter_results: {}, finish_reason: 'stop', index: 1, logprobs: null, text: '' }]) },
    { done: true },
  ],
  expected: {
    id: 'cmpl-AXq4LegacyInstruct0',
    object: 'text_completion',
    created: 1732550500,
    model: 'gpt-35-turbo-instruct',
    choices: [
      { text: 'Red sky', index: 0, logprobs: null, finish_reason: 'stop', content_filter_results: safeChoiceFilters() },
      {
        text: 'Blue sea',
        index: 1,
        logprobs: null,
        finish_reason: 'stop',
        content_filter_results: safeChoiceFilters(),
      },
    ],
    prompt_filter_results: [
      { prompt_index: 0, content_filter_results: safePromptFilters() },
      { prompt_index: 1, content_filter_results: safePromptFilters() },
    ],
  } satisfies Completion,
  expectedEnd: { state: 'completed' },
  expectedText: ['Red sky', 'Blue sea'],
});

// --- indexes ----------------------------------------------------------------------------

/** Every chat fixture, by name. */
export const chatFixtures: AzureStreamFixture<'chat'>[] = [
  chatBasic,
  chatTwoChoices,
  chatParallelToolCalls,
  chatLegacyFunctionCall,
  chatRefusal,
  chatLogprobs,
  chatAsyncFilterAnnotations,
  chatAsyncFilterBlocked,
  chatCompletionFiltered,
  chatPromptAnnotations,
  chatFilterServiceError,
  chatMidStreamError,
  chatErrorEvent,
  chatTruncated,
  chatMissingDone,
];

/** Every legacy Completions fixture. */
export const completionsFixtures: AzureStreamFixture<'completions'>[] = [completionsLogprobs, completionsTwoPrompts];
