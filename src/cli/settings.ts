/**
 * The target's resolution (config.ts) fed from every source: the flags, the environment,
 * `.env` in the working directory, the stored keys and the user's settings file. The one
 * place the commands read them from.
 * @module
 */

import { readDotEnv } from '../util/dotenv.js';
import type { ParsedValues } from './args.js';
import { type ResolvedConfig, resolveConfig } from './config.js';
import type { CliIO } from './io.js';
import { readStoredKeys } from './user/keys.js';
import { readUserConfig, type UserConfig } from './user/user-config.js';

export interface Settings {
  config: ResolvedConfig;
  user: UserConfig;
  storedKeys: Record<string, string>;
  dotenv: Record<string, string>;
}

/**
 * @example
 * const { config } = resolveSettings(io, values);
 * config.target.kind // 'azure'
 */
export function resolveSettings(
  io: Pick<CliIO, 'env' | 'cwd' | 'fileExists'>,
  values: ParsedValues,
  options: { modelOptional?: boolean; dotenv?: Record<string, string> } = {},
): Settings {
  const { dotenv: given, ...rest } = options;
  const user = readUserConfig(io.env);
  const storedKeys = readStoredKeys(io.env);
  // A caller that already read `.env` (serve, for SLUICE_CONFIG) passes it: one read per run.
  const dotenv = given ?? readDotEnv(io.cwd);
  const config = resolveConfig({
    flags: values,
    env: io.env,
    dotenv,
    cwd: io.cwd,
    fileExists: io.fileExists,
    user,
    storedKeys,
    ...rest,
  });
  return { config, user, storedKeys, dotenv };
}
