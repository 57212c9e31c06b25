/**
 * What `sluice serve` serves, decided once, in this order: a gateway configuration file
 * (`--config`, or `SLUICE_CONFIG`: one router per name), else the Azure or OpenAI-compatible deployment the CLI's
 * settings name (environment, `.env`, `--profile`, stored keys and the user's settings file:
 * the CLI's own resolution, `resolveSettings`), fronted for
 * every name, else the local model. The backends come out ready for `createServer`.
 * @module
 */
import type { Backend } from '../backend.js';
import type { LocalBackend, LocalBackendOptions } from '../backends/local/index.js';
import { DEFAULT_MAX_RETRIES } from '../client/options.js';
import type { LoadedGatewayConfig, ServerConfig, TargetConfig } from '../gateway/config.js';
import type { GatewayEvents } from '../gateway/events.js';
import type { BreakerState } from '../gateway/health.js';
import type { ParsedValues } from './args.js';
import type { CliTarget, ResolvedConfig } from './config.js';
import type { CliIO } from './io.js';
import { resolveSettings } from './settings.js';
import { UsageError } from './usage-error.js';

/** Where `sluice serve` gets its answers. */
export type ServeSource =
  | { kind: 'config'; path: string }
  | { kind: 'remote'; resolved: ResolvedConfig & { target: Exclude<CliTarget, { kind: 'local' }> } }
  | { kind: 'local'; implicit: boolean };

/** The flags of `sluice serve` that name what to serve (the rest are the server's own). */
export const SOURCE_FLAGS = ['profile', 'endpoint', 'deployment', 'api-version', 'base-url', 'local'] as const;

/**
 * Decides what to serve. `--config` (or `SLUICE_CONFIG` from the environment or `.env`)
 * wins; `--local` or `--model` means the local model; otherwise the CLI's own settings
 * resolution decides, stored keys and the user's settings file included (a half-set Azure
 * configuration is an error, nothing set is the local model).
 * @example
 * chooseServeSource({ values: {}, io, dotenv: { SLUICE_CONFIG: 'sluice.yaml' } })
 * // { kind: 'config', path: 'sluice.yaml' }
 */
export function chooseServeSource(input: {
  values: ParsedValues;
  io: Pick<CliIO, 'env' | 'cwd' | 'fileExists'>;
  /** `.env` of the working directory, as serve already read it. */
  dotenv: Record<string, string>;
}): ServeSource {
  const { values, io } = input;
  const configFlag = typeof values.config === 'string' && values.config !== '' ? values.config : undefined;
  const config = configFlag ?? (io.env.SLUICE_CONFIG || input.dotenv.SLUICE_CONFIG || undefined);
  const named = SOURCE_FLAGS.filter((f) => values[f] !== undefined && values[f] !== false);
  if (config !== undefined) {
    if (named.length > 0) {
      throw new UsageError(
        `--${named[0]} and ${configFlag !== undefined ? '--config' : 'SLUICE_CONFIG'} both say what to serve: the configuration file names every target, so drop --${named[0]}`,
        { setting: `--${named[0]}`, command: 'serve' },
      );
    }
    return { kind: 'config', path: config };
  }
  if (values['check-config'] === true) {
    throw new UsageError('--check-config checks a configuration file: pass --config FILE (or set SLUICE_CONFIG)', {
      setting: '--check-config',
      command: 'serve',
    });
  }
  const flags: ParsedValues = {};
  for (const f of SOURCE_FLAGS) if (values[f] !== undefined) flags[f] = values[f];
  // serve's --model is always a model file: it means the local model.
  if (typeof values.model === 'string' && values.model !== '') flags.local = true;
  const resolved = resolveSettings(io, flags, { dotenv: input.dotenv }).config;
  const target = resolved.target;
  if (target.kind === 'local') return { kind: 'local', implicit: target.implicit };
  return { kind: 'remote', resolved: { ...resolved, target } };
}

/** What the server is given, plus what the banner says and how to stop it. */
export interface ServePlan {
  /** One backend for every name (local, fronted deployment) ... */
  backend?: Backend;
  /** ... or one per configured name. */
  deployments?: Record<string, Backend>;
  /** Settings from the configuration file's `server:` (flags win over them). */
  server: ServerConfig;
  /** What is served, one word for the banner's first line (after `load()`). */
  title(): string;
  /** Lines for the banner after the URL lines: what answers each name (after `load()`). */
  describe(): string[];
  /** Loads local models now, so a bad one is reported before the URL is printed. */
  load(): Promise<void>;
  /** A served name's own token counter, when only the embedded model answers it (per-key usage). */
  countTokensFor?(name: string): ((text: string) => Promise<number>) | undefined;
  close(): Promise<void>;
}

/**
 * A remote deployment from the CLI's settings, fronted for every name the client uses. It
 * retries like the CLI does: there is no other target to fail over to.
 * @example
 * const plan = await frontDeployment({ kind: 'azure', endpoint, route: 'deployments', deployment: 'gpt-4o', apiKey });
 */
