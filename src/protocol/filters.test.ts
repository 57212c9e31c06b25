import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { ContentFilterResults } from '../types.js';
import {
  CONTENT_FILTER_CATEGORIES,
  filterServiceError,
  firedCategories,
  mergeChangesNothing,
  mergeFilterResults,
} from './filters.js';

describe('firedCategories', () => {
  test('severity and detection categories with filtered: true', () => {
    const results: ContentFilterResults = {
      hate: { filtered: false, severity: 'safe' },
      violence: { filtered: true, severity: 'high' },
      jailbreak: { filtered: true, detected: true },
      protected_material_code: { filtered: false, detected: true, citation: { URL: 'https://x', license: 'MIT' } },
    };
    assert.deepStrictEqual(firedCategories(results), ['violence', 'jailbreak']);
  });

  test('custom_blocklists in object form (filtered or a filtered detail) and array form', () => {
    assert.deepStrictEqual(firedCategories({ custom_blocklists: { filtered: true, details: [] } }), [
      'custom_blocklists',
    ]);
    assert.deepStrictEqual(
      firedCategories({ custom_blocklists: { filtered: false, details: [{ filtered: true, id: 'b' }] } }),
      ['custom_blocklists'],
    );
    assert.deepStrictEqual(
      firedCategories({
        custom_blocklists: [
          { filtered: false, id: 'a' },
          { filtered: true, id: 'b' },
        ],
      }),
      ['custom_blocklists'],
    );
    assert.deepStrictEqual(firedCategories({ custom_blocklists: [{ filtered: false, id: 'a' }] }), []);
  });

  test('unknown categories count when they fired; the error entry and junk never do', () => {
    const results = {
      brand_new_category: { filtered: true },
      error: { code: 'content_filter_error', message: 'The contents are not filtered', filtered: true },
      weird: 'string',
      nothing: null,
    } as unknown as ContentFilterResults;
    assert.deepStrictEqual(firedCategories(results), ['brand_new_category']);
  });

  test('undefined and {} fire nothing', () => {
    assert.deepStrictEqual(firedCategories(undefined), []);
    assert.deepStrictEqual(firedCategories({}), []);
  });
});

describe('filterServiceError', () => {
  test('finds the filter-service failure', () => {
    assert.deepStrictEqual(
      filterServiceError({ error: { code: 'content_filter_error', message: 'The contents are not filtered' } }),
      {
        code: 'content_filter_error',
        message: 'The contents are not filtered',
      },
    );
    assert.equal(filterServiceError({ hate: { filtered: false } }), undefined);
    assert.equal(filterServiceError(undefined), undefined);
  });
});

describe('mergeFilterResults', () => {
  test('keeps the worst: filtered and detected OR-ed, the higher severity', () => {
    const merged = mergeFilterResults(
      { hate: { filtered: false, severity: 'medium' }, jailbreak: { filtered: false, detected: true } },
      {
        hate: { filtered: true, severity: 'low' },
        jailbreak: { filtered: false, detected: false },
        violence: { filtered: false, severity: 'safe' },
      },
    );
    assert.deepStrictEqual(merged, {
      hate: { filtered: true, severity: 'medium' },
      jailbreak: { filtered: false, detected: true },
      violence: { filtered: false, severity: 'safe' },
    });
  });

  test('an unknown severity never beats a known one', () => {
    assert.equal(
      mergeFilterResults(
        { hate: { filtered: false, severity: 'low' } },
        { hate: { filtered: false, severity: 'odd' as never } },
      ).hate?.severity,
      'low',
    );
  });

  test('blocklist details are united by id', () => {
    const merged = mergeFilterResults(
      { custom_blocklists: { filtered: false, details: [{ filtered: false, id: 'a' }] } },
      {
        custom_blocklists: {
          filtered: true,
          details: [
            { filtered: true, id: 'a' },
            { filtered: false, id: 'b' },
          ],
        },
      },
    );
    assert.deepStrictEqual(merged.custom_blocklists, {
      filtered: true,
      details: [
        { filtered: true, id: 'a' },
        { filtered: false, id: 'b' },
      ],
    });
    const arrays = mergeFilterResults(
      { custom_blocklists: [{ filtered: true, id: 'a' }] },
      { custom_blocklists: [{ filtered: false, id: 'a' }] },
    );
    assert.deepStrictEqual(arrays.custom_blocklists, [{ filtered: true, id: 'a' }]);
  });

  test('does not alias the merged-in objects', () => {
    const from: ContentFilterResults = { hate: { filtered: false, severity: 'safe' } };
    const into = mergeFilterResults({}, from);
    into.hate!.filtered = true;
    assert.equal(from.hate?.filtered, false);
  });

  test('the error entry is taken from the later object', () => {
    const merged = mergeFilterResults({}, { error: { code: 'content_filter_error', message: 'm' } });
    assert.deepStrictEqual(merged, { error: { code: 'content_filter_error', message: 'm' } });
  });
});

