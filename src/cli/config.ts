/**
 * Where requests go: flags, then the environment, then a `.env` file in the working
 * directory (never overriding the real environment), then the user's own files (keys
 * stored with `sluice keys set`, the default model and profile and the aliases of
 * `config.json`). Resolution is pure (inputs in, a target out) so every rule is
 * unit-tested; `.env` is read by `src/util/dotenv.ts`.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import type { ParsedValues } from './args.js';
import { UsageError } from './usage-error.js';
import type { UserConfig } from './user/user-config.js';

/** Azure OpenAI (deployment or v1 route). */
export interface AzureTarget {
  kind: 'azure';
  endpoint: string;
  route: 'deployments' | 'v1';
  apiKey?: string;
  deployment: string;
  apiVersion?: string;
}

/** Any OpenAI-compatible server (OpenAI itself, `sluice serve`, llama.cpp, vLLM...). */
export interface OpenAITarget {
  kind: 'openai';
  baseURL: string;
  apiKey?: string;
  model: string;
}

/** The embedded local model (node-llama-cpp). */
export interface LocalTarget {
  kind: 'local';
  /** Absolute path of a GGUF file; undefined = the embedded default. */
  modelPath?: string;
  threads?: number;
  /** True when nothing was configured: the CLI then says, once, how to use Azure. */
  implicit: boolean;
}

export type CliTarget = AzureTarget | OpenAITarget | LocalTarget;

/** The setting names to mention in error messages (suffixed when a profile is used). */
export interface SettingNames {
  endpoint: string;
  apiKey: string;
  deployment: string;
  /** `AZURE_OPENAI_DEPLOYMENT_NAME` (the tutorial's name), suffixed like the others. */
  deploymentName: string;
  baseURL: string;
  openaiKey: string;
  openaiModel: string;
}

/** Where a setting's value came from. */
export type SettingSource = 'flag' | 'environment' | '.env' | 'user keys' | 'user file' | 'default';

/** A setting that was actually used: its name (a flag or a variable) and its source. */
export interface UsedSetting {
  name: string;
  from: SettingSource;
}

export interface ResolvedConfig {
  target: CliTarget;
  /** Values that must never be printed (keys); error output is scrubbed of them. */
  secrets: string[];
  names: SettingNames;
  /** The settings the remote target was built from, so advice names what the user set. */
  used: {
    endpoint?: UsedSetting;
    key?: UsedSetting;
    deployment?: UsedSetting;
    profile?: UsedSetting;
    apiVersion?: UsedSetting;
    /** Set when the model or deployment given was an alias of the user file. */
    alias?: string;
  };
  /** The profile in use, upper-cased; undefined without --profile. */
  profile?: string;
}

export interface ConfigInput {
  flags: ParsedValues;
  /** The real environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** Parsed `.env` (lower priority than `env`). */
  dotenv: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Used to tell a GGUF path from a deployment name in `--model`. */
  fileExists: (path: string) => boolean;
  /** The user's config file (default model and profile, aliases); lowest priority. */
  user?: Pick<UserConfig, 'model' | 'profile' | 'aliases'>;
  /** Keys stored with `sluice keys set`, used when neither env nor .env sets the name. */
  storedKeys?: Readonly<Record<string, string>>;
  /** No deployment or model is needed (`sluice models` lists them): '' when none is set. */
  modelOptional?: boolean;
}

