/**
 * What a chat request asks the local model to write: plain text, JSON matching a schema
 * (`response_format`), or a tool call (`tools` + `tool_choice`). Read once from the body,
 * before any slot is taken; a malformed tool, an unknown `tool_choice` name or a schema the
 * grammar cannot enforce is a 400 naming the parameter.
 * @module
 */
import { badRequest } from './bad-request.js';
import { type GrammarSchema, grammarSchema, isObjectSchema } from './json-schema.js';

export interface ToolFunction {
  name: string;
  /** The `parameters` schema in the grammar's subset (always an object schema). */
  schema: GrammarSchema;
  /** Parameter names, for the prompt. */
  parameterNames: string[];
}

export type OutputPlan =
  | { kind: 'text' }
  /** `response_format` json_object / json_schema: content constrained to this schema. */
  | { kind: 'json'; schema: GrammarSchema }
  | {
      kind: 'tools';
      functions: ToolFunction[];
      /**
       * `auto`: the model chooses between text and a call; `required`: a call to any of
       * `functions`; a name: a call to that function.
       */
      choice: 'auto' | 'required' | { name: string };
      /** What a text answer is constrained to (`response_format`), under `auto`. */
      text: { kind: 'text' } | { kind: 'json'; schema: GrammarSchema };
    };

/** OpenAI's rule for function names. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Any JSON object: `json_object`'s schema. */
const ANY_OBJECT: GrammarSchema = { type: 'object', additionalProperties: true };

/**
 * @example
 * ```ts
 * const body = { messages, tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }], tool_choice: 'required' };
 * planOutput(body).kind; // 'tools'
 * ```
 */
export function planOutput(body: Record<string, unknown>): OutputPlan {
  const text = planResponseFormat(body.response_format);
  const tools = body.tools;
  const choice = body.tool_choice;
  if (tools === undefined || tools === null || (Array.isArray(tools) && tools.length === 0)) {
    if (choice === 'required' || isObject(choice)) {
      throw badRequest(
        'tool_choice',
        "'tool_choice' asks for a tool call but no 'tools' were given. Add 'tools', or remove 'tool_choice'.",
      );
    }
    return text;
  }
  if (!Array.isArray(tools)) throw badRequest('tools', "'tools' must be an array of function tools.");
  const functions = tools.map((tool, i) => planTool(tool, `tools[${i}]`));
  const names = new Set<string>();
  for (const [i, f] of functions.entries()) {
    if (names.has(f.name))
      throw badRequest(`tools[${i}].function.name`, `Two tools are named '${f.name}'; tool names must be unique.`);
    names.add(f.name);
  }
  if (choice === undefined || choice === null || choice === 'auto')
    return { kind: 'tools', functions, choice: 'auto', text };
  if (choice === 'none') return text;
  if (choice === 'required') return { kind: 'tools', functions, choice: 'required', text };
  if (isObject(choice) && choice.type === 'function' && isObject(choice.function)) {
    const name = choice.function.name;
    if (typeof name === 'string' && names.has(name)) return { kind: 'tools', functions, choice: { name }, text };
    throw badRequest(
      'tool_choice.function.name',
      `'tool_choice' names a function that is not in 'tools' (${JSON.stringify(String(name).slice(0, 64))}). Name one of: ${[...names].join(', ')}.`,
    );
  }
  throw badRequest(
    'tool_choice',
    '\'tool_choice\' must be \'none\', \'auto\', \'required\' or {"type": "function", "function": {"name": …}}.',
  );
}

// --- internal ---

type Obj = Record<string, unknown>;

function planResponseFormat(format: unknown): { kind: 'text' } | { kind: 'json'; schema: GrammarSchema } {
  if (format === undefined || format === null) return { kind: 'text' };
  if (!isObject(format)) throw badRequest('response_format', "'response_format' must be an object.");
  if (format.type === 'text') return { kind: 'text' };
  if (format.type === 'json_object') return { kind: 'json', schema: ANY_OBJECT };
  if (format.type === 'json_schema') {
    const spec = format.json_schema;
    if (!isObject(spec))
      throw badRequest('response_format.json_schema', "'response_format.json_schema' must be an object.");
    if (typeof spec.name !== 'string' || !FUNCTION_NAME.test(spec.name)) {
      throw badRequest(
        'response_format.json_schema.name',
        "'response_format.json_schema.name' must be 1-64 letters, digits, underscores or dashes.",
      );
    }
    const param = 'response_format.json_schema.schema';
    if (spec.schema === undefined) return { kind: 'json', schema: ANY_OBJECT };
    const schema = grammarSchema(spec.schema, param);
    if (!isObjectSchema(schema)) throw badRequest(param, `'${param}' must describe an object ("type": "object").`);
    return { kind: 'json', schema };
  }
  throw badRequest(
    'response_format.type',
    `'response_format.type' must be 'text', 'json_object' or 'json_schema'; got ${JSON.stringify(String(format.type).slice(0, 32))}.`,
  );
}

function planTool(tool: unknown, at: string): ToolFunction {
  if (!isObject(tool)) throw badRequest(at, `'${at}' must be an object.`);
  if (tool.type !== 'function') {
    throw badRequest(`${at}.type`, `'${at}.type' must be 'function': the local model calls only function tools.`);
  }
  const fn = tool.function;
  if (!isObject(fn)) throw badRequest(`${at}.function`, `'${at}.function' must be an object.`);
  if (typeof fn.name !== 'string' || !FUNCTION_NAME.test(fn.name)) {
    throw badRequest(
      `${at}.function.name`,
      `'${at}.function.name' must be 1-64 letters, digits, underscores or dashes.`,
    );
  }
  const param = `${at}.function.parameters`;
  if (fn.parameters === undefined || fn.parameters === null) {
    return { name: fn.name, schema: { type: 'object', properties: {} }, parameterNames: [] };
  }
  const schema = grammarSchema(fn.parameters, param);
  if (!isObjectSchema(schema)) throw badRequest(param, `'${param}' must describe an object ("type": "object").`);
  const properties = isObject(schema.properties) ? Object.keys(schema.properties) : [];
  return { name: fn.name, schema, parameterNames: properties };
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
