/**
 * Observability wiring for a gateway: one `GatewayEvents` sink for every router and one
 * observer for the server, feeding the per-target Prometheus series (always), JSON attempt
 * and breaker lines (with JSON logs) and OpenTelemetry (with an OTLP endpoint). Without an
 * endpoint the OpenTelemetry SDK is never imported; without JSON logs or telemetry the
 * server gets no per-generation hook at all, so nothing is paid per request.
 *
 * A router reports attempts synchronously while the server pulls its stream, so an
 * attempt belongs to the generation whose `observe()` scope it runs in (AsyncLocalStorage,
 * used only when something per request is wanted).
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigError } from '../errors.js';
import type { GenerationObservation, GenerationObserver } from '../server/observer.js';
import type { AttemptRecord, GatewayEvents } from './events.js';
import { attemptLogLine, breakerLogLine } from './logs.js';
import { TargetMetrics } from './target-metrics.js';
import type { RequestTelemetry, Telemetry, TelemetryOptions } from './telemetry.js';

export interface ObservabilityOptions {
  /** OTLP/HTTP base URL (see `otlpEndpointFrom`); none = no telemetry, nothing loaded. */
  otlpEndpoint?: string | undefined;
  /** With JSON logs: where the attempt and breaker lines go. None = no such lines. */
  jsonLog?: ((line: string) => void) | undefined;
  /** Every target id, so that each shows a breaker state (closed) before its first request. */
  targetIds?: Iterable<string>;
  /** Telemetry details (service name, metric export interval). */
  telemetry?: Omit<TelemetryOptions, 'endpoint'>;
}

export interface Observability {
  /** Give to every router (`createRouterBackend({ events })`). */
  events: GatewayEvents;
  /** Give to the server (`createServer({ observer })`). */
  observer: GenerationObserver;
  /** Exports pending telemetry and stops (call after the server closed). */
  close(): Promise<void>;
}

/**
 * The OTLP endpoint to use: the configuration's `telemetry.otlp_endpoint`, else the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT`; none when `OTEL_SDK_DISABLED=true`. An environment value
 * that is not an http(s) URL is a ConfigError (not echoed: it may hold credentials).
 *
 * @example
 * otlpEndpointFrom(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }) // 'http://127.0.0.1:4318'
 */
export function otlpEndpointFrom(
  configured: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (configured !== undefined) return configured;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (endpoint === undefined || endpoint === '') return undefined;
  if (!/^https?:\/\/[^/\s]+/i.test(endpoint) || !URL.canParse(endpoint)) {
    throw new ConfigError(
      "OTEL_EXPORTER_OTLP_ENDPOINT is not an http(s) URL: set it to the collector's OTLP/HTTP base, e.g. http://127.0.0.1:4318, or unset it",
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    );
  }
  return endpoint;
}

/**
 * Builds the sink and the observer.
 *
 * @example
 * ```ts
 * const obs = await createObservability({ otlpEndpoint: 'http://127.0.0.1:4318', jsonLog: (l) => process.stderr.write(`${l}\n`) });
 * const router = createRouterBackend({ model: 'gpt-4o', targets, events: obs.events });
 * const server = createServer({ deployments: { 'gpt-4o': router }, observer: obs.observer, logFormat: 'json', log });
 * // on the way out
 * await server.close();
 * await obs.close();
 * ```
 */
export async function createObservability(options: ObservabilityOptions = {}): Promise<Observability> {
  const series = new TargetMetrics(options.targetIds);
  const jsonLog = options.jsonLog;
  let telemetry: Telemetry | undefined;
  if (options.otlpEndpoint !== undefined) {
    const { startTelemetry } = await import('./telemetry.js');
    telemetry = startTelemetry({ ...options.telemetry, endpoint: options.otlpEndpoint });
  }
  const perRequest = telemetry !== undefined || jsonLog !== undefined;
  const scope = perRequest ? new AsyncLocalStorage<Current>() : undefined;

  const events: GatewayEvents = {
    attempt(record: AttemptRecord) {
      const endedAt = performance.now();
      series.attempt(record);
      if (!scope) return;
      const current = scope.getStore();
      if (current?.trace) current.trace.attempt(record, endedAt);
      else telemetry?.attempt(record, endedAt);
      jsonLog?.(attemptLogLine(record, current?.requestId, endedAt));
    },
    breaker(targetId, state) {
      series.breaker(targetId, state);
      jsonLog?.(breakerLogLine(targetId, state));
    },
  };

  const observer: GenerationObserver = { metrics: () => series.render() };
  if (scope) {
    observer.observe = (start, run) => {
      const trace = telemetry?.request(start);
      const observation: GenerationObservation = trace
        ? {
            chunk: (chunk) => trace.chunk(chunk),
            response: (response) => trace.response(response),
            end: (report, status) => trace.end(report, status),
          }
        : { end() {} };
      return scope.run({ requestId: start.requestId, trace }, () => run(observation));
    };
  }

  return {
    events,
    observer,
    async close() {
      await telemetry?.shutdown();
    },
  };
}

// --- internal ---

/** The generation an attempt belongs to. */
interface Current {
  requestId: string;
  trace: RequestTelemetry | undefined;
}
