/**
 * The public API, pinned: every entry of package.json `exports` and the names it exports.
 * A change to an entry's surface must change the lists below too, on purpose.
 *
 * Values are read by importing each entry (source, no build needed). Types are erased at run
 * time, so they are read from the entry's export statements, following `export *` into the
 * barrels it names; `export type * from` (the wire types) is pinned as one line.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The scripted backend, in sluice/backends and in sluice/testing. */
const SCRIPTED_BACKEND = [
  'createScriptedBackend',
  'textScript',
  'wordPieces',
  'type Script',
  'type ScriptStep',
  'type ScriptedBackend',
  'type ScriptedBackendOptions',
  'type ScriptedCall',
  'type ScriptedOutcome',
  'type TextScriptOptions',
];

const SURFACE: Record<string, string[]> = {
  '.': [
    // embeddings (client and wire types)
    'type EmbeddingsCalls',
    'type EmbeddingsCreateBody',
    'type Embedding',
    'type EmbeddingsInput',
    'type EmbeddingsRequest',
    'type EmbeddingsResponse',
    'type FloatEmbeddingsResponse',
    'AbortError',
    'ApiError',
    'AuthenticationError',
    'BadRequestError',
    'ChunkRelay',
    'type ChunkRelayOptions',
    'ConfigError',
    'ConnectionError',
    'ContentFilterError',
    'DEFAULT_API_VERSION',
    'DEFAULT_CREATE_TIMEOUTS',
    'DEFAULT_MAX_RESPONSE_BYTES',
    'DEFAULT_MAX_RETRIES',
    'DEFAULT_MAX_RETRY_DELAY_MS',
    'DEFAULT_STREAM_TIMEOUTS',
    'ErrorCodes',
    'EventStream',
    'ModelLoadError',
    'NotFoundError',
    'OverloadedError',
    'ProtocolError',
    'RateLimitError',
    'ResponseStream',
    'ResponseTooLargeError',
    'ResponsesStream',
    'ServerError',
    'SluiceError',
    'SseDecodeError',
    'StreamErrorFrame',
    'StreamTruncatedError',
    'TRUNCATION_REASON_TEXT',
    'TimeoutError',
    'createClient',
    'createRemoteBackend',
    'isSluiceError',
    'streamFromBackend',
    'type * from src/protocol/responses/types.ts',
    'type * from src/types.ts',
    'type ApiCalls',
    'type ApiErrorDetails',
    'type Backend',
    'type BackendRequest',
    'type BackendStreamOptions',
    'type CallOptions',
    'type ChunkSource',
    'type ClientOptions',
    'type EndState',
    'type ErrorCode',
    'type EventStreamOptions',
    'type ItemSource',
    'type LengthLimitReason',
    'type ModelInfo',
    'type PartialResult',
    'type ProtocolErrorType',
    'type RateLimitInfo',
    'type RemoteBackendOptions',
    'type ResponseMeta',
    'type ResponsesCalls',
    'type ResponsesResult',
    'type ResponsesSource',
    'type ResponsesStreamOptions',
    'type ResponsesTextDelta',
    'type RetryTuning',
    'type SluiceClient',
    'type SluiceErrorOptions',
    'type SourceContext',
    'type SourceEnd',
    'type SseDecodeErrorType',
    'type StreamMetrics',
    'type StreamOutcome',
    'type StreamResult',
    'type StreamTruncationReason',
    'type TimeoutPhase',
    'type Timeouts',
    'type TruncationReason',
    'type WithMeta',
  ],
  './sse': [
    'DEFAULT_MAX_LINE_LENGTH',
    'SseDecodeError',
    'createDecoder',
    'encodeComment',
    'encodeData',
    'encodeEvent',
    'iterateSse',
    'type DecoderEnd',
    'type DecoderHandlers',
    'type DecoderOptions',
    'type SseDecodeErrorType',
    'type SseDecoder',
    'type SseEvent',
    'type SseOutgoingEvent',
  ],
  './protocol': [
    // embeddings
    'MAX_EMBEDDING_INPUTS',
    'checkEmbeddingsResponse',
    'decodeEmbedding',
    'embeddingInputs',
    'encodeEmbedding',
    'type Embedding',
    'type EmbeddingsInput',
    'type EmbeddingsRequest',
    'type EmbeddingsResponse',
    'type FloatEmbeddingsResponse',
    'ChunkTemplate',
    'CONTENT_FILTER_CATEGORIES',
    'CONTEXT_LENGTH_EXCEEDED',
    'DEFAULT_MAX_CHOICES',
    'DEFAULT_RESPONSES_LIMITS',
    'LIFECYCLE_EVENT_TYPES',
    'DEFAULT_SHAPE_LIMITS',
    'MAX_TOOL_CALLS',
    'REDACTED',
    'TERMINAL_EVENT_TYPES',
    'chatRequestFromResponses',
    'checkChunk',
    'checkResponse',
    'checkResponseObject',
    'checkResponsesEvent',
    'choiceText',
    'chunkBuilder',
    'chunkFrame',
    'DONE_FRAME',
    'failureFrame',
    'contextSizeInMessage',
    'contextSizeOrUndefined',
    'createAccumulator',
    'createResponsesAccumulator',
    'createResponsesFromChat',
    'decideEndState',
    'decideResponsesEndState',
    'dropOldestExchange',
    'endStateOfResponse',
    'endStateOfResponseObject',
    'endsWithDone',
    'errorBody',
    'errorFromResponse',
    'excerpt',
    'filterServiceError',
    'firedCategories',
    'isContextLengthError',
    'isResponseEvent',
    'isTerminalEvent',
    'isUnsafeKey',
    'lengthLimitReason',
    'mergeFilterResults',
    'outputText',
    'parseRateLimit',
    'parseResponsesEvent',
    'parseStreamEvent',
    'promptFilteredState',
    'redactError',
    'redactSecrets',
    'redactSecretsDeep',
    'requestIdOf',
    'responsesProblem',
    'responsesTruncationError',
    'responsesUsage',
    'retryAfterMs',
    'safeFilterResults',
    'shapeLimitsFor',
    'textDeltas',
    'toErrorBody',
    'truncationError',
    'type * from src/protocol/responses/types.ts',
    'type * from src/types.ts',
    'type Accumulator',
    'type ChatFromResponses',
    'type ChoiceSummary',
    'type ChunkBuilder',
    'type ChunkBuilderOptions',
    'type ContentFilterCategory',
    'type EndState',
    'type FinishHow',
    'type HeaderLookup',
    'type LengthLimitRequest',
    'type ResponsesAccumulator',
    'type ResponsesFromChat',
    'type ResponsesFromChatOptions',
    'type ResponsesLimits',
    'type ResponsesSseStep',
    'type ShapeLimits',
    'type SseEventLike',
    'type StreamEvent',
    'type StreamSummary',
    'type TextDelta',
    'type UnterminatedEnd',
  ],
  './backends': [
    ...SCRIPTED_BACKEND,
    'DEFAULT_MODEL_PATH',
    'createLocalBackend',
    'type Backend',
    'type BackendRequest',
    'type LoadedModelInfo',
    'type LocalBackend',
    'type LocalBackendOptions',
    'type LocalBackendStats',
    'type ModelInfo',
  ],
  './server': [
    'DEFAULT_HEARTBEAT_MS',
    'DEFAULT_MAX_BODY_BYTES',
    'DEFAULT_RESPONSE_STORE_LIMITS',
    'createServer',
    'type CorsOptions',
    'type GenerationKind',
    'type GenerationObservation',
    'type GenerationObserver',
    'type GenerationReport',
    'type GenerationStart',
    'type ListenInfo',
    'type LogFormat',
    'type ResponseStoreOptions',
    'type ServerMetrics',
    'type ServerOptions',
    'type SluiceServer',
    'type StaticHandler',
    'type StatsBackend',
  ],
  './testing': [
    ...SCRIPTED_BACKEND,
    'DEFAULT_FAULT_TEXTS',
    'FAULTS',
    'annotation',
    'azureError',
    'embeddingsReply',
    'chatChunks',
    'completionChunks',
    'conformanceChecks',
    'defaultLongRequest',
    'defaultShortRequest',
    'encodeItem',
    'faultScenario',
    'redirect',
    'reply',
    'reset',
    'responseObject',
    'responsesEvents',
    'runBackendConformance',
    'startAzureServer',
    'stream',
    'type AzureServer',
    'type AzureServerOptions',
    'type ChunkOptions',
    'type ConformanceCheck',
    'type ConformanceOptions',
    'type Fault',
    'type FaultOptions',
    'type RecordedRequest',
    'type Reply',
    'type ResponsesEnd',
    'type ResponsesScript',
    'type Scenario',
    'type StreamItem',
  ],
};

