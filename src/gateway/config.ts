// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the configuration file's own syntax
/**
 * Reading the gateway's YAML file: parse (keeping positions), interpolate `${NAME}` from
 * the environment and `.env`, validate (schema.ts), and report every problem as
 * `file:line:column: what is wrong` at once. A file with any problem is refused whole:
 * nothing is returned, so nothing is half-applied. No message contains a value from the
 * file or the environment (a value in the wrong place is often a key).
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Document, isMap, isNode, isPair, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { isUnsafeKey } from '../protocol/safe-keys.js';
import { redactSecrets } from '../protocol/secrets.js';
import { readDotEnv } from '../util/dotenv.js';
import { closest, flagSlack } from '../util/near-miss.js';
import { interpolate } from './interpolate.js';
import {
  type GatewayConfig,
  gatewayConfigSchema,
  kindsOf,
  knownKeysAt,
  MODEL_SHAPE_MESSAGE,
  valueAt,
} from './schema.js';

export type {
  AzureTargetConfig,
  BreakerConfig,
  GatewayConfig,
  LocalTargetConfig,
  ModelConfig,
  OpenAITargetConfig,
  RoutingConfig,
  ServerConfig,
  TargetConfig,
  TargetKind,
  TargetRouting,
  TelemetryConfig,
} from './schema.js';

/** One thing wrong with the file, where it is. Lines and columns count from 1. */
export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

/**
 * The file was refused. `problems` lists everything found (not only the first); the message
 * is one `file:line:column: …` line per problem.
 */
export class GatewayConfigError extends ConfigError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'), 'config');
    this.problems = problems;
  }
}

/** Where variables come from: the real environment first, then `.env` (never overriding it). */
export interface ConfigSources {
  env: Readonly<Record<string, string | undefined>>;
  dotenv?: Readonly<Record<string, string | undefined>>;
}

/** A validated configuration, and what must never be printed. */
export interface LoadedGatewayConfig {
  config: GatewayConfig;
  /** The file it came from (absolute). */
  file: string;
  /** The file as the user named it, for messages. */
  shownAs: string;
  /** Every value that came from a variable, and every `api_key`: keep them out of output. */
  secrets: string[];
}

/**
 * `file:line:column: message`.
 * @example
 * formatProblem({ file: 'sluice.yaml', line: 3, column: 7, message: 'unknown key "wieght"' })
 * // 'sluice.yaml:3:7: unknown key "wieght"'
 */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/**
 * Reads, interpolates and validates a gateway configuration file; `.env` is read from
 * `cwd` (the CLI's reader and rules). Relative `local:` model paths are taken from the
 * file's directory. Throws GatewayConfigError listing every problem.
 *
 * @example
 * const { config } = loadGatewayConfig('sluice.yaml', { env: process.env, cwd: process.cwd() });
 * Object.keys(config.models) // ['gpt-4o', 'story']
 */
export function loadGatewayConfig(
  path: string,
  options: { env: Readonly<Record<string, string | undefined>>; cwd: string },
): LoadedGatewayConfig {
  const file = isAbsolute(path) ? path : resolve(options.cwd, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : 'cannot be read';
    throw new ConfigError(
      `${path}: ${why}; pass --config with the path of a YAML file (or set SLUICE_CONFIG)`,
      'config',
    );
  }
  return parseGatewayConfig(text, {
    file,
    shownAs: path,
    env: options.env,
    dotenv: readDotEnv(options.cwd),
  });
}

/**
 * Validates configuration text. `shownAs` is the file name used in messages (default
 * `file`). Pure except for checking that `local:` model files exist.
 *
 * @example
 * parseGatewayConfig('models:\n  story:\n    - local: true\n', { file: '/x/sluice.yaml', env: {} })
 *   .config.models.story.targets[0].kind // 'local'
 */
