/**
 * The gateway configuration's shape: zod schemas for each section of the YAML file, and the
 * normalized, typed `GatewayConfig` they produce (camelCase, defaults filled in). Every
 * object is strict, so an unknown key is an error (config.ts adds "did you mean"). No message
 * here contains a value: a misplaced value may be a key.
 * @module
 */
import { z } from 'zod';
import type { Timeouts } from '../client/options.js';
import { isUnsafeKey } from '../protocol/safe-keys.js';
import type { StreamsConfig } from '../streams/setup.js';
import { closest, flagSlack } from '../util/near-miss.js';
import { type ClientKeyConfig, isKeyHash } from './keys.js';
import type { Prices } from './ledger.js';

/** Routing data every target may carry. */
export interface TargetRouting {
  /** 1 is tried first (as in Azure API Management's pools); default 1. */
  priority: number;
  /** Share of requests among targets of the same priority; default 1. */
  weight: number;
  /** Requests per minute this target may be sent. */
  rpm?: number;
  /** Tokens per minute this target may be sent. */
  tpm?: number;
  /** The target's own limits, in ms (`headers_ms`, `first_token_ms`, `idle_ms`, `total_ms`). */
  timeouts: Timeouts;
}

/** An Azure OpenAI deployment (`azure: <endpoint>`). */
export interface AzureTargetConfig extends TargetRouting {
  kind: 'azure';
  /** The resource endpoint, without a trailing slash (or `/openai/v1`). */
  endpoint: string;
  /** `v1` when the endpoint was given as `https://x.openai.azure.com/openai/v1`. */
  route: 'deployments' | 'v1';
  deployment: string;
  apiKey?: string;
  apiVersion?: string;
}

/** An OpenAI-compatible server (`openai: <base URL>`). */
export interface OpenAITargetConfig extends TargetRouting {
  kind: 'openai';
  baseURL: string;
  model: string;
  apiKey?: string;
}

/** The embedded model (`local: true`) or another GGUF file (`local: <path>`). */
export interface LocalTargetConfig extends TargetRouting {
  kind: 'local';
  /** Absolute path once loaded by config.ts; undefined = the embedded model. */
  modelPath?: string;
}

export type TargetConfig = AzureTargetConfig | OpenAITargetConfig | LocalTargetConfig;
export type TargetKind = TargetConfig['kind'];

/** One name clients ask for. */
export interface ModelConfig {
  /** After the first content chunk, continue a failed stream on another target. */
  continueOnFailure: boolean;
  targets: TargetConfig[];
}

export interface BreakerConfig {
  /** Failures within `windowMs` that open the breaker. */
  failures?: number;
  windowMs?: number;
  /** How long an open breaker waits before letting one probe through. */
  probeAfterMs?: number;
}

/** Gateway-wide routing settings (all optional: the router has defaults). */
export interface RoutingConfig {
  /** Longest cooldown a 429's retry-after may impose (Azure's can be a day). */
  maxCooldownMs?: number;
  /** HTTP statuses that move on to the next target (connection errors and time-outs always do). */
  failoverOn?: number[];
  breaker?: BreakerConfig;
}

export interface ServerConfig {
  port?: number;
  host?: string;
  /** Clients must send this key (api-key or Bearer). */
  apiKey?: string;
  /** `json`: one JSON line per request and per upstream attempt (`--log-format` wins). */
  logFormat?: 'text' | 'json';
}

export interface TelemetryConfig {
  /** OTLP/HTTP endpoint for traces and metrics; none = no telemetry. */
  otlpEndpoint?: string;
}

/** A validated gateway configuration. */
export interface GatewayConfig {
  models: Record<string, ModelConfig>;
  /** Client keys (`keys:`), each with its limits; empty = the single `server.api_key` (or none). */
  keys: ClientKeyConfig[];
  /** Per model, per 1M input and output tokens (`prices:`), for the usage ledger's cost. */
  prices: Prices;
  routing: RoutingConfig;
  server: ServerConfig;
  telemetry: TelemetryConfig;
  /** `redis://…`: state shared by instances (stream logs, stops). */
  redis?: string;
  streams: StreamsConfig;
}

