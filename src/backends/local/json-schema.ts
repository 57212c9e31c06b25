/**
 * Turns a JSON Schema from a request (a tool's `parameters`, a `response_format` schema) into
 * the subset node-llama-cpp compiles to a grammar, so that every value the model can write
 * matches the schema the client sent. What the grammar cannot enforce is refused with a 400
 * naming the keyword's path; what only annotates is dropped; nothing is silently loosened.
 *
 * Rules (docs/backends.md, "Tool calls and structured output"):
 * - kept: `type` (one or several), `properties`, `additionalProperties`, `items`,
 *   `prefixItems`, `minItems`/`maxItems`, `minLength`/`maxLength`, `minProperties`/
 *   `maxProperties`, `enum` and `const` of plain values, `anyOf`/`oneOf` (generated as one
 *   branch), `$ref` to `#/$defs/…` or `#/definitions/…`, `format` date-time/date/time.
 * - every declared property is written (node-llama-cpp's rule); that satisfies any `required`.
 * - a string without `maxLength` is written with at most {@link STRING_MAX_LENGTH} characters
 *   (a story model rarely closes a quote by itself); integers have at most 15 digits and no
 *   exponent (grammar text fixed by {@link tightenGrammar}), so they are safe integers.
 * - no extra properties are written unless `additionalProperties` allows them.
 * - a schema without `type` (`{}`) stands for any JSON value.
 * - refused: `pattern`, numeric bounds, `multipleOf`, `allOf`, `not`, `if`, `uniqueItems`,
 *   `contains`, `patternProperties`, `propertyNames`, `dependent*`, `unevaluated*`, other refs.
 *   Exception: integer bounds at ±(2^53 − 1) (zod's mark for `.int()`) are accepted.
 * - dropped: `description`, `title`, `default`, `examples`, `$schema`, `$id`, `$comment`,
 *   `required`, `strict`, other formats (an annotation by JSON Schema's rules) and unknown keywords.
 * @module
 */
import { badRequest } from './bad-request.js';

/** A schema in node-llama-cpp's subset (its `GbnfJsonSchema`), as plain JSON. */
export type GrammarSchema = { readonly [key: string]: unknown };

/** The longest string written where the schema sets no `maxLength`. */
export const STRING_MAX_LENGTH = 64;

/** Nesting deeper than this is refused: a hostile schema must not exhaust the stack. */
export const MAX_SCHEMA_DEPTH = 32;

/**
 * Normalises `schema` for `llama.createGrammarForJsonSchema`, or throws a BadRequestError
 * naming `param` and the path to the keyword at fault.
 *
 * @example
 * ```ts
 * grammarSchema({ type: 'object', properties: { city: { type: 'string', description: 'x' } }, required: ['city'] }, 'tools[0].function.parameters');
 * // { type: 'object', properties: { city: { type: 'string' } } }
 * grammarSchema({ type: 'string', pattern: '^a' }, 'response_format.json_schema.schema'); // throws: 400 naming ….pattern
 * ```
 */
export function grammarSchema(schema: unknown, param: string): GrammarSchema {
  if (!isObject(schema)) throw badRequest(param, `'${param}' must be a JSON Schema object.`);
  const defs: Array<[string, GrammarSchema]> = [];
  const root = normalise(schema, param, 0, defs, collectDefs(schema, param));
  if (defs.length === 0) return root;
  return { ...root, $defs: Object.fromEntries(defs) };
}

/**
 * Fixes node-llama-cpp's (3.21) GBNF for JSON: its integers may carry an exponent (`-5e-100`
 * is no integer) and 16 digits (beyond 2^53); here they have at most 15 digits and no
 * exponent. Its values end with four required newlines: dropped, so the model must stop.
 *
 * @example
 * tightenGrammar('integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15}) ([eE] …)?'); // 'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,14})'
 */
