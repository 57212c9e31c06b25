import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { describeLogProblem } from './problem.js';
import { type ExchangeRecord, openLogStore, SCHEMA_VERSION } from './store.js';

const temp = () => join(mkdtempSync(join(tmpdir(), 'sluice-store-')), 'logs.db');

function record(prompt: string, answer: string, conversationId = 'c1'): ExchangeRecord {
  const at = new Date().toISOString();
  return {
    conversationId,
    kind: 'chat',
    prompt,
    answer,
    end: 'completed',
    target: 'local',
    startedAt: at,
    finishedAt: at,
  };
}

describe('the log store', () => {
  it('creates the schema at its version; lists oldest first, the newest N; searches words literally', async () => {
    const store = await openLogStore(temp());
    try {
      const ids = [
        store.insert(record('alpha gate', 'one')),
        store.insert(record('beta "quoted" river', 'two', 'c2')),
        store.insert(record('gamma', 'the gate opens')),
      ];
      assert.deepEqual(ids, [1, 2, 3]);
      assert.deepEqual(
        store.list({ limit: 2 }).map((e) => e.id),
        [2, 3],
      );
      assert.deepEqual(
        store.list({ search: 'gate' }).map((e) => e.id),
        [1, 3],
      );
      assert.deepEqual(
        store.list({ search: '"quoted" OR' }).map((e) => e.id),
        [],
        'OR is a word here, not an operator',
      );
      assert.deepEqual(
        store.list({ search: '"quoted"' }).map((e) => e.id),
        [2],
      );
      assert.deepEqual(
        store.list({ search: 'NEAR( -* ^' }).map((e) => e.id),
        [],
      );
      assert.deepEqual(
        store.list({ conversationId: 'c1' }).map((e) => e.id),
        [1, 3],
      );
      assert.equal(store.latestConversationId(), 'c1');
      store.insert({ ...record('a completion', 'text', 'c3'), kind: 'completions' });
      assert.equal(store.latestConversationId(), 'c3');
      assert.equal(store.latestConversationId('chat'), 'c1');
    } finally {
      store.close();
    }
  });

  it('migrates a database of an older version forward; refuses one of a newer version', async () => {
    const old = temp();
    const db = new Database(old);
    db.pragma('user_version = 0');
    db.close();
    const store = await openLogStore(old);
    store.close();
    const check = new Database(old, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    check.close();

    const newer = temp();
    const future = new Database(newer);
    future.pragma('user_version = 99');
    future.close();
    const error = await openLogStore(newer).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.match(describeLogProblem(error, newer, 'x'), /was written by a newer Sluice; upgrade Sluice/);
  });
});