/** The keys that name a target's kind: exactly one per target. */
export const TARGET_KINDS = ['azure', 'openai', 'local'] as const satisfies readonly TargetKind[];

/** What a name under `models:` must be. */
export const MODEL_SHAPE_MESSAGE =
  'must be a list of targets, or a mapping with `targets:` (and optionally `continue_on_failure:`)';

// --- fields ---

/**
 * A whole number in [min, max]. A string of digits is accepted too: `${RPM}` interpolates
 * to text.
 */
function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    (v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v.trim()) : v),
    z.number().int().min(min).max(max),
  );
}

const positiveNumber = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : v),
  z.number().positive(),
);

const text = z.string().trim().min(1);

const httpUrl = text.refine(
  (v) => {
    try {
      const url = new URL(v);
      const http = url.protocol === 'http:' || url.protocol === 'https:';
      return http && !url.username && !url.password && !url.search && !url.hash;
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL such as https://x.openai.azure.com (no credentials, query or fragment)' },
);

const timeouts = z.strictObject({
  headers_ms: integer(0).optional(),
  first_token_ms: integer(0).optional(),
  idle_ms: integer(0).optional(),
  total_ms: integer(0).optional(),
});

const routingFields = {
  priority: integer(1, 1000).optional(),
  weight: positiveNumber.optional(),
  rpm: integer(1).optional(),
  tpm: integer(1).optional(),
  timeouts: timeouts.optional(),
};

function routingOf(raw: {
  priority?: number | undefined;
  weight?: number | undefined;
  rpm?: number | undefined;
  tpm?: number | undefined;
  timeouts?: z.output<typeof timeouts> | undefined;
}): TargetRouting {
  const t = raw.timeouts ?? {};
  return {
    priority: raw.priority ?? 1,
    weight: raw.weight ?? 1,
    ...(raw.rpm !== undefined ? { rpm: raw.rpm } : {}),
    ...(raw.tpm !== undefined ? { tpm: raw.tpm } : {}),
    timeouts: {
      ...(t.headers_ms !== undefined ? { headersMs: t.headers_ms } : {}),
      ...(t.first_token_ms !== undefined ? { firstTokenMs: t.first_token_ms } : {}),
      ...(t.idle_ms !== undefined ? { idleMs: t.idle_ms } : {}),
      ...(t.total_ms !== undefined ? { totalMs: t.total_ms } : {}),
    },
  };
}

const apiVersion = text.regex(/^[\w.-]+$/, { message: 'must look like 2024-10-21 or 2025-04-01-preview' });

/** A key is required except for a server on this machine (a local llama.cpp, another Sluice). */
function needsKey(url: string, apiKey: string | undefined, ctx: z.RefinementCtx): void {
  if (apiKey !== undefined) return;
  const host = new URL(url).hostname;
  if (host === 'localhost' || host === '[::1]' || /^127\./.test(host)) return;
  ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'is required' });
}

// --- targets, one strict schema per kind ---

const azureTarget = z
  .strictObject({
    azure: httpUrl,
    deployment: text,
    api_key: text.optional(),
    api_version: z.preprocess((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v), apiVersion).optional(),
    ...routingFields,
  })
  .superRefine((t, ctx) => needsKey(t.azure, t.api_key, ctx))
  .transform((t): AzureTargetConfig => {
    // A pasted v1 base (https://x.openai.azure.com/openai/v1) selects the v1 route, as in the CLI.
    const v1 = /\/openai\/v1\/?$/.test(t.azure);
    return {
      kind: 'azure',
      endpoint: t.azure.replace(/\/openai\/v1\/?$/, '').replace(/\/+$/, ''),
      route: v1 ? 'v1' : 'deployments',
      deployment: t.deployment,
      ...(t.api_key !== undefined ? { apiKey: t.api_key } : {}),
      ...(t.api_version !== undefined ? { apiVersion: t.api_version } : {}),
      ...routingOf(t),
    };
  });