/** Suffix for `--profile NAME`: `_FOR_NAME`, upper-cased, other characters as `_`. */
export function profileSuffix(profile: string): string {
  return `_FOR_${profile.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Decides the target. Order: `--local` / `--model X.gguf`, `--endpoint`, `--base-url`, then
 * the environment: Azure (endpoint) before OpenAI-compatible (base URL or key); nothing at
 * all means the local model. Throws UsageError naming the missing or invalid setting.
 *
 * @example
 * resolveConfig({ flags: { profile: 'instruct' }, env: {}, dotenv: {
 *   AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT: 'https://x.openai.azure.com',
 *   AZURE_OPENAI_API_KEY_FOR_INSTRUCT: 'k', AZURE_OPENAI_DEPLOYMENT_NAME_FOR_INSTRUCT: 'gpt-35-turbo-instruct',
 * }, cwd: '/', fileExists: () => false }).target.kind // 'azure'
 */
export function resolveConfig(input: ConfigInput): ResolvedConfig {
  const { flags } = input;
  const used: ResolvedConfig['used'] = {};
  const profileFlag = str(flags.profile) ?? input.user?.profile;
  if (profileFlag !== undefined) {
    used.profile =
      str(flags.profile) !== undefined ? { name: '--profile', from: 'flag' } : { name: 'profile', from: 'user file' };
  }
  if (profileFlag !== undefined && !/^[A-Za-z0-9][\w-]*$/.test(profileFlag)) {
    throw new UsageError(`--profile must be a name of letters, digits, "_" or "-", got ${quote(profileFlag)}`, {
      setting: '--profile',
    });
  }
  const suffix = profileFlag === undefined ? '' : profileSuffix(profileFlag);
  const aliases = input.user?.aliases ?? {};
  /** A model name through the user's aliases (one step: an alias never names another). */
  const unalias = (name: string | undefined): string | undefined => {
    if (name === undefined || !Object.hasOwn(aliases, name)) return name;
    used.alias = name;
    return aliases[name];
  };
  const lookup = (name: string): { value: string; setting: UsedSetting } | undefined => {
    for (const [source, from] of [
      [input.env, 'environment'],
      [input.dotenv, '.env'],
      [input.storedKeys ?? {}, 'user keys'],
    ] as const) {
      if (!Object.hasOwn(source, name)) continue;
      const v = source[name];
      if (v !== undefined && v.trim() !== '') return { value: v.trim(), setting: { name, from } };
    }
    return undefined;
  };
  const raw = (name: string): string | undefined => lookup(name)?.value;
  const get = (name: string): string | undefined => raw(name + suffix);
  /** The first of `flag` and the suffixed `variables` that is set, recorded as used for `role`. */
  type Role = Exclude<keyof ResolvedConfig['used'], 'alias'>;
  /** The first of the unsuffixed `variables` that is set (a profile's api-version falls back to them). */
  const pickUnsuffixed = (role: Role, variables: string[]): string | undefined => {
    for (const v of variables) {
      const found = lookup(v);
      if (found) {
        used[role] = found.setting;
        return found.value;
      }
    }
    return undefined;
  };
  const pick = (role: Role, flag: string | undefined, variables: string[]): string | undefined => {
    const flagValue = flag === undefined ? undefined : str(flags[flag]);
    if (flagValue !== undefined) {
      used[role] = { name: `--${flag}`, from: 'flag' };
      return flagValue;
    }
    for (const v of variables) {
      const found = lookup(v + suffix);
      if (found) {
        used[role] = found.setting;
        return found.value;
      }
    }
    return undefined;
  };
  const names: SettingNames = {
    endpoint: `AZURE_OPENAI_ENDPOINT${suffix}`,
    apiKey: `AZURE_OPENAI_API_KEY${suffix}`,
    deployment: `AZURE_OPENAI_DEPLOYMENT${suffix}`,
    deploymentName: `AZURE_OPENAI_DEPLOYMENT_NAME${suffix}`,
    baseURL: `OPENAI_BASE_URL${suffix}`,
    openaiKey: `OPENAI_API_KEY${suffix}`,
    openaiModel: `OPENAI_MODEL${suffix}`,
  };

  const threads = readThreads(str(flags.threads), raw('SLUICE_THREADS'));
  const modelFlag = unalias(str(flags.model));
  const modelIsFile = modelFlag !== undefined && looksLikeModelFile(modelFlag, input);
  const deploymentFlag = unalias(str(flags.deployment)) ?? (modelIsFile ? undefined : modelFlag);
  const useDeploymentFlag = (): string | undefined => {
    used.deployment = { name: str(flags.deployment) !== undefined ? '--deployment' : '--model', from: 'flag' };
    return deploymentFlag;
  };
  // The user file's default model: a name (or alias) when a remote target answers, a
  // GGUF file for the local model; below every flag and variable.
  const userModel = unalias(input.user?.model);
  const userModelIsFile = userModel !== undefined && looksLikeModelFile(userModel, input);
  const userDeployment = (): string | undefined => {
    if (userModel === undefined || userModelIsFile) return undefined;
    used.deployment = { name: 'model', from: 'user file' };
    return userModel;
  };
  const localModelPath = (): string | undefined => {
    const p = modelIsFile ? modelFlag : (raw('SLUICE_MODEL') ?? (userModelIsFile ? userModel : undefined));
    return p === undefined ? undefined : isAbsolute(p) ? p : resolve(input.cwd, p);
  };
  const local = (implicit: boolean): ResolvedConfig => ({
    target: { kind: 'local', modelPath: localModelPath(), threads, implicit },
    secrets: collectSecrets(input),
    names,
    used: {
      ...(used.profile ? { profile: used.profile } : {}),
      ...(used.alias !== undefined && modelIsFile ? { alias: used.alias } : {}),
    },
    profile: profileFlag?.toUpperCase(),
  });

  if (flags.local === true || modelIsFile) {
    if (str(flags.endpoint) || str(flags['base-url'])) {
      throw new UsageError(
        `${flags.local === true ? '--local' : '--model with a GGUF file'} runs the local model; drop --endpoint/--base-url`,
        { setting: flags.local === true ? '--local' : '--model' },
      );
    }
    return local(false);
  }

  const baseURLFlag = str(flags['base-url']);
  const endpoint = baseURLFlag === undefined ? pick('endpoint', 'endpoint', ['AZURE_OPENAI_ENDPOINT']) : undefined;
  const apiVersion =
    pick('apiVersion', 'api-version', ['OPENAI_API_VERSION', 'AZURE_OPENAI_API_VERSION']) ??
    (suffix === '' ? undefined : pickUnsuffixed('apiVersion', ['OPENAI_API_VERSION', 'AZURE_OPENAI_API_VERSION']));
  if (apiVersion !== undefined && !/^[\w.-]+$/.test(apiVersion)) {
    throw new UsageError(`--api-version must look like 2024-10-21 or 2025-04-01-preview, got ${shown(apiVersion)}`, {
      setting: '--api-version',
    });
  }

  if (endpoint !== undefined) {
    const url = parseUrl(endpoint, used.endpoint?.name ?? names.endpoint);
    // A pasted v1 base (https://x.openai.azure.com/openai/v1) selects the v1 route.
    const v1 = /\/openai\/v1\/?$/.test(url.pathname);
    const base = v1 ? url.href.replace(/\/openai\/v1\/?$/, '') : url.href.replace(/\/+$/, '');
    const deployment =
      deploymentFlag !== undefined
        ? useDeploymentFlag()
        : (pick('deployment', undefined, ['AZURE_OPENAI_DEPLOYMENT', 'AZURE_OPENAI_DEPLOYMENT_NAME']) ??
          userDeployment() ??
          (input.modelOptional ? '' : undefined));
    if (deployment === undefined) {
      throw new UsageError(
        `No deployment for ${base}: set ${names.deployment} (or ${names.deploymentName}), or pass --deployment NAME`,
        { setting: names.deployment },
      );
    }
    const apiKey = pick('key', undefined, ['AZURE_OPENAI_API_KEY']);
    if (apiKey === undefined && !isLoopback(url)) {
      throw new UsageError(`No key for ${base}: set ${names.apiKey} (in the environment or .env)`, {
        setting: names.apiKey,
      });
    }
    return {
      target: { kind: 'azure', endpoint: base, route: v1 ? 'v1' : 'deployments', apiKey, deployment, apiVersion },
      secrets: collectSecrets(input),
      names,
      used,
      profile: profileFlag?.toUpperCase(),
    };
  }

  const baseURL = pick('endpoint', 'base-url', ['OPENAI_BASE_URL']);
  const openaiKey = pick('key', undefined, ['OPENAI_API_KEY']);
  if (baseURL !== undefined || openaiKey !== undefined) {
    const resolvedBase = baseURL ?? 'https://api.openai.com/v1';
    const url = parseUrl(resolvedBase, used.endpoint?.name ?? names.baseURL);
    const model =
      deploymentFlag !== undefined
        ? useDeploymentFlag()
        : (pick('deployment', undefined, ['OPENAI_MODEL']) ??
          userDeployment() ??
          (input.modelOptional ? '' : undefined));
    if (model === undefined) {
      throw new UsageError(
        `No model for ${url.href.replace(/\/+$/, '')}: pass --model NAME (or set ${names.openaiModel})`,
        { setting: '--model' },
      );
    }
    if (openaiKey === undefined && baseURL === undefined) {
      throw new UsageError(`No key for the OpenAI API: set ${names.openaiKey}`, { setting: names.openaiKey });
    }
    return {
      target: { kind: 'openai', baseURL: url.href.replace(/\/+$/, ''), apiKey: openaiKey, model },
      secrets: collectSecrets(input),
      names,
      used,
      profile: profileFlag?.toUpperCase(),
    };
  }

  // Half an Azure configuration is a mistake worth naming, not a reason to go local.
  const stray = ['AZURE_OPENAI_API_KEY', 'AZURE_OPENAI_DEPLOYMENT', 'AZURE_OPENAI_DEPLOYMENT_NAME'].find(
    (n) => get(n) !== undefined,
  );
  if (stray !== undefined) {
    throw new UsageError(`${stray}${suffix} is set but ${names.endpoint} is not: set it, or pass --endpoint URL`, {
      setting: names.endpoint,
    });
  }
  if (profileFlag !== undefined) {
    throw new UsageError(
      `Profile ${quote(profileFlag)} has no settings: set ${names.endpoint}, ${names.apiKey} and ${names.deploymentName} (or ${names.baseURL}, ${names.openaiKey} and ${names.openaiModel})`,
      { setting: '--profile' },
    );
  }
  if (deploymentFlag !== undefined) {
    throw new UsageError(
      `${str(flags.deployment) !== undefined ? '--deployment' : '--model'} ${quote(deploymentFlag)} needs an endpoint: set ${names.endpoint} or ${names.baseURL} (a local model needs a .gguf path)`,
      { setting: '--model' },
    );
  }
  return local(true);
}

/** How messages name each source of a setting. */
export const SOURCE_WORDS: Readonly<Record<SettingSource, string>> = {
  flag: 'the command line',
  environment: 'the environment',
  '.env': '.env',
  'user keys': 'your stored keys (sluice keys)',
  'user file': 'your settings file',
  default: 'the default',
};

/** The one line printed when nothing is configured and the local model answers. */
export function localNotice(): string {
  return (
    'sluice: no Azure OpenAI settings found, so the embedded local model answers. ' +
    'To use Azure, set AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and AZURE_OPENAI_DEPLOYMENT ' +
    '(environment or .env) or pass --profile NAME; --local hides this note.'
  );
}

/**
 * One line for stderr when the endpoint and the key come from different places and one of
 * them is the `.env` file in the working directory: a `.env` that sets only the endpoint
 * would otherwise send the shell's key there without a word. Names the settings, never a
 * value but the endpoint. Undefined when both come from the same place, or no key is sent.
 * @example
 * sourceNotice(config) // 'sluice: note: the endpoint (AZURE_OPENAI_ENDPOINT) comes from .env ...'
 */
export function sourceNotice(config: ResolvedConfig): string | undefined {
  const { endpoint, key } = config.used;
  const t = config.target;
  if (endpoint === undefined || key === undefined || t.kind === 'local') return undefined;
  if (endpoint.from === key.from || (endpoint.from !== '.env' && key.from !== '.env')) return undefined;
  const where = (s: UsedSetting) => SOURCE_WORDS[s.from];
  const url = t.kind === 'azure' ? t.endpoint : t.baseURL;
  return (
    `sluice: note: the endpoint (${endpoint.name}) comes from ${where(endpoint)} but the key (${key.name}) from ${where(key)}; ` +
    `the key is sent to ${url}. If that is not meant, set both in one place.`
  );
}

// --- internal ---

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

/**
 * A rejected setting's value as an error may show it: short values quoted; anything longer
 * only by its first characters and length, since a value in the wrong place is often a key
 * (endpoint and key swapped, `OPENAI_BASE_URL=sk-...`).
 */
function shown(value: string): string {
  if (value.length <= 12 && !looksLikeKey(value)) return quote(value);
  return `${quote(`${value.slice(0, 3)}…`)} (${value.length} characters, not shown: is it a key in the wrong place?)`;
}

/** Long unbroken runs of letters and digits, or a known key prefix, are treated as keys. */
function looksLikeKey(value: string): boolean {
  return /^(sk-|pk-|Bearer\s)/.test(value) || /[A-Za-z0-9_-]{20,}/.test(value);
}

function looksLikeModelFile(value: string, input: ConfigInput): boolean {
  if (/\.gguf$/i.test(value)) return true;
  // A deployment name never contains a path separator; an existing file is a model.
  if (!/[/\\]/.test(value) && !value.startsWith('.')) return false;
  return input.fileExists(isAbsolute(value) ? value : resolve(input.cwd, value));
}

function readThreads(flag: string | undefined, env: string | undefined): number | undefined {
  const value = flag ?? env;
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 256) {
    throw new UsageError(
      `${flag !== undefined ? '--threads' : 'SLUICE_THREADS'} must be an integer from 1 to 256, got ${shown(value)}`,
      { setting: flag !== undefined ? '--threads' : 'SLUICE_THREADS' },
    );
  }
  return n;
}

function parseUrl(value: string, setting: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${setting} must be a URL such as https://x.openai.azure.com, got ${shown(value)}`, {
      setting,
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${setting} must be an http(s) URL, got ${shown(value)}`, { setting });
  }
  if (url.username || url.password) {
    throw new UsageError(`${setting} must not contain credentials; put the key in its own setting`, { setting });
  }
  return url;
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\./.test(url.hostname);
}

/**
 * Every key-like value we can see, so error output can be scrubbed of all of them: values
 * of key-named variables, and key-shaped values of the endpoint variables (a key pasted into
 * the endpoint's place must not be printed either; deployment names stay printable).
 */
function collectSecrets(input: ConfigInput): string[] {
  const out = new Set<string>();
  for (const value of Object.values(input.storedKeys ?? {})) if (value.trim() !== '') out.add(value.trim());
  for (const source of [input.env, input.dotenv]) {
    for (const [k, v] of Object.entries(source)) {
      if (!v || v.trim().length < 6) continue;
      const value = v.trim();
      if (/(KEY|TOKEN|SECRET|PASSWORD)/i.test(k)) out.add(value);
      else if (
        /^(AZURE_OPENAI_ENDPOINT|OPENAI_BASE_URL)/.test(k) &&
        !/^https?:\/\//.test(value) &&
        looksLikeKey(value)
      ) {
        out.add(value);
      }
    }
  }
  return [...out];
}