export function tightenGrammar(gbnf: string): string {
  return gbnf
    .replace(/^integer-number-rule ::= .*$/m, 'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,14})')
    .replace(/^(root ::= .*?) "\\n\\n\\n\\n" \[\\n\]\*$/m, '$1');
}

/** A schema whose values are objects: tool parameters and `response_format` roots must be. */
export function isObjectSchema(schema: GrammarSchema): boolean {
  return schema.type === 'object';
}

// --- internal ---

type Obj = Record<string, unknown>;

const ANY_VALUE: GrammarSchema = {
  oneOf: [
    { type: ['string', 'number', 'boolean', 'null'] },
    { type: 'object', additionalProperties: true },
    { type: 'array' },
  ],
};

/** Keywords that constrain values in ways the grammar cannot: refused, not ignored. */
const UNENFORCEABLE = [
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  'uniqueItems',
  'contains',
  'minContains',
  'maxContains',
  'patternProperties',
  'propertyNames',
  'dependentRequired',
  'dependentSchemas',
  'dependencies',
  'unevaluatedProperties',
  'unevaluatedItems',
];

const FORMATS = new Set(['date-time', 'date', 'time']);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);
const DEF_PREFIXES = ['#/$defs/', '#/definitions/'];
const SAFE = Number.MAX_SAFE_INTEGER;

/** Root `$defs` / `definitions` (raw), checked later when referenced. */
function collectDefs(schema: Obj, param: string): Map<string, { raw: unknown; path: string }> {
  const found = new Map<string, { raw: unknown; path: string }>();
  for (const key of ['$defs', 'definitions']) {
    const defs = schema[key];
    if (defs === undefined) continue;
    if (!isObject(defs)) throw badRequest(`${param}.${key}`, `'${param}.${key}' must be an object.`);
    for (const [name, raw] of Object.entries(defs)) found.set(name, { raw, path: `${param}.${key}.${name}` });
  }
  return found;
}

function normalise(
  schema: unknown,
  path: string,
  depth: number,
  out: Array<[string, GrammarSchema]>,
  defs: Map<string, { raw: unknown; path: string }>,
): GrammarSchema {
  if (depth > MAX_SCHEMA_DEPTH) throw badRequest(path, `'${path}' nests deeper than ${MAX_SCHEMA_DEPTH} levels.`);
  if (schema === true) return ANY_VALUE;
  if (!isObject(schema)) throw badRequest(path, `'${path}' must be a JSON Schema object.`);
  const next = (value: unknown, at: string) => normalise(value, at, depth + 1, out, defs);

  for (const key of UNENFORCEABLE) {
    if (schema[key] === undefined) continue;
    if (isSafeIntegerBound(schema, key)) continue;
    throw badRequest(
      `${path}.${key}`,
      `Unsupported schema keyword '${key}' at '${path}': the local model's grammar cannot enforce it. Remove it (describe the rule in 'description' instead), or use a deployment that supports it.`,
    );
  }

  if (typeof schema.$ref === 'string') {
    const ref = schema.$ref;
    const prefix = DEF_PREFIXES.find((p) => ref.startsWith(p));
    const name = prefix ? ref.slice(prefix.length) : undefined;
    const def = name === undefined ? undefined : defs.get(name);
    if (name === undefined || !def) {
      throw badRequest(
        `${path}.$ref`,
        `'${path}.$ref' must point to a definition under '#/$defs/' of the root schema.`,
      );
    }
    if (!out.some(([n]) => n === name)) {
      out.push([name, ANY_VALUE]); // placeholder first: recursive references end here
      const index = out.findIndex(([n]) => n === name);
      out[index] = [name, next(def.raw, def.path)];
    }
    return { $ref: `#/$defs/${name}` };
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined) {
    const key = schema.anyOf !== undefined ? 'anyOf' : 'oneOf';
    if (!Array.isArray(alternatives) || alternatives.length === 0) {
      throw badRequest(`${path}.${key}`, `'${path}.${key}' must be a non-empty array of schemas.`);
    }
    return { oneOf: alternatives.map((alt, i) => next(alt, `${path}.${key}[${i}]`)) };
  }
  if (schema.const !== undefined) return { const: literal(schema.const, `${path}.const`) };
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum) || schema.enum.length === 0) {
      throw badRequest(`${path}.enum`, `'${path}.enum' must be a non-empty array.`);
    }
    return { enum: schema.enum.map((v, i) => literal(v, `${path}.enum[${i}]`)) };
  }

  const type = schema.type;
  if (type === undefined) return ANY_VALUE;
  const types = Array.isArray(type) ? type : [type];
  if (types.length === 0 || !types.every((t): t is string => typeof t === 'string' && TYPES.has(t))) {
    throw badRequest(`${path}.type`, `'${path}.type' must be one of ${[...TYPES].join(', ')}, or an array of them.`);
  }
  const branches = [...new Set(types)].map((t) => single(schema, t, path, next));
  return branches.length === 1 ? (branches[0] as GrammarSchema) : { oneOf: branches };
}

