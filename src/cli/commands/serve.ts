/**
 * `sluice serve`: the Azure OpenAI / OpenAI API (and the web chat page) over what
 * serve-backends.ts chooses: a gateway configuration file, a deployment named by the CLI's
 * settings, or the local model. `--check-config` validates the file and exits. Prints its
 * URL, serves until SIGINT or SIGTERM (heeded from the start, model loading included), then
 * closes cleanly with a one-line message and exit 0.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import type { LoadedGatewayConfig } from '../../gateway/config.js';
import { readDotEnv } from '../../util/dotenv.js';
import type { CommandContext } from '../command.js';
import { localNotice } from '../config.js';
import { ExitCode, exitCodeForError } from '../exit-codes.js';
import type { SignalName } from '../io.js';
import { chooseServeSource, frontDeployment, openGateway, serveLocalModel } from '../serve-backends.js';
import { UsageError } from '../usage-error.js';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';

export async function run({ io, values, positionals }: CommandContext): Promise<number> {
  if (positionals.length > 0) {
    throw new UsageError(`serve takes no arguments, got ${JSON.stringify(positionals[0])}`, { command: 'serve' });
  }
  const dotenv = readDotEnv(io.cwd);
  const env = (name: string) => io.env[name] || dotenv[name] || undefined;
  const threads = integer(
    values.threads ?? env('SLUICE_THREADS'),
    values.threads ? '--threads' : 'SLUICE_THREADS',
    1,
    256,
  );
  const contextSize = integer(values['context-size'], '--context-size', 16, 1_048_576);
  const sequences = integer(values.parallel, '--parallel', 1, 64);
  const queueSize = integer(values.queue, '--queue', 0, 100_000);
  const corsOrigins = originList(values['cors-origin']);
  const modelValue = (typeof values.model === 'string' ? values.model : undefined) || env('SLUICE_MODEL');
  const modelPath =
    modelValue === undefined ? undefined : isAbsolute(modelValue) ? modelValue : resolve(io.cwd, modelValue);
  const local = {
    ...(threads !== undefined ? { threads } : {}),
    ...(contextSize !== undefined ? { contextSize } : {}),
    ...(sequences !== undefined ? { sequences } : {}),
    ...(queueSize !== undefined ? { queueSize } : {}),
  };

  const source = chooseServeSource({ values, io, dotenv });
  let loaded: LoadedGatewayConfig | undefined;
  if (source.kind === 'config') {
    const gateway = await import('../../gateway/config.js');
    try {
      loaded = gateway.loadGatewayConfig(source.path, { env: io.env, cwd: io.cwd });
    } catch (error) {
      if (!(error instanceof gateway.GatewayConfigError)) throw error;
      // One line per problem, as compilers print them, so an editor can jump to each.
      for (const problem of error.problems) io.stderr.write(`${gateway.formatProblem(problem)}\n`);
      io.stderr.write(
        `sluice: ${source.path} was refused (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'} above); nothing was started\n`,
      );
      return exitCodeForError(error);
    }
    if (values['check-config'] === true) {
      const { summarizeGatewayConfig } = await import('../../gateway/summary.js');
      io.stdout.write(
        `${summarizeGatewayConfig(loaded.config, loaded.shownAs).join('\n')}\nsluice: the configuration is valid\n`,
      );
      return ExitCode.OK;
    }
  }
  const port = integer(values.port, '--port', 0, 65535) ?? loaded?.config.server.port ?? DEFAULT_PORT;
  const host =
    typeof values.host === 'string' && values.host !== '' ? values.host : (loaded?.config.server.host ?? DEFAULT_HOST);
  const apiKey =
    (typeof values['api-key'] === 'string' ? values['api-key'] : undefined) ||
    loaded?.config.server.apiKey ||
    env('SLUICE_API_KEY');
  const logFormat = logFormatOf(values['log-format']) ?? loaded?.config.server.logFormat ?? 'text';
  const writeLine = (line: string) => io.stderr.write(`${line}\n`);
  // Telemetry only with an endpoint (the file's, else OTEL_EXPORTER_OTLP_ENDPOINT): its SDK is not loaded otherwise.
  const { createObservability, otlpEndpointFrom } = await import('../../gateway/observability.js');
  const targetId = loaded ? (await import('../../gateway/targets.js')).targetId : undefined;
  const observability = await createObservability({
    // Every configured target shows its breaker state on /metrics from the start.
    targetIds: Object.entries(loaded?.config.models ?? {}).flatMap(([name, model]) =>
      model.targets.map((target, index) => targetId!(name, index, target)),
    ),
    otlpEndpoint: otlpEndpointFrom(loaded?.config.telemetry.otlpEndpoint, {
      OTEL_EXPORTER_OTLP_ENDPOINT: env('OTEL_EXPORTER_OTLP_ENDPOINT'),
      OTEL_SDK_DISABLED: env('OTEL_SDK_DISABLED'),
    }),
    jsonLog: logFormat === 'json' ? writeLine : undefined,
  });

  const redis = loaded?.config.redis ?? env('SLUICE_REDIS_URL');
  const { isRedisUrl } = await import('../../gateway/schema.js');
  if (redis !== undefined && !isRedisUrl(redis)) {
    throw new UsageError('SLUICE_REDIS_URL must be a Redis URL such as redis://127.0.0.1:6379', {
      setting: 'SLUICE_REDIS_URL',
      command: 'serve',
    });
  }
  const { openStreams } = await import('../../streams/setup.js');
  let streams: ReturnType<typeof openStreams>;

  const [{ createServer }, plan] = await Promise.all([
    import('../../server/index.js'),
    loaded !== undefined
      ? openGateway(loaded, local, observability.events, redis)
      : source.kind === 'remote'
        ? frontDeployment(source.resolved.target)
        : serveLocalModel({ ...(modelPath !== undefined ? { modelPath } : {}), ...local }),
  ]);

  // Heeded from here on: a stop while the model loads is a clean stop too, not a bare 143.
  let signalled: SignalName | undefined;
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((done) => {
    wake = done;
  });
  const onSignal = (name: SignalName) => () => {
    if (signalled) {
      io.stderr.write(`sluice: ${name} again, leaving now\n`);
      io.exit(ExitCode.OK);
      return;
    }
    signalled = name;
    wake?.();
  };
  const offInt = io.onSignal('SIGINT', onSignal('SIGINT'));
  const offTerm = io.onSignal('SIGTERM', onSignal('SIGTERM'));

  if (source.kind === 'local') {
    io.stderr.write(`sluice: loading ${modelPath ?? 'the embedded model'}...\n`);
    if (source.implicit && modelValue === undefined) io.stderr.write(`${localNotice()}\n`);
  }
  let closeKeys: (() => Promise<void>) | undefined;
  try {
    // Load now: a bad --model is reported before the URL is printed, not on the first request.
    const ready = await Promise.race([plan.load().then(() => true), stopped.then(() => false)]);
    if (!ready) {
      io.stderr.write(`sluice: ${signalled} received while loading, stopped\n`);
      return ExitCode.OK;
    }
    const staticHandler = await loadWebPage();
    streams = openStreams({ redis, streams: loaded?.config.streams ?? {} }, writeLine);
    // Client keys (keys: in the file): per-key limits and the usage ledger, shared through the same Redis.
    const keyAccess = loaded?.config.keys.length
      ? await (await import('../../gateway/key-access.js')).openKeyAccess({
          keys: loaded.config.keys,
          prices: loaded.config.prices,
          ...(redis ? { redisUrl: redis } : {}),
          ...(plan.countTokensFor ? { countTokensFor: (name: string) => plan.countTokensFor?.(name) } : {}),
          log: writeLine,
        })
      : undefined;
    closeKeys = keyAccess?.close;
    const server = createServer({
      ...(plan.deployments ? { deployments: plan.deployments } : { backend: plan.backend }),
      ...(apiKey ? { apiKey } : {}),
      ...(staticHandler ? { staticHandler } : {}),
      ...(corsOrigins ? { cors: { origins: corsOrigins } } : {}),
      log: writeLine,
      logFormat,
      observer: observability.observer,
      ...(streams ? { streams } : {}),
      ...(keyAccess ? { access: keyAccess.access } : {}),
    });
    let info: { url: string };
    try {
      info = await server.listen(port, host);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE') {
        throw new UsageError(`port ${port} on ${host} is in use: pass --port N (0 picks a free one)`, {
          setting: '--port',
          command: 'serve',
        });
      }
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        throw new UsageError(`cannot listen on ${host}: not an address of this machine`, {
          setting: '--host',
          command: 'serve',
        });
      }
      throw error;
    }
    const pages =
      corsOrigins === '*' ? 'any origin' : ['its own origin', 'localhost', ...(corsOrigins ?? [])].join(', ');
    const names = plan.deployments ? Object.keys(plan.deployments).join(', ') : undefined;
    io.stdout.write(
      [
        `Sluice is serving ${plan.title()} at ${info.url}`,
        `  Azure OpenAI:  AZURE_OPENAI_ENDPOINT=${info.url}  (${names ? `deployments ${names}` : 'any deployment name'})`,
        `  OpenAI:        OPENAI_BASE_URL=${info.url}/v1${names ? `  (models ${names})` : ''}`,
        `  Chat page:     ${info.url}/`,
        `  Auth:          ${keyAccess ? `${loaded!.config.keys.length} client key${loaded!.config.keys.length === 1 ? '' : 's'} (keys:)${apiKey ? ' and --api-key (as "default")' : ''}; usage at ${info.url}/sluice/v1/usage` : apiKey ? 'api-key or Bearer required' : 'none (pass --api-key to require one)'}`,
        `  Web pages:     ${pages} (--cors-origin adds more)`,
        ...plan.describe(),
        ...(streams ? [`  Streams:       resumable (${redis ? 'shared through Redis' : 'this instance only'})`] : []),
        'Ctrl-C stops.',
        '',
      ].join('\n'),
    );
    await stopped;
    io.stderr.write(`sluice: ${signalled} received, stopping (running answers end with an error frame)...\n`);
    await server.close();
    io.stderr.write('sluice: stopped\n');
    return ExitCode.OK;
  } finally {
    offInt();
    offTerm();
    await closeKeys?.();
    await plan.close();
    await observability.close();
    await streams?.log.close();
  }
}

/** `--log-format`: text or json. */
function logFormatOf(raw: unknown): 'text' | 'json' | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'text' || raw === 'json') return raw;
  throw new UsageError(`--log-format must be text or json, got ${JSON.stringify(String(raw))}`, {
    setting: '--log-format',
    command: 'serve',
  });
}

// --- internal ---

/** The web chat page's handler, when the web UI module is present. */
async function loadWebPage(): Promise<
  ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => boolean) | undefined
> {
  try {
    const web = await import('../../web/serve-static.js');
    return web.createStaticHandler();
  } catch {
    return undefined;
  }
}

/** `--cors-origin` values: origins as given, or `*` for any. */
function originList(raw: unknown): string[] | '*' | undefined {
  const list = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []).map((o) => String(o).trim());
  if (list.length === 0) return undefined;
  if (list.includes('*')) return '*';
  for (const origin of list) {
    if (!/^https?:\/\/[^/\s]+$/i.test(origin)) {
      throw new UsageError(
        `--cors-origin must be an origin such as https://app.example (scheme and host, no path) or *, got ${JSON.stringify(origin)}`,
        { setting: '--cors-origin', command: 'serve' },
      );
    }
  }
  return list;
}

function integer(raw: unknown, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const s = String(raw).trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < min || n > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(String(raw))}`, {
      setting: name,
      command: 'serve',
    });
  }
  return n;
}
