/**
 * OpenTelemetry traces and metrics for the gateway, named by the GenAI semantic
 * conventions, exported over OTLP/HTTP (JSON). One SERVER span per request, one CLIENT
 * child span per upstream attempt (from the routers' attempt records); the request's time
 * to first token, chunk gaps, tokens and the gateway's own overhead as attributes and
 * histograms. This module loads the OpenTelemetry SDK: import it only when an endpoint is
 * configured (observability.ts does), so a gateway without one loads none of it.
 * Prompts and answers are never recorded, only names, numbers and ids.
 * @module
 */
import { type Attributes, type Histogram, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVICE_NAME,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_REQUEST_TOP_P,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
  GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION,
  GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
  GEN_AI_TOKEN_TYPE_VALUE_INPUT,
  GEN_AI_TOKEN_TYPE_VALUE_OUTPUT,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
  METRIC_GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  METRIC_GEN_AI_SERVER_REQUEST_DURATION,
  METRIC_GEN_AI_SERVER_TIME_PER_OUTPUT_TOKEN,
  METRIC_GEN_AI_SERVER_TIME_TO_FIRST_TOKEN,
} from '@opentelemetry/semantic-conventions/incubating';
import { sleep } from '../abort.js';
import type { GenerationKind, GenerationReport, GenerationStart } from '../server/observer.js';
import type { AnyChunk, AnyResponse } from '../types.js';
import type { AttemptRecord } from './events.js';

export interface TelemetryOptions {
  /** OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318` (`/v1/traces` and `/v1/metrics` are added). */
  endpoint: string;
  /** `service.name` of the resource; default `sluice`. */
  serviceName?: string;
  /** How often metrics are exported, ms; default 60000 (and once more at shutdown). */
  metricIntervalMs?: number;
}

/** The telemetry of a running gateway. */
export interface Telemetry {
  /** Starts the span of one generation. */
  request(start: GenerationStart): RequestTelemetry;
  /** An attempt reported outside any generation (a router used on its own): metrics only. */
  attempt(record: AttemptRecord, endedAt: number): void;
  /** Exports what is pending and stops. */
  shutdown(): Promise<void>;
}

/** One generation's span and measures. */
export interface RequestTelemetry {
  chunk(chunk: AnyChunk): void;
  response(response: AnyResponse): void;
  /** One upstream attempt, ended at `endedAt` (`performance.now()` ms): a child span. */
  attempt(record: AttemptRecord, endedAt: number): void;
  end(report: Readonly<GenerationReport>, status: number): void;
}

/** One export may take this long before it is given up, ms (the SDK's default is 30 s). */
const EXPORT_TIMEOUT_MS = 5_000;
/** `shutdown()` waits at most this long for the last exports, ms. */
const SHUTDOWN_LIMIT_MS = 3_000;

/** Explicit histogram buckets, as the GenAI conventions advise (seconds, tokens). */
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const FIRST_TOKEN_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const PER_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];
/** The gateway's own time is sub-millisecond when all is well. */
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