export function parseGatewayConfig(
  text: string,
  options: ConfigSources & { file: string; shownAs?: string },
): LoadedGatewayConfig {
  const shownAs = options.shownAs ?? options.file;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const secrets = new Set<string>();
  const problems: ConfigProblem[] = [];
  const at = (offset: number | undefined, message: string) => {
    const { line, col } = lines.linePos(offset ?? 0);
    problems.push({ file: shownAs, line, column: col, message });
  };
  const refuse = () => {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new GatewayConfigError(
      problems.map((p) => ({ ...p, message: redactSecrets(p.message, [...secrets, ...literalKeys(doc)]) })),
    );
  };

  // The first syntax error only: the ones after it are mostly its echoes.
  const syntax = [...doc.errors, ...doc.warnings].sort((a, b) => a.pos[0] - b.pos[0]);
  const first = syntax[0];
  if (first !== undefined) {
    const more = syntax.length > 1 ? ` (${syntax.length - 1} more problem(s) after this one may be its echoes)` : '';
    at(first.pos[0], `${yamlMessage(first.code, first.message, lineAt(text, first.pos[0]))}${more}`);
    refuse();
  }

  const lookup = (name: string) => {
    const value = options.env[name];
    return value !== undefined && value !== '' ? value : options.dotenv?.[name];
  };
  visit(doc, {
    Pair(_, pair) {
      // toJS would turn `__proto__:` into a prototype, not a key: name it instead.
      if (isScalar(pair.key) && typeof pair.key.value === 'string' && isUnsafeKey(pair.key.value)) {
        at(pair.key.range?.[0], `"${pair.key.value}" cannot be a key or a name here: rename it`);
      }
    },
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string') return;
      const result = interpolate(node.value, lookup);
      if (result.ok) {
        for (const name of result.used) {
          const value = lookup(name);
          if (value !== undefined) secrets.add(value);
        }
        node.value = result.text;
        return;
      }
      for (const name of result.missing) {
        at(node.range?.[0], `\${${name}} is not set: set ${name} in the environment or in .env`);
      }
      if (result.invalid.length > 0) {
        at(
          node.range?.[0],
          '"${" starts a variable reference such as ${AZURE_API_KEY}; write "$${" for a literal "${"',
        );
      }
      // Validation still runs, so every problem shows at once; this value's is reported already.
      node.value = UNRESOLVED;
    },
  });

  let raw: unknown;
  try {
    // The alias cap keeps a "billion laughs" file from expanding without bound.
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    at(0, `cannot be read as YAML: ${error instanceof Error ? error.message : 'unknown error'}`);
    refuse();
  }
  if (raw === null || raw === undefined) {
    at(0, 'the file is empty: it needs a `models:` mapping of names to targets (see docs/gateway.md)');
    refuse();
  }

  const result = gatewayConfigSchema.safeParse(raw);
  if (!result.success) {
    const bareTargets = new Set<string>();
    for (const issue of result.error.issues) {
      const name = issue.path[0] === 'models' ? issue.path[1] : undefined;
      if (typeof name === 'string' && isBareTarget(valueAt(raw, ['models', name]))) {
        // One target written without its list dash: one clear problem, not one per key.
        if (!bareTargets.has(name)) {
          bareTargets.add(name);
          at(
            nodeAt(doc, ['models', name])?.range?.[0],
            `models.${name} is one target, but targets come in a list: put "- " before its first key`,
          );
        }
        continue;
      }
      report(issue, doc, raw, at);
    }
  }
  if (!result.success || problems.length > 0) refuse();
  const config = (result as { data: GatewayConfig }).data;

  // Local model files: relative to the file's directory, and they must exist now.
  const base = dirname(options.file);
  for (const [name, model] of Object.entries(config.models)) {
    model.targets.forEach((target, index) => {
      if (target.kind !== 'local' || target.modelPath === undefined) return;
      target.modelPath = isAbsolute(target.modelPath) ? target.modelPath : resolve(base, target.modelPath);
      if (!existsSync(target.modelPath)) {
        const node = nodeAt(doc, [...targetPath(raw, name, index), 'local']);
        at(
          node?.range?.[0],
          `local: no model file at ${target.modelPath}: fix the path (a relative one starts at this file's directory), or write local: true for the embedded model`,
        );
      }
    });
  }
  if (problems.length > 0) refuse();

  for (const model of Object.values(config.models)) {
    for (const target of model.targets) if ('apiKey' in target && target.apiKey) secrets.add(target.apiKey);
  }
  if (config.server.apiKey) secrets.add(config.server.apiKey);
  return { config, file: options.file, shownAs, secrets: [...secrets] };
}

// --- internal ---

/** Stands for a value whose `${NAME}` could not be resolved (already reported). */
const UNRESOLVED = '\u0000unresolved\u0000';

type ZodIssue = z.core.$ZodIssue;

