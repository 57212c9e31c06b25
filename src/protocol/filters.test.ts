import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContentFilterResults } from '../types.js';
import { CONTENT_FILTER_CATEGORIES, filterServiceError, firedCategories, mergeFilterResults } from './filters.js';

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