/**
 * Starts exporting to an OTLP/HTTP endpoint.
 *
 * @example
 * ```ts
 * const telemetry = startTelemetry({ endpoint: 'http://127.0.0.1:4318' });
 * const span = telemetry.request(start);   // per generation (observability.ts does this)
 * await telemetry.shutdown();               // flushes on the way out
 * ```
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const base = options.endpoint.replace(/\/+$/, '');
  const interval = options.metricIntervalMs ?? 60_000;
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? 'sluice' });
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${base}/v1/traces`, timeoutMillis: EXPORT_TIMEOUT_MS }),
        exportTimeoutMillis: EXPORT_TIMEOUT_MS,
      }),
    ],
  });
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics`, timeoutMillis: EXPORT_TIMEOUT_MS }),
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(EXPORT_TIMEOUT_MS, interval),
      }),
    ],
  });
  const tracer = tracerProvider.getTracer('sluice.gateway');
  const meter = meterProvider.getMeter('sluice.gateway');
  const histogram = (name: string, unit: string, description: string, buckets: number[]): Histogram =>
    meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: buckets } });
  const m = {
    attemptDuration: histogram(
      METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
      's',
      'Upstream attempt duration.',
      DURATION_BUCKETS,
    ),
    attemptFirstChunk: histogram(
      METRIC_GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
      's',
      'Upstream attempt start to its first content chunk.',
      FIRST_TOKEN_BUCKETS,
    ),
    chunkGap: histogram(
      METRIC_GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
      's',
      'Time between chunks relayed.',
      PER_TOKEN_BUCKETS,
    ),
    tokens: histogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, '{token}', 'Tokens per request.', TOKEN_BUCKETS),
    requestDuration: histogram(
      METRIC_GEN_AI_SERVER_REQUEST_DURATION,
      's',
      'Request arrival to its end.',
      DURATION_BUCKETS,
    ),
    firstToken: histogram(
      METRIC_GEN_AI_SERVER_TIME_TO_FIRST_TOKEN,
      's',
      'Request arrival to the first text chunk sent.',
      FIRST_TOKEN_BUCKETS,
    ),
    perToken: histogram(
      METRIC_GEN_AI_SERVER_TIME_PER_OUTPUT_TOKEN,
      's',
      'After the first token, time per output token.',
      PER_TOKEN_BUCKETS,
    ),
    overhead: histogram(
      'sluice.gateway.overhead',
      's',
      "The gateway's own time before the response headers.",
      OVERHEAD_BUCKETS,
    ),
  };

  const recordAttempt = (record: AttemptRecord, endedAt: number, operation: string): Attributes => {
    const attributes: Attributes = {
      [ATTR_GEN_AI_OPERATION_NAME]: operation,
      [ATTR_GEN_AI_REQUEST_MODEL]: record.model,
      ...targetAttributes(record.targetId),
    };
    if (record.outcome !== 'served') attributes[ATTR_ERROR_TYPE] = record.reason ?? record.outcome;
    m.attemptDuration.record((endedAt - record.startedAt) / 1000, attributes);
    if (record.firstTokenMs !== undefined) m.attemptFirstChunk.record(record.firstTokenMs / 1000, attributes);
    return attributes;
  };

  return {
    request(start) {
      const operation = operationName(start.kind);
      const attributes: Attributes = {
        [ATTR_GEN_AI_OPERATION_NAME]: operation,
        [ATTR_GEN_AI_REQUEST_STREAM]: start.stream,
        'sluice.request_id': start.requestId,
        'sluice.route': start.route,
        'sluice.api': start.kind,
      };
      if (start.model !== undefined) attributes[ATTR_GEN_AI_REQUEST_MODEL] = start.model;
      if (start.params.maxTokens !== undefined) attributes[ATTR_GEN_AI_REQUEST_MAX_TOKENS] = start.params.maxTokens;
      if (start.params.temperature !== undefined)
        attributes[ATTR_GEN_AI_REQUEST_TEMPERATURE] = start.params.temperature;
      if (start.params.topP !== undefined) attributes[ATTR_GEN_AI_REQUEST_TOP_P] = start.params.topP;
      const name = start.model === undefined ? operation : `${operation} ${start.model}`;
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes, startTime: epochMs(start.startedAt) });
      // Parenting is explicit: no context manager (nor async_hooks) is needed.
      const parent = trace.setSpan(ROOT_CONTEXT, span);
      // Metric attributes: low cardinality (operation and the name asked for).
      const measured: Attributes = { [ATTR_GEN_AI_OPERATION_NAME]: operation };
      if (start.model !== undefined) measured[ATTR_GEN_AI_REQUEST_MODEL] = start.model;
      let lastChunkAt: number | undefined;
      let maxGapMs = 0;
      let responseModel: string | undefined;
      let responseId: string | undefined;
      const finishReasons = new Set<string>();
      const seen = (value: AnyChunk | AnyResponse) => {
        if (responseModel === undefined && typeof value.model === 'string' && value.model !== '') {
          responseModel = value.model;
        }
        if (responseId === undefined && typeof value.id === 'string' && value.id !== '') responseId = value.id;
        for (const choice of value.choices) {
          const reason = (choice as { finish_reason?: unknown }).finish_reason;
          if (typeof reason === 'string') finishReasons.add(reason);
        }
      };
      let ended = false;
      return {
        chunk(chunk) {
          const now = performance.now();
          if (lastChunkAt !== undefined) {
            const gap = now - lastChunkAt;
            if (gap > maxGapMs) maxGapMs = gap;
            m.chunkGap.record(gap / 1000, measured);
          }
          lastChunkAt = now;
          seen(chunk);
        },
        response(response) {
          seen(response);
        },
        attempt(record, endedAt) {
          const attemptAttributes = recordAttempt(record, endedAt, operation);
          attemptAttributes['sluice.target'] = record.targetId;
          attemptAttributes['sluice.attempt'] = record.attempt;
          attemptAttributes['sluice.attempt.outcome'] = record.outcome;
          if (record.reason !== undefined) attemptAttributes['sluice.attempt.reason'] = record.reason;
          if (record.status !== undefined) attemptAttributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = record.status;
          if (record.cooldownMs !== undefined) attemptAttributes['sluice.cooldown_ms'] = record.cooldownMs;
          if (record.headersMs !== undefined) attemptAttributes['sluice.upstream.headers_ms'] = record.headersMs;
          if (record.firstTokenMs !== undefined) {
            attemptAttributes[ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = record.firstTokenMs / 1000;
          }
          const child = tracer.startSpan(
            `${operation} ${record.model}`,
            { kind: SpanKind.CLIENT, attributes: attemptAttributes, startTime: epochMs(record.startedAt) },
            parent,
          );
          if (record.outcome !== 'served')
            child.setStatus({ code: SpanStatusCode.ERROR, message: record.reason ?? record.outcome });
          child.end(epochMs(endedAt));
        },
        end(report, status) {
          if (ended) return;
          ended = true;
          const now = performance.now();
          const final: Attributes = {
            [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
            'sluice.outcome': report.outcome ?? 'unknown',
          };
          if (report.target !== undefined) {
            final['sluice.target'] = report.target;
            Object.assign(final, targetAttributes(report.target));
          }
          if (report.attempts !== undefined) final['sluice.attempts'] = report.attempts;
          if (report.gatewayMs !== undefined) final['sluice.gateway.overhead_ms'] = report.gatewayMs;
          if (report.upstreamMs !== undefined) final['sluice.upstream.headers_ms'] = report.upstreamMs;
          if (report.chunks !== undefined) final['sluice.chunks'] = report.chunks;
          if (report.chunks !== undefined && report.chunks > 1) final['sluice.chunk_gap.max_ms'] = maxGapMs;
          if (report.firstTokenMs !== undefined) {
            final[ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = report.firstTokenMs / 1000;
          }
          if (responseModel !== undefined) final[ATTR_GEN_AI_RESPONSE_MODEL] = responseModel;
          if (responseId !== undefined) final[ATTR_GEN_AI_RESPONSE_ID] = responseId;
          if (finishReasons.size > 0) final[ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [...finishReasons];
          const input = report.usage?.prompt_tokens;
          const output = report.usage?.completion_tokens;
          if (typeof input === 'number') final[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = input;
          if (typeof output === 'number') final[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = output;
          if (report.outcome === 'error' || report.outcome === 'client-closed') {
            final[ATTR_ERROR_TYPE] = report.error ?? report.outcome;
            span.setStatus({ code: SpanStatusCode.ERROR, message: report.error ?? report.outcome });
          }
          span.setAttributes(final);
          span.end(epochMs(now));

          const outcome: Attributes = { ...measured };
          if (final[ATTR_ERROR_TYPE] !== undefined) outcome[ATTR_ERROR_TYPE] = final[ATTR_ERROR_TYPE];
          m.requestDuration.record((now - start.startedAt) / 1000, outcome);
          if (report.gatewayMs !== undefined) m.overhead.record(report.gatewayMs / 1000, measured);
          if (report.firstTokenMs !== undefined) {
            m.firstToken.record(report.firstTokenMs / 1000, measured);
            if (typeof output === 'number' && output > 1) {
              m.perToken.record((now - start.startedAt - report.firstTokenMs) / 1000 / (output - 1), measured);
            }
          }
          if (typeof input === 'number') {
            m.tokens.record(input, { ...measured, [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_VALUE_INPUT });
          }
          if (typeof output === 'number') {
            m.tokens.record(output, { ...measured, [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_VALUE_OUTPUT });
          }
        },
      };
    },
    attempt(record, endedAt) {
      recordAttempt(record, endedAt, GEN_AI_OPERATION_NAME_VALUE_CHAT);
    },
    async shutdown() {
      // A collector that does not answer must not hold the process: wait a bounded time.
      const stop = new AbortController();
      const flushed = Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
      await Promise.race([flushed, sleep(SHUTDOWN_LIMIT_MS, stop.signal).catch(() => {})]);
      stop.abort();
    },
  };
}

// --- internal ---

/** The GenAI conventions' operation: the Responses API is `chat` too (its API type tells them apart). */
function operationName(kind: GenerationKind): string {
  if (kind === 'completions') return GEN_AI_OPERATION_NAME_VALUE_TEXT_COMPLETION;
  if (kind === 'embeddings') return GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS;
  return GEN_AI_OPERATION_NAME_VALUE_CHAT;
}