/** One zod issue as problems at their positions (an unknown-keys issue: one per key). */
function report(
  issue: ZodIssue,
  doc: Document,
  raw: unknown,
  at: (offset: number | undefined, message: string) => void,
): void {
  const path = yamlPath(raw, issue.path);
  if (issue.code === 'unrecognized_keys') {
    const map = nodeAt(doc, path);
    const known = knownKeysAt(path, raw);
    for (const key of issue.keys) {
      if (isUnsafeKey(key)) continue; // reported while reading the file
      const pair = isMap(map) ? map.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key) : undefined;
      // `idle` for `idle_ms`: a unit left out is the likeliest slip after a typo.
      const near = closest(key, known, flagSlack(key)) ?? known.find((k) => k === `${key}_ms`);
      const hint =
        near !== undefined ? `; did you mean "${near}"?` : known.length > 0 ? ` (known: ${known.join(', ')})` : '';
      at(keyOffset(pair) ?? map?.range?.[0], `unknown key "${key}"${where(path)}${hint}`);
    }
    return;
  }
  const value = valueAt(raw, path);
  if (value === UNRESOLVED) return;
  if (value === undefined && path.length > 0) {
    // A missing key is reported on the mapping that should hold it.
    const parent = path.slice(0, -1);
    at(nodeAt(doc, parent)?.range?.[0], `missing "${String(path.at(-1))}"${where(parent)}`);
    return;
  }
  at(nodeAt(doc, path)?.range?.[0], `${label(path)}: ${issueWords(issue, value, path)}`);
}

/** A mapping with a target's kind key and no `targets:`: a target missing its list dash. */
function isBareTarget(value: unknown): boolean {
  return kindsOf(value).length > 0 && !Object.hasOwn(value as object, 'targets');
}

/** zod's path with the `targets` step taken out where the file has a bare list. */
function yamlPath(raw: unknown, path: readonly PropertyKey[]): PropertyKey[] {
  if (path[0] === 'models' && path[2] === 'targets' && Array.isArray(valueAt(raw, path.slice(0, 2)))) {
    return [...path.slice(0, 2), ...path.slice(3)];
  }
  return [...path];
}

function targetPath(raw: unknown, name: string, index: number): PropertyKey[] {
  return yamlPath(raw, ['models', name, 'targets', index]);
}

function nodeAt(doc: Document, path: readonly PropertyKey[]): { range?: [number, number, number] | null } | undefined {
  const node = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  return isNode(node) ? node : undefined;
}

function keyOffset(pair: unknown): number | undefined {
  return isPair(pair) && isNode(pair.key) ? (pair.key.range?.[0] ?? undefined) : undefined;
}

/** `models.gpt-4o[0].weight`, or `the file` for the top. */
function label(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'the file';
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

function where(path: readonly PropertyKey[]): string {
  return path.length === 0 ? ' at the top level' : ` in ${label(path)}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

/** What is wrong, in words, naming no value. */
function issueWords(issue: ZodIssue, value: unknown, path: readonly PropertyKey[]): string {
  const own = issue.message;
  // Messages written in schema.ts are used as they are; zod's defaults are reworded.
  if (!/^(Invalid|Too (small|big)|Unrecognized|Expected)/.test(own)) return own;
  switch (issue.code) {
    case 'invalid_type':
      if (path[0] === 'models' && path.length === 2) return MODEL_SHAPE_MESSAGE;
      return `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}, not ${kindOfValue(value)}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `needs at least ${issue.minimum} item(s)`;
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    case 'invalid_value':
      return `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'invalid_format':
      return `is not in the expected format (${issue.format})`;
    default:
      return 'is not valid here (see docs/gateway.md)';
  }
}

function kindOfValue(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'object') return 'a mapping';
  return TYPE_WORDS[typeof value] ?? typeof value;
}

/** The source line holding `offset`. */
function lineAt(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', offset);
  return text.slice(start, end === -1 ? text.length : end);
}

/**
 * yaml's own message, made to say what to do for the common cases (never quoting the line:
 * the caller redacts what yaml itself quotes).
 */
function yamlMessage(code: string, message: string, line: string): string {
  // `{ api_key: ${KEY} }`: in a flow mapping `{` and `}` end a plain value, so quote it.
  if (/\$\{/.test(line) && /[{[]/.test(line.replace(/\$\{[^}]*\}/g, ''))) {
    return 'not valid YAML: a ${NAME} inside { … } or [ … ] must be quoted: write "${NAME}"';
  }
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'this key appears twice in the same mapping: keep one';
    case 'MULTIPLE_DOCS':
      return 'the file holds more than one YAML document ("---"): keep one';
    case 'TAG_RESOLVE_FAILED':
      return 'unknown YAML tag: remove it (the configuration uses plain values only)';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
      return `not valid YAML: ${message.replace(/\s+/g, ' ')}; check the indentation and brackets here`;
    default:
      return `not valid YAML: ${message.replace(/\s+/g, ' ')}`;
  }
}

/** `api_key:` values written in the file itself, to keep them out of messages too. */
function literalKeys(doc: Document): string[] {
  const out: string[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'api_key' && isScalar(pair.value)) {
        const v = pair.value.value;
        if (typeof v === 'string' && v !== '' && !v.includes('${')) out.push(v);
      }
    },
  });
  return out;
}
