/**
 * `sluice serve`: the Azure OpenAI / OpenAI API (and the web chat page) on the local
 * model. Prints its URL, serves until SIGINT or SIGTERM, then closes cleanly.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import type { CommandContext } from '../command.js';
import { readDotEnv } from '../config.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';

export async function run({ io, values, positionals }: CommandContext): Promise<number> {
  if (positionals.length > 0) {
    throw new UsageError(`serve takes no arguments, got ${JSON.stringify(positionals[0])}`, { command: 'serve' });
  }
  const dotenv = readDotEnv(io.cwd);
  const env = (name: string) => io.env[name] || dotenv[name] || undefined;
  const port = integer(values.port, '--port', 0, 65535) ?? DEFAULT_PORT;
  const host = typeof values.host === 'string' && values.host !== '' ? values.host : DEFAULT_HOST;
  const apiKey = (typeof values['api-key'] === 'string' ? values['api-key'] : undefined) || env('SLUICE_API_KEY');
  const threads = integer(
    values.threads ?? env('SLUICE_THREADS'),
    values.threads ? '--threads' : 'SLUICE_THREADS',
    1,
    256,
  );
  const modelValue = (typeof values.model === 'string' ? values.model : undefined) || env('SLUICE_MODEL');
  const modelPath =
    modelValue === undefined ? undefined : isAbsolute(modelValue) ? modelValue : resolve(io.cwd, modelValue);

  const [{ createServer }, { createLocalBackend }] = await Promise.all([
    import('../../server/index.js'),
    import('../../backends/local/index.js'),
  ]);
  const backend = createLocalBackend({
    ...(modelPath !== undefined ? { modelPath } : {}),
    ...(threads !== undefined ? { threads } : {}),
    env: {},
  });
  try {
    // Load now: a bad --model is reported before the URL is printed, not on the first request.
    const model = await backend.load();
    const staticHandler = await loadWebPage();
    const server = createServer({
      backend,
      ...(apiKey ? { apiKey } : {}),
      ...(staticHandler ? { staticHandler } : {}),
      log: (line) => io.stderr.write(`${line}\n`),
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
    io.stdout.write(
      [
        `Sluice is serving ${model.name} at ${info.url}`,
        `  Azure OpenAI:  AZURE_OPENAI_ENDPOINT=${info.url}  (any deployment name)`,
        `  OpenAI:        OPENAI_BASE_URL=${info.url}/v1`,
        `  Chat page:     ${info.url}/`,
        `  Auth:          ${apiKey ? 'api-key or Bearer required' : 'none (pass --api-key to require one)'}`,
        'Ctrl-C stops.',
        '',
      ].join('\n'),
    );
    await new Promise<void>((done) => {
      const offInt = io.onSignal('SIGINT', stop);
      const offTerm = io.onSignal('SIGTERM', stop);
      function stop() {
        offInt();
        offTerm();
        done();
      }
    });
    io.stderr.write('sluice: stopping...\n');
    await server.close();
    return ExitCode.OK;
  } finally {
    await backend.close?.();
  }
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
