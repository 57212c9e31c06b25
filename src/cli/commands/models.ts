/**
 * `sluice models`: what the configured target offers, one model per line (name, then where
 * it comes from), or NDJSON with `--json`.
 * @module
 */
import { join } from 'node:path';
import type { CommandContext } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { type ListedModel, localModels, remoteModels } from '../models-list.js';
import { resolveSettings } from '../settings.js';
import { userDataDir } from '../user/dirs.js';

export async function run({ io, values }: CommandContext): Promise<number> {
  const { config } = resolveSettings(io, values, { modelOptional: true });
  const t = config.target;
  let models: ListedModel[];
  if (t.kind === 'local') {
    const { DEFAULT_MODEL_PATH } = await import('../../backends/local/index.js');
    const data = userDataDir(io.env);
    models = localModels(t, DEFAULT_MODEL_PATH, data === undefined ? [] : [join(data, 'models')]);
  } else {
    models = await remoteModels(t);
  }
  if (values.json === true) {
    for (const m of models) io.stdout.write(`${JSON.stringify(m)}\n`);
    return ExitCode.OK;
  }
  const width = Math.max(0, ...models.map((m) => m.id.length));
  for (const m of models)
    io.stdout.write(m.source === 'endpoint' ? `${m.id}\n` : `${m.id.padEnd(width)}  ${m.source}\n`);
  if (models.length === 0) io.stderr.write('sluice: the endpoint lists no models.\n');
  return ExitCode.OK;
}