const openaiTarget = z
  .strictObject({ openai: httpUrl, model: text, api_key: text.optional(), ...routingFields })
  .superRefine((t, ctx) => needsKey(t.openai, t.api_key, ctx))
  .transform(
    (t): OpenAITargetConfig => ({
      kind: 'openai',
      baseURL: t.openai.replace(/\/+$/, ''),
      model: t.model,
      ...(t.api_key !== undefined ? { apiKey: t.api_key } : {}),
      ...routingOf(t),
    }),
  );

const localTarget = z
  .strictObject({
    local: z.union([z.literal(true), text], { error: 'must be true (the embedded model) or the path of a .gguf file' }),
    ...routingFields,
  })
  .transform(
    (t): LocalTargetConfig => ({
      kind: 'local',
      ...(t.local === true ? {} : { modelPath: t.local }),
      ...routingOf(t),
    }),
  );

/** Each kind's schema; `targetSchema` picks one by the kind key present. */
export const TARGET_SCHEMAS = { azure: azureTarget, openai: openaiTarget, local: localTarget } as const;

/** The keys a target of each kind accepts, for "did you mean". */
export const TARGET_KEYS: Record<TargetKind, string[]> = {
  azure: Object.keys(azureTarget.in.shape),
  openai: Object.keys(openaiTarget.in.shape),
  local: Object.keys(localTarget.in.shape),
};

/** The kind keys present in a raw target (a target must have exactly one). */
export function kindsOf(raw: unknown): TargetKind[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  return TARGET_KINDS.filter((k) => Object.hasOwn(raw, k));
}

/** "; did you mean `azure:`?" when a key of a kind-less target is a near miss of a kind. */
function kindHint(raw: object): string {
  for (const key of Object.keys(raw)) {
    const near = closest(key, TARGET_KINDS, flagSlack(key));
    if (near !== undefined) return `; did you mean "${near}" for "${key}"?`;
  }
  return '';
}