/** One `type`, with the keywords that apply to it. */
function single(
  schema: Obj,
  type: string,
  path: string,
  next: (value: unknown, at: string) => GrammarSchema,
): GrammarSchema {
  if (type === 'object') {
    const out: Obj = { type };
    const properties = schema.properties;
    if (properties !== undefined) {
      if (!isObject(properties)) throw badRequest(`${path}.properties`, `'${path}.properties' must be an object.`);
      // fromEntries defines own properties: a property named __proto__ stays a property.
      out.properties = Object.fromEntries(
        Object.entries(properties).map(([name, value]) => [name, next(value, `${path}.properties.${name}`)]),
      );
    }
    const additional = schema.additionalProperties;
    if (additional === true) out.additionalProperties = true;
    else if (isObject(additional)) out.additionalProperties = next(additional, `${path}.additionalProperties`);
    copyCounts(schema, out, ['minProperties', 'maxProperties'], path);
    return out;
  }
  if (type === 'array') {
    const out: Obj = { type };
    if (schema.items !== undefined && schema.items !== true) out.items = next(schema.items, `${path}.items`);
    if (schema.prefixItems !== undefined) {
      if (!Array.isArray(schema.prefixItems))
        throw badRequest(`${path}.prefixItems`, `'${path}.prefixItems' must be an array.`);
      out.prefixItems = schema.prefixItems.map((item, i) => next(item, `${path}.prefixItems[${i}]`));
    }
    copyCounts(schema, out, ['minItems', 'maxItems'], path);
    return out;
  }
  if (type === 'string') {
    if (typeof schema.format === 'string' && FORMATS.has(schema.format)) return { type, format: schema.format };
    const out: Obj = { type };
    copyCounts(schema, out, ['minLength', 'maxLength'], path);
    out.maxLength ??= Math.max(STRING_MAX_LENGTH, (out.minLength as number | undefined) ?? 0);
    return out;
  }
  return { type };
}

function copyCounts(schema: Obj, out: Obj, keys: readonly string[], path: string): void {
  for (const key of keys) {
    const v = schema[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw badRequest(`${path}.${key}`, `'${path}.${key}' must be a non-negative integer.`);
    }
    out[key] = v;
  }
}

/** zod writes `.int()` as an integer between ±(2^53 − 1): no constraint a JSON number of the grammar's size breaks in practice. */
function isSafeIntegerBound(schema: Obj, key: string): boolean {
  if (schema.type !== 'integer') return false;
  return (key === 'minimum' && schema[key] === -SAFE) || (key === 'maximum' && schema[key] === SAFE);
}

function literal(value: unknown, path: string): string | number | boolean | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw badRequest(path, `'${path}' must be a string, number, boolean or null (the grammar writes only plain values).`);
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
