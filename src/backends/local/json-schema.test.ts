import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { z } from 'zod';
import { BadRequestError } from '../../errors.js';
import { grammarSchema, MAX_SCHEMA_DEPTH, STRING_MAX_LENGTH, tightenGrammar } from './json-schema.js';
import { planOutput } from './output-plan.js';

function paramOf(fn: () => unknown): string | null | undefined {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.status, 400);
    return (error.body as { error: { param: string | null } }).error.param;
  }
  assert.fail('expected a BadRequestError');
}

describe('grammarSchema', () => {
  test("zod's strict schemas (openai/helpers/zod): annotations dropped, anyOf as oneOf, .int() bounds accepted", () => {
    const schema = z.toJSONSchema(
      z.strictObject({
        name: z.string().describe('who'),
        age: z.int(),
        nick: z.string().nullable(),
        kind: z.enum(['a', 'b']),
      }),
    );
    assert.deepEqual(grammarSchema(schema, 'p'), {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: STRING_MAX_LENGTH },
        age: { type: 'integer' },
        nick: { oneOf: [{ type: 'string', maxLength: STRING_MAX_LENGTH }, { type: 'null' }] },
        kind: { enum: ['a', 'b'] },
      },
    });
  });

  test('type arrays, formats, counts; {} and true are any JSON value', () => {
    assert.deepEqual(grammarSchema({ type: ['string', 'null'], minLength: 2 }, 'p'), {
      oneOf: [{ type: 'string', minLength: 2, maxLength: STRING_MAX_LENGTH }, { type: 'null' }],
    });
    assert.deepEqual(grammarSchema({ type: 'string', format: 'email', maxLength: 5 }, 'p'), {
      type: 'string',
      maxLength: 5,
    });
    assert.deepEqual(grammarSchema({ type: 'string', minLength: 100 }, 'p'), {
      type: 'string',
      minLength: 100,
      maxLength: 100,
    });
    assert.deepEqual(grammarSchema({ type: 'string', format: 'date' }, 'p'), { type: 'string', format: 'date' });
    assert.deepEqual(grammarSchema({ type: 'array', items: true, maxItems: 3 }, 'p'), { type: 'array', maxItems: 3 });
    const any = grammarSchema({}, 'p');
    assert.ok(Array.isArray(any.oneOf));
  });

  test('$ref to #/definitions or #/$defs becomes #/$defs at the root, recursion included', () => {
    const out = grammarSchema(
      {
        type: 'object',
        properties: { node: { $ref: '#/definitions/Node' } },
        definitions: {
          Node: { type: 'object', properties: { next: { anyOf: [{ $ref: '#/definitions/Node' }, { type: 'null' }] } } },
        },
      },
      'p',
    );
    assert.deepEqual(out.$defs, {
      Node: { type: 'object', properties: { next: { oneOf: [{ $ref: '#/$defs/Node' }, { type: 'null' }] } } },
    });
    assert.equal(
      paramOf(() => grammarSchema({ $ref: 'http://x/y' }, 'p')),
      'p.$ref',
    );
  });

  test('what the grammar cannot enforce is refused at its path', () => {
    assert.equal(
      paramOf(() => grammarSchema({ type: 'object', properties: { a: { type: 'string', pattern: 'x' } } }, 'p')),
      'p.properties.a.pattern',
    );
    assert.equal(
      paramOf(() => grammarSchema({ type: 'number', minimum: 0 }, 'p')),
      'p.minimum',
    );
    assert.equal(
      paramOf(() => grammarSchema({ type: 'integer', maximum: 10 }, 'p')),
      'p.maximum',
    );
    assert.equal(
      paramOf(() => grammarSchema({ allOf: [{}] }, 'p')),
      'p.allOf',
    );
    assert.equal(
      paramOf(() => grammarSchema({ type: 'array', items: { type: 'x' } }, 'p')),
      'p.items.type',
    );
    assert.equal(
      paramOf(() => grammarSchema({ enum: [{ a: 1 }] }, 'p')),
      'p.enum[0]',
    );
    assert.equal(
      paramOf(() => grammarSchema('string', 'p')),
      'p',
    );
  });

  test('tightenGrammar: integers without exponent, at most 15 digits; the value must end (no trailing newlines)', () => {
    // As node-llama-cpp 3.21.1 writes it for {type: object, properties: {n: {type: integer}}}.
    const generated = [
      'root ::= "{" whitespace-b-1-4-rule "\\"n\\"" ":" [ ]? integer-number-rule whitespace-b-0-4-rule "}" "\\n\\n\\n\\n" [\\n]*',
      'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15}) ([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?',
      'whitespace-b-1-4-rule ::= [\\n] ("    " | "\\t") | [ ]?',
    ].join('\n');
    const [root, integer, rest] = tightenGrammar(generated).split('\n');
    assert.equal(
      root,
      'root ::= "{" whitespace-b-1-4-rule "\\"n\\"" ":" [ ]? integer-number-rule whitespace-b-0-4-rule "}"',
    );
    assert.equal(integer, 'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,14})');
    assert.equal(rest, 'whitespace-b-1-4-rule ::= [\\n] ("    " | "\\t") | [ ]?');
  });

  test('hostile schemas: __proto__ stays a property name, depth is bounded', () => {
    const schema = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}');
    const out = grammarSchema(schema, 'p');
    assert.deepEqual(Object.keys(out.properties as object), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).type, undefined);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < MAX_SCHEMA_DEPTH + 2; i++) deep = { type: 'array', items: deep };
    assert.match(String(paramOf(() => grammarSchema(deep, 'p'))), /^p(\.items)+$/);
  });
});