const targetSchema = z.unknown().transform((raw, ctx): TargetConfig => {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    ctx.addIssue({
      code: 'custom',
      message: 'a target must be a mapping such as `azure: https://…` with its settings',
    });
    return z.NEVER;
  }
  const kinds = kindsOf(raw);
  if (kinds.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        kinds.length === 0
          ? `a target needs one of \`azure:\` (an Azure endpoint), \`openai:\` (a base URL) or \`local:\` (true or a .gguf path)${kindHint(raw)}`
          : `a target has one kind, but this one has ${kinds.map((k) => `\`${k}:\``).join(' and ')}: make each its own list item`,
      params: { targetKinds: kinds },
    });
    return z.NEVER;
  }
  const result = TARGET_SCHEMAS[kinds[0] as TargetKind].safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) ctx.addIssue({ ...issue });
    return z.NEVER;
  }
  return result.data;
});

const targetList = z.array(targetSchema).min(1, { message: 'needs at least one target' });

/**
 * A name's targets: a bare list, or `{ continue_on_failure, targets }`. The bare list is
 * read as the mapping (config.ts maps issue paths back), so its targets get their own
 * errors rather than one "no branch matched".
 */
const modelSchema = z.preprocess(
  (v) => (Array.isArray(v) ? { targets: v } : v),
  z
    .strictObject({ continue_on_failure: z.boolean().optional(), targets: targetList }, { error: MODEL_SHAPE_MESSAGE })
    .transform((m): ModelConfig => ({ continueOnFailure: m.continue_on_failure ?? false, targets: m.targets })),
);

const modelName = z
  .string()
  .min(1)
  .max(256)
  .refine((name) => !isUnsafeKey(name) && !/[\u0000-\u001f\u007f]/.test(name), {
    message: 'is not a usable model name: pick letters, digits, "-", "_" or "."',
  });

const breaker = z.strictObject({
  failures: integer(1).optional(),
  window_ms: integer(1).optional(),
  probe_after_ms: integer(1).optional(),
});

const routing = z.strictObject({
  max_cooldown_ms: integer(0).optional(),
  failover_on: z.array(integer(400, 599)).optional(),
  breaker: breaker.optional(),
});

const server = z.strictObject({
  port: integer(0, 65535).optional(),
  host: text.optional(),
  api_key: text.optional(),
  log_format: z.enum(['text', 'json']).optional(),
});

const telemetry = z.strictObject({ otlp_endpoint: httpUrl.optional() });

const redisUrl = text.refine(isRedisUrl, {
  message: 'must be a Redis URL such as redis://127.0.0.1:6379 (or rediss://user:password@host:port)',
});

const streams = z.strictObject({
  resumable: z.boolean().optional(),
  keep_going_ms: integer(0).optional(),
  retention_ms: integer(1000).optional(),
});

const budget = z.strictObject({ tokens: integer(1), per: z.enum(['day', 'month']) });

const clientKey = z
  .strictObject({
    name: text.max(64).refine((v) => /^[A-Za-z0-9._-]+$/.test(v), {
      message: 'must be letters, digits, ".", "_" or "-" (it is shown in logs and metrics)',
    }),
    key_hash: text.refine(isKeyHash, {
      message: 'must be a hash printed by `sluice keys hash` (sha256: and 64 hex digits), never the key itself',
    }),
    models: z.union([z.literal('*'), z.array(modelName).min(1)]).optional(),
    admin: z.boolean().optional(),
    rpm: integer(1).optional(),
    tpm: integer(1).optional(),
    concurrent: integer(1).optional(),
    budget: budget.optional(),
    default_max_tokens: integer(1).optional(),
  })
  .transform(
    (k): ClientKeyConfig => ({
      name: k.name,
      keyHash: k.key_hash,
      ...(k.models !== undefined && k.models !== '*' ? { models: k.models } : {}),
      admin: k.admin ?? false,
      limits: {
        ...(k.rpm !== undefined ? { rpm: k.rpm } : {}),
        ...(k.tpm !== undefined ? { tpm: k.tpm } : {}),
        ...(k.concurrent !== undefined ? { concurrent: k.concurrent } : {}),
        ...(k.budget !== undefined ? { budget: k.budget } : {}),
      },
      ...(k.default_max_tokens !== undefined ? { defaultMaxTokens: k.default_max_tokens } : {}),
    }),
  );

const keyList = z.array(clientKey).superRefine((keys, ctx) => {
  const seen = new Set<string>();
  for (const [i, key] of keys.entries()) {
    if (seen.has(key.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'is used by another key' });
    seen.add(key.name);
  }
});

const price = z.strictObject({ input: z.number().min(0), output: z.number().min(0) });

/** The whole file. Parses the YAML's plain value (after `${NAME}` interpolation). */
export const gatewayConfigSchema = z
  .strictObject({
    models: z
      .record(modelName, modelSchema)
      .refine((m) => Object.keys(m).length > 0, { message: 'needs at least one model name' }),
    routing: routing.optional(),
    server: server.optional(),
    telemetry: telemetry.optional(),
    redis: redisUrl.optional(),
    streams: streams.optional(),
    keys: keyList.optional(),
    prices: z.record(modelName, price).optional(),
  })
  .superRefine((c, ctx) => {
    // A key's models and the priced models must be names this file serves.
    const served = Object.keys(c.models);
    const check = (name: string, path: PropertyKey[]) => {
      if (Object.hasOwn(c.models, name)) return;
      const near = closest(name, served, flagSlack(name));
      ctx.addIssue({
        code: 'custom',
        path,
        message: `is not a model name of this file (${near ? `did you mean ${near}? ` : ''}served: ${served.join(', ')})`,
      });
    };
    for (const [i, key] of (c.keys ?? []).entries()) {
      for (const [j, name] of (key.models ?? []).entries()) check(name, ['keys', i, 'models', j]);
    }
    for (const name of Object.keys(c.prices ?? {})) check(name, ['prices', name]);
  })
  .transform(
    (c): GatewayConfig => ({
      models: Object.fromEntries(Object.entries(c.models)),
      routing: {
        ...(c.routing?.max_cooldown_ms !== undefined ? { maxCooldownMs: c.routing.max_cooldown_ms } : {}),
        ...(c.routing?.failover_on !== undefined ? { failoverOn: c.routing.failover_on } : {}),
        ...(c.routing?.breaker !== undefined
          ? {
              breaker: {
                ...(c.routing.breaker.failures !== undefined ? { failures: c.routing.breaker.failures } : {}),
                ...(c.routing.breaker.window_ms !== undefined ? { windowMs: c.routing.breaker.window_ms } : {}),
                ...(c.routing.breaker.probe_after_ms !== undefined
                  ? { probeAfterMs: c.routing.breaker.probe_after_ms }
                  : {}),
              },
            }
          : {}),
      },
      server: {
        ...(c.server?.port !== undefined ? { port: c.server.port } : {}),
        ...(c.server?.host !== undefined ? { host: c.server.host } : {}),
        ...(c.server?.api_key !== undefined ? { apiKey: c.server.api_key } : {}),
        ...(c.server?.log_format !== undefined ? { logFormat: c.server.log_format } : {}),
      },
      telemetry: c.telemetry?.otlp_endpoint !== undefined ? { otlpEndpoint: c.telemetry.otlp_endpoint } : {},
      ...(c.redis !== undefined ? { redis: c.redis } : {}),
      streams: {
        ...(c.streams?.resumable !== undefined ? { resumable: c.streams.resumable } : {}),
        ...(c.streams?.keep_going_ms !== undefined ? { keepGoingMs: c.streams.keep_going_ms } : {}),
        ...(c.streams?.retention_ms !== undefined ? { retentionMs: c.streams.retention_ms } : {}),
      },
      keys: c.keys ?? [],
      prices: Object.fromEntries(Object.entries(c.prices ?? {})),
    }),
  );

/**
 * The keys accepted where `path` (a path into the file's value) points at a mapping, for
 * "did you mean"; empty when the path is not a known mapping.
 * @example
 * knownKeysAt(['routing', 'breaker'], raw) // ['failures', 'window_ms', 'probe_after_ms']
 */
export function knownKeysAt(path: readonly PropertyKey[], raw: unknown): string[] {
  const [first, , third] = path;
  if (path.length === 0) return Object.keys(gatewayConfigSchema.in.shape);
  if (first === 'routing') return Object.keys(path.length === 1 ? routing.shape : breaker.shape);
  if (first === 'server') return Object.keys(server.shape);
  if (first === 'telemetry') return Object.keys(telemetry.shape);
  if (first === 'streams') return Object.keys(streams.shape);
  if (first === 'keys') return path.length === 2 ? Object.keys(clientKey.in.shape) : Object.keys(budget.shape);
  if (first === 'prices') return Object.keys(price.shape);
  if (first !== 'models') return [];
  if (path.at(-1) === 'timeouts') return Object.keys(timeouts.shape);
  if (path.length === 2) return ['continue_on_failure', 'targets'];
  // A target: models.NAME.INDEX (a bare list) or models.NAME.targets.INDEX.
  if (path.length === 3 || (path.length === 4 && third === 'targets')) {
    const kinds = kindsOf(valueAt(raw, path));
    return kinds.length === 1 ? TARGET_KEYS[kinds[0] as TargetKind] : [];
  }
  return [];
}

/** The raw value at a path, or undefined. */
export function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let at = raw;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/**
 * True for a `redis://` or `rediss://` URL with a host (credentials allowed: Redis needs them).
 * @example
 * isRedisUrl('redis://127.0.0.1:6379') // true
 */
export function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}
