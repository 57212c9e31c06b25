/**
 * From a validated configuration to what the router routes over: per configured name, its
 * targets, each a Backend plus routing data. Remote targets make one attempt each
 * (`maxRetries: 0`: the router retries by failing over) within the target's own time-outs;
 * local targets share one backend per model file, so two names on one model load it once.
 * @module
 */
import { basename } from 'node:path';
import type { Backend, BackendRequest } from '../backend.js';
import { createLocalBackend, DEFAULT_MODEL_PATH, type LocalBackendOptions } from '../backends/local/index.js';
import { createRemoteBackend } from '../backends/remote/index.js';
import { type ClientOptions, DEFAULT_STREAM_TIMEOUTS, type Timeouts } from '../client/options.js';
import type { ApiKind } from '../types.js';
import type { GatewayConfig, TargetConfig } from './schema.js';

/** One place a name's requests can go, as the router sees it. */
export interface RouteTarget {
  /** Stable, secret-free, readable: `<model>/<index>:<kind>:<host or model file>`. */
  id: string;
  backend: Backend;
  /** 1 is tried first; default 1. */
  priority: number;
  /** Share among targets of the same priority; default 1. */
  weight: number;
  rpm?: number;
  tpm?: number;
  /** The target's own limits (also given to a remote target's client). */
  timeouts: Timeouts;
}

/** Every configured name's targets, and the backends behind them. */
export interface GatewayTargets {
  /** Name -> targets, in the file's order. */
  models: Record<string, RouteTarget[]>;
  /** Each distinct backend once (local ones are shared), e.g. for `/metrics` and `close`. */
  backends: Backend[];
  /** Closes every backend (local models free their memory). */
  close(): Promise<void>;
}

export interface BuildTargetsOptions {
  /** Settings for local backends (threads, sequences, queue, context size): from the CLI flags. */
  local?: Omit<LocalBackendOptions, 'modelPath' | 'env'>;
}

/**
 * The target id: `<model>/<index>:<kind>:<host or model file>`; never a key or a full path.
 * @example
 * targetId('gpt-4o', 0, { kind: 'azure', endpoint: 'https://east.openai.azure.com', ... }) // 'gpt-4o/0:azure:east.openai.azure.com'
 * targetId('story', 1, { kind: 'local', ... })  // 'story/1:local:tinyllamas-stories-260k-f32.gguf'
 */
export function targetId(model: string, index: number, target: TargetConfig): string {
  const where =
    target.kind === 'azure'
      ? new URL(target.endpoint).host
      : target.kind === 'openai'
        ? new URL(target.baseURL).host
        : basename(target.modelPath ?? DEFAULT_MODEL_PATH);
  return `${model}/${index}:${target.kind}:${where}`;
}

/**
 * Builds every configured name's targets. Nothing connects or loads here: remote backends
 * open connections per request, local models load on first use (or `load()`).
 *
 * @example
 * const { models, close } = buildGatewayTargets(config, { local: { threads: 1 } });
 * models['gpt-4o'][0].id // 'gpt-4o/0:azure:east.openai.azure.com'
 */
export function buildGatewayTargets(config: GatewayConfig, options: BuildTargetsOptions = {}): GatewayTargets {
  const locals = new Map<string, Backend>();
  const backends: Backend[] = [];
  const models: Record<string, RouteTarget[]> = {};
  for (const [name, model] of Object.entries(config.models)) {
    models[name] = model.targets.map((target, index) => {
      const id = targetId(name, index, target);
      let backend: Backend;
      if (target.kind === 'local') {
        const path = target.modelPath ?? DEFAULT_MODEL_PATH;
        let shared = locals.get(path);
        if (shared === undefined) {
          shared = createLocalBackend({ ...options.local, modelPath: path, env: {} });
          locals.set(path, shared);
          backends.push(shared);
        }
        backend = shared;
      } else {
        backend = createTargetBackend(target, id, { routed: true });
        backends.push(backend);
      }
      return {
        id,
        backend,
        priority: target.priority,
        weight: target.weight,
        ...(target.rpm !== undefined ? { rpm: target.rpm } : {}),
        ...(target.tpm !== undefined ? { tpm: target.tpm } : {}),
        // The router times a remote target's streamed headers (its client does not: `routed`).
        timeouts:
          target.kind === 'local'
            ? target.timeouts
            : { headersMs: DEFAULT_STREAM_TIMEOUTS.headersMs, ...target.timeouts },
      };
    });
  }
  return {
    models,
    backends,
    async close() {
      await Promise.allSettled(backends.map((b) => b.close?.()));
    },
  };
}

/**
 * A remote target's backend: one attempt per request (unless `maxRetries` says otherwise:
 * a deployment fronted alone has no other target to fail over to), the target's time-outs,
 * and always the target's own deployment or model. The name the client asked for is the gateway's
 * name for this group of targets, not a deployment of this upstream, so it is not passed on.
 * `routed`: behind the router (`buildGatewayTargets`), which times each streamed attempt's
 * headers itself, so the client's stream calls leave them untimed (no second timer and signal).
 * @example
 * const backend = createTargetBackend({ kind: 'azure', endpoint, route: 'deployments', deployment: 'gpt-4o', apiKey, ... }, 'gpt-4o/0:azure:x');
 */
export function createTargetBackend(
  target: Exclude<TargetConfig, { kind: 'local' }>,
  name: string,
  options: { maxRetries?: number; routed?: boolean } = {},
): Backend {
  const remote = createRemoteBackend({
    ...clientOptionsFor(target),
    maxRetries: options.maxRetries ?? 0,
    name,
    // Behind the router, which times each attempt's headers with its own signal.
    ...(options.routed ? { streamTimeouts: { headersMs: 0 } } : {}),
  });
  // The call's deployment wins over the body's model for every route (client.ts), so naming
  // the target's own one here is what keeps the client's name from reaching the upstream.
  const deployment = target.kind === 'azure' ? target.deployment : target.model;
  // (Object.assign, not a spread: see the headers in server/generation.ts.)
  const own = <K extends ApiKind>(request: BackendRequest<K>): BackendRequest<K> =>
    Object.assign({}, request, { deployment });
  // The remote backend has every optional part of the seam but capabilities (an upstream honours all).
  return {
    name,
    stream: (request, signal) => remote.stream(own(request), signal),
    create: (request, signal) => remote.create!(own(request), signal),
    responses: (request, signal) => remote.responses!({ ...request, deployment }, signal),
    createResponse: (request, signal) => remote.createResponse!({ ...request, deployment }, signal),
    embed: (request, signal) => remote.embed!({ ...request, deployment }, signal),
    models: () => remote.models!(),
    close: () => remote.close!(),
  };
}

// --- internal ---

function clientOptionsFor(target: Exclude<TargetConfig, { kind: 'local' }>): ClientOptions {
  const common = {
    ...(target.apiKey !== undefined ? { apiKey: target.apiKey } : {}),
    timeouts: target.timeouts,
  };
  if (target.kind === 'openai') return { baseURL: target.baseURL, deployment: target.model, ...common };
  return {
    endpoint: target.endpoint,
    route: target.route,
    deployment: target.deployment,
    ...(target.apiVersion !== undefined ? { apiVersion: target.apiVersion } : {}),
    ...common,
  };
}