/** `performance.now()` ms as epoch ms, which OpenTelemetry takes as a start or end time. */
function epochMs(at: number): number {
  return performance.timeOrigin + at;
}

/**
 * Provider, server address and port from a target id (`<model>/<index>:<kind>:<host or
 * file>`): ids are built secret-free, so they may be recorded.
 */
function targetAttributes(targetId: string): Attributes {
  const parts = targetId.slice(targetId.lastIndexOf('/') + 1).split(':');
  const kind = parts[1];
  if (kind === 'local') return { [ATTR_GEN_AI_PROVIDER_NAME]: 'sluice.local' };
  const provider =
    kind === 'azure'
      ? GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI
      : kind === 'openai'
        ? GEN_AI_PROVIDER_NAME_VALUE_OPENAI
        : undefined;
  if (provider === undefined) return {};
  const where = parts.slice(2).join(':');
  const port = /:(\d{1,5})$/.exec(where);
  return port
    ? {
        [ATTR_GEN_AI_PROVIDER_NAME]: provider,
        [ATTR_SERVER_ADDRESS]: where.slice(0, port.index),
        [ATTR_SERVER_PORT]: Number(port[1]),
      }
    : { [ATTR_GEN_AI_PROVIDER_NAME]: provider, [ATTR_SERVER_ADDRESS]: where };
}