export async function frontDeployment(target: Exclude<CliTarget, { kind: 'local' }>): Promise<ServePlan> {
  const { createTargetBackend } = await import('../gateway/targets.js');
  const routing = { priority: 1, weight: 1, timeouts: {} };
  const config: Exclude<TargetConfig, { kind: 'local' }> =
    target.kind === 'azure'
      ? {
          kind: 'azure',
          endpoint: target.endpoint,
          route: target.route,
          deployment: target.deployment,
          ...(target.apiKey !== undefined ? { apiKey: target.apiKey } : {}),
          ...(target.apiVersion !== undefined ? { apiVersion: target.apiVersion } : {}),
          ...routing,
        }
      : {
          kind: 'openai',
          baseURL: target.baseURL,
          model: target.model,
          ...(target.apiKey !== undefined ? { apiKey: target.apiKey } : {}),
          ...routing,
        };
  const where = new URL(target.kind === 'azure' ? target.endpoint : target.baseURL).host;
  const name = target.kind === 'azure' ? target.deployment : target.model;
  const backend = createTargetBackend(config, `${target.kind}:${where}`, { maxRetries: DEFAULT_MAX_RETRIES });
  return {
    backend,
    server: {},
    title: () => `${target.kind}:${where}/${name}`,
    describe: () => [
      `  Answers:       every name goes to ${target.kind === 'azure' ? 'Azure deployment' : 'model'} ${name} at ${where}`,
    ],
    load: async () => {},
    close: () => backend.close?.() ?? Promise.resolve(),
  };
}

/**
 * The gateway: one router backend per configured name over its targets (priority, weight,
 * failover, cooldowns and breakers as the file's `routing:` says). Each name has its own
 * health store: target ids are per name anyway. `events` hears every router's attempts and
 * breaker changes (observability).
 * @example
 * const plan = await openGateway(loaded, { threads: 1 });
 */
export async function openGateway(
  loaded: LoadedGatewayConfig,
  local: Omit<LocalBackendOptions, 'modelPath' | 'env'>,
  events?: GatewayEvents,
  redis?: string,
): Promise<ServePlan> {
  const [{ buildGatewayTargets }, { createRouterBackend }, { createMemoryHealth }] = await Promise.all([
    import('../gateway/targets.js'),
    import('../gateway/router.js'),
    import('../gateway/health.js'),
  ]);
  const { routing } = loaded.config;
  const built = buildGatewayTargets(loaded.config, { local });
  const deployments: Record<string, Backend> = {};
  const healthOptions = {
    ...(routing.breaker !== undefined ? { breaker: routing.breaker } : {}),
    onBreaker: (id: string, state: BreakerState) => events?.breaker?.(id, state),
  };
  // With Redis one store shared by every instance (target ids are unique across names).
  const shared =
    redis === undefined
      ? undefined
      : (await import('../gateway/shared-health.js')).createSharedHealth({ url: redis, ...healthOptions });
  for (const [name, targets] of Object.entries(built.models)) {
    deployments[name] = createRouterBackend({
      model: name,
      targets,
      health: shared ?? createMemoryHealth(healthOptions),
      ...(events ? { events } : {}),
      continueOnFailure: loaded.config.models[name]?.continueOnFailure === true,
      ...(routing.failoverOn !== undefined ? { failoverOn: routing.failoverOn } : {}),
      ...(routing.maxCooldownMs !== undefined ? { maxCooldownMs: routing.maxCooldownMs } : {}),
    });
  }
  return {
    deployments,
    server: loaded.config.server,
    title: () => loaded.shownAs,
    describe: () =>
      Object.entries(built.models).map(
        ([name, targets]) =>
          `  ${name}:${' '.repeat(Math.max(1, 14 - name.length))}${targets.map((t) => t.id).join(', ')}`,
      ),
    load: async () => {
      await Promise.all(built.backends.map((b) => (isLocal(b) ? b.load() : undefined)));
    },
    countTokensFor: (name) => {
      const targets = built.models[name];
      const only = targets?.length === 1 ? targets[0]!.backend : undefined;
      return only && isLocal(only) ? (text) => only.countTokens(text) : undefined;
    },
    close: async () => {
      await built.close();
      await shared?.close();
    },
  };
}

/**
 * The local model for every name, as `sluice serve` has always served it.
 * @example
 * const plan = await serveLocalModel({ modelPath: '/models/x.gguf', threads: 1 });
 */
export async function serveLocalModel(options: Omit<LocalBackendOptions, 'env'>): Promise<ServePlan> {
  const { createLocalBackend } = await import('../backends/local/index.js');
  const backend = createLocalBackend({ ...options, env: {} });
  let model: Awaited<ReturnType<LocalBackend['load']>> | undefined;
  return {
    backend,
    server: {},
    title: () => model?.name ?? backend.name,
    describe: () => {
      const stats = backend.stats();
      return [
        `  Model:         ${model?.contextSize} tokens per request, ${stats.sequences} at once, ${stats.queueSize} may wait`,
      ];
    },
    load: async () => {
      model = await backend.load();
    },
    close: () => backend.close(),
  };
}

function isLocal(backend: Backend): backend is LocalBackend {
  return typeof (backend as Partial<LocalBackend>).load === 'function';
}