describe('CONTENT_FILTER_CATEGORIES', () => {
  test("Azure's documented categories, custom_blocklists included, each recognized by firedCategories", () => {
    assert.ok(CONTENT_FILTER_CATEGORIES.includes('custom_blocklists'));
    assert.ok(CONTENT_FILTER_CATEGORIES.includes('protected_material_code'));
    const all = Object.fromEntries(
      CONTENT_FILTER_CATEGORIES.map((c) => [
        c,
        c === 'custom_blocklists' ? [{ filtered: true, id: 'b' }] : { filtered: true },
      ]),
    );
    assert.deepStrictEqual(firedCategories(all), [...CONTENT_FILTER_CATEGORIES]);
    assert.ok(Object.isFrozen(CONTENT_FILTER_CATEGORIES));
  });
});

describe('mergeChangesNothing', () => {
  const safe =
    '{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}';

  test("Azure's repeated all-safe results change nothing once merged; a worse one does", () => {
    const merged = mergeFilterResults({}, JSON.parse(safe));
    assert.equal(mergeChangesNothing(merged, JSON.parse(safe)), true);
    assert.equal(mergeChangesNothing(merged, { violence: { filtered: false, severity: 'low' } }), false);
    assert.equal(mergeChangesNothing(merged, { violence: { filtered: true, severity: 'safe' } }), false);
    assert.equal(mergeChangesNothing(merged, { jailbreak: { filtered: false, detected: false } }), false);
    assert.equal(
      mergeChangesNothing(merged, JSON.parse('{"hate":{"filtered":false,"severity":"safe","extra":1}}')),
      false,
    );
    assert.equal(mergeChangesNothing(merged, { hate: { filtered: false } }), true);
    // JSON can say -0, which the merge would write over 0: a change (the response would say -0).
    const scored = mergeFilterResults({}, JSON.parse('{"hate":{"score":0}}'));
    assert.equal(mergeChangesNothing(scored, JSON.parse('{"hate":{"score":-0}}')), false);
  });

  test('reads no prototype: hostile keys are skipped as the merge skips them', () => {
    const merged = mergeFilterResults({}, JSON.parse(safe));
    const hostile = JSON.parse('{"__proto__":{"polluted":true},"hate":{"__proto__":{"severity":"high"}}}');
    assert.equal(mergeChangesNothing(merged, hostile), true);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  // Values a merge can meet: Azure's own, and the odd ones (unknown severity, -0, nested objects).
  const value = fc.constantFrom<unknown>(true, false, 'safe', 'low', 'high', 'weird', 0, -0, null, { URL: 'u' });
  const category = fc.dictionary(fc.constantFrom('filtered', 'detected', 'severity', 'citation', '__proto__'), value, {
    maxKeys: 4,
  });
  const results = fc.dictionary(
    fc.constantFrom('hate', 'violence', 'jailbreak', 'error', 'custom_blocklists', '__proto__'),
    fc.oneof(category, value),
    { maxKeys: 4 },
  );
  /** Like JSON.parse, "__proto__" becomes an own key. */
  const parsed = (v: unknown) => JSON.parse(JSON.stringify(v)) as ContentFilterResults;

  test('whenever it says nothing changes, the merge indeed leaves every value and object as it was', () => {
    fc.assert(
      fc.property(fc.array(results, { maxLength: 4 }), results, (earlier, next) => {
        const into: ContentFilterResults = {};
        for (const r of earlier) mergeFilterResults(into, parsed(r));
        const from = parsed(next);
        if (!mergeChangesNothing(into, from)) return;
        const before = structuredClone(into);
        const categories = Object.values(into);
        mergeFilterResults(into, from);
        assert.ok(isDeepStrictEqual(into, before), 'the merge changed a value');
        assert.deepStrictEqual(Object.values(into), categories, 'the merge replaced an object');
        for (let i = 0; i < categories.length; i++) assert.equal(Object.values(into)[i], categories[i]);
      }),
      { numRuns: 2000 },
    );
  });

  test('it finds most repeats: merging the same results twice, the second time changes nothing', () => {
    const safeOnly = fc.dictionary(
      fc.constantFrom('hate', 'violence', 'self_harm'),
      fc.record({ filtered: fc.boolean(), severity: fc.constantFrom('safe', 'low', 'high') }),
    );
    fc.assert(
      fc.property(safeOnly, (r) => {
        const into = mergeFilterResults({}, parsed(r));
        assert.equal(mergeChangesNothing(into, parsed(r)), true);
      }),
    );
  });
});
