/**
 * The user's own files as inputs to the target's resolution (config.ts): the settings
 * file's default model, profile and aliases, and the stored keys.
 * @module
 */
import type { ConfigInput } from '../config.js';
import { readStoredKeys } from './keys.js';
import { readUserConfig } from './user-config.js';

/**
 * @example
 * resolveConfig({ flags, env, dotenv, cwd, fileExists, ...userInputs(io.env) })
 */
export function userInputs(
  env: Readonly<Record<string, string | undefined>>,
): Pick<ConfigInput, 'user' | 'storedKeys'> {
  return { user: readUserConfig(env), storedKeys: readStoredKeys(env) };
}