describe('planOutput on hostile input', () => {
  test('any JSON as tools, tool_choice, response_format or a schema: a plan or a 400, never another error', () => {
    const json = fc.jsonValue({ maxDepth: 6 });
    const schemaLike = fc.letrec<{ schema: unknown }>((tie) => ({
      schema: fc.oneof(
        { depthSize: 'small' },
        json,
        fc.record(
          {
            type: fc.constantFrom('object', 'array', 'string', 'integer', 'number', 'boolean', 'null', 'x', [
              'string',
              'null',
            ]),
            properties: fc.dictionary(fc.string(), tie('schema'), { maxKeys: 3 }),
            items: tie('schema'),
            anyOf: fc.array(tie('schema'), { maxLength: 3 }),
            enum: fc.array(json, { maxLength: 3 }),
            $ref: fc.constantFrom('#/$defs/a', '#/definitions/b', '#', 'x'),
            $defs: fc.dictionary(fc.constantFrom('a', 'b', '__proto__'), tie('schema'), { maxKeys: 2 }),
            maxLength: fc.oneof(fc.integer(), fc.double()),
            minimum: fc.constant(Number.MIN_SAFE_INTEGER),
          },
          { requiredKeys: [] },
        ),
      ),
    }));
    fc.assert(
      fc.property(
        fc.record(
          {
            tools: fc.oneof(
              json,
              fc.array(
                fc.record({
                  type: fc.constant('function'),
                  function: fc.record({ name: fc.constantFrom('f', 'g', 'bad name'), parameters: schemaLike.schema }),
                }),
                { maxLength: 3 },
              ),
            ),
            tool_choice: fc.oneof(
              json,
              fc.constantFrom('auto', 'none', 'required'),
              fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.constantFrom('f', 'g') }) }),
            ),
            response_format: fc.oneof(
              json,
              fc.record({
                type: fc.constantFrom('json_schema', 'json_object', 'text'),
                json_schema: fc.record({ name: fc.constantFrom('n', ''), schema: schemaLike.schema }),
              }),
            ),
          },
          { requiredKeys: [] },
        ),
        (body) => {
          try {
            planOutput(body);
          } catch (error) {
            if (!(error instanceof BadRequestError)) throw error;
            assert.equal(error.status, 400);
          }
          assert.equal(({} as Record<string, unknown>).polluted, undefined);
        },
      ),
      { numRuns: 500 },
    );
  });
});