/** `./dist/x/index.js` in package.json -> `src/x/index.ts`. */
function sourceOf(built: string): string {
  return join(ROOT, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

/** Names a module exports as written in its export statements: values bare, types as `type X`. */
function declaredExports(file: string): Set<string> {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const names = new Set<string>();
  const target = (from: string) => join(dirname(file), from.replace(/\.js$/, '.ts'));
  for (const [, typeOnly, list] of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s*from\s*'[^']+'/g)) {
    for (const item of (list ?? '').split(',').map((s) => s.trim())) {
      if (item === '') continue;
      const isType = typeOnly !== undefined || item.startsWith('type ');
      const name =
        item
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)
          .pop() ?? item;
      names.add(isType ? `type ${name}` : name);
    }
  }
  for (const [, from] of text.matchAll(/export\s+type\s+\*\s+from\s*'([^']+)'/g)) {
    names.add(`type * from ${relative(ROOT, target(from ?? ''))}`);
  }
  for (const [, from] of text.matchAll(/export\s+\*\s+from\s*'([^']+)'/g)) {
    for (const name of declaredExports(target(from ?? ''))) names.add(name);
  }
  const declaration =
    /export\s+(?:declare\s+)?(?:async\s+)?(function\*?|const|let|class|enum|interface|type)\s+([\w$]+)/g;
  for (const [, kind, name] of text.matchAll(declaration)) {
    names.add(kind === 'interface' || kind === 'type' ? `type ${name}` : (name ?? ''));
  }
  return names;
}

const exportsField = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).exports as Record<
  string,
  string | { types: string; default: string }
>;
const entries = Object.entries(exportsField).filter(
  (e): e is [string, { types: string; default: string }] => typeof e[1] === 'object',
);

test('every entry in package.json has a pinned surface, and nothing else is pinned', () => {
  assert.deepEqual(entries.map(([name]) => name).sort(), Object.keys(SURFACE).sort());
});

for (const [entry, paths] of entries) {
  test(`${entry === '.' ? 'sluice' : `sluice/${entry.slice(2)}`} exports exactly its agreed surface`, async () => {
    const file = sourceOf(paths.default);
    assert.equal(sourceOf(paths.types.replace(/\.d\.ts$/, '.js')), file, 'types and code come from one module');
    const values = Object.keys(await import(file)).sort();
    const declared = [...declaredExports(file)].sort();
    // The statement reader must see every value the module really exports.
    assert.deepEqual(
      declared.filter((n) => !n.startsWith('type ')),
      values,
      'values seen in the source = values at run time',
    );
    assert.deepEqual(declared, [...(SURFACE[entry] ?? [])].sort());
  });
}
