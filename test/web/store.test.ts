/**
 * What the page keeps in localStorage (src/web/app/store.ts) and the words it shows
 * (src/web/app/format.ts): pure modules, tested under Node with a Map-backed storage.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { badgeFor, formatStats, noticeFor, secondsLeft } from '../../src/web/app/format.js';
import { createStore, KEYS, type KeyValueStorage, newConversation, titleFrom } from '../../src/web/app/store.js';
import { type Conversation, DEFAULT_SETTINGS } from '../../src/web/app/types.js';

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

describe('store', () => {
  test('conversations round-trip, answers with their end state and figures', () => {
    const storage = memoryStorage();
    const store = createStore(storage);
    const c: Conversation = {
      ...newConversation(1000),
      title: 'Hello',
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: 'Hello!',
          end: { kind: 'done', finishReason: 'stop' },
          stats: { ttftMs: 12, tokens: 3 },
        },
        { role: 'user', content: 'More' },
        { role: 'assistant', content: 'Part', end: { kind: 'stopped' } },
      ],
    };
    assert.equal(store.saveConversations([c]), true);
    assert.deepEqual(createStore(storage).loadConversations(), [c]);
  });

  test('an answer saved mid-stream (no end) comes back as interrupted, its text kept', () => {
    const storage = memoryStorage();
    const c = {
      ...newConversation(),
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hal' },
      ],
    };
    storage.setItem(KEYS.conversations, JSON.stringify({ version: 1, conversations: [c] }));
    const [loaded] = createStore(storage).loadConversations();
    assert.deepEqual(loaded?.messages[1], { role: 'assistant', content: 'Hal', end: { kind: 'interrupted' } });
  });

  test('garbage in storage is skipped, not fatal', () => {
    const storage = memoryStorage();
    const store = createStore(storage);
    storage.setItem(KEYS.conversations, '{not json');
    assert.deepEqual(store.loadConversations(), []);
    storage.setItem(
      KEYS.conversations,
      JSON.stringify({
        conversations: [
          null,
          { id: 7, messages: [] },
          {
            id: 'ok',
            messages: [
              { role: 'system', content: 'x' },
              { role: 'user', content: 5 },
              { role: 'user', content: 'kept' },
            ],
            title: '',
          },
        ],
      }),
    );
    const loaded = store.loadConversations();
    assert.equal(loaded.length, 1);
    assert.equal(loaded[0]?.title, 'New chat');
    assert.deepEqual(loaded[0]?.messages, [{ role: 'user', content: 'kept' }]);
  });

  test('a storage that refuses (quota) makes save return false', () => {
    const store = createStore({
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {},
    });
    assert.equal(store.saveConversations([newConversation()]), false);
    assert.equal(store.saveSettings(DEFAULT_SETTINGS), false);
  });

  test('settings: defaults, round trip, out-of-range values replaced by defaults', () => {
    const storage = memoryStorage();
    const store = createStore(storage);
    assert.deepEqual(store.loadSettings(), DEFAULT_SETTINGS);
    const mine = { model: 'gpt-4o', systemMessage: 'Be brief.', maxTokens: 99, temperature: 0, includeUsage: false };
    store.saveSettings(mine);
    assert.deepEqual(store.loadSettings(), mine);
    storage.setItem(KEYS.settings, JSON.stringify({ maxTokens: -1, temperature: 5, model: 3 }));
    assert.deepEqual(store.loadSettings(), DEFAULT_SETTINGS);
  });

  test('the completion workspace round-trips; output without an end was interrupted', () => {
    const storage = memoryStorage();
    const store = createStore(storage);
    assert.deepEqual(store.loadCompletion(), { prompt: '', output: '', outputPrompt: '' });
    store.saveCompletion({ prompt: 'Once', output: ' upon', outputPrompt: 'Once' });
    assert.deepEqual(store.loadCompletion().end, { kind: 'interrupted' });
    store.saveCompletion({ prompt: 'Once', output: ' upon', outputPrompt: 'Once', end: { kind: 'stopped' } });
    assert.deepEqual(store.loadCompletion().end, { kind: 'stopped' });
  });

  test('titles are one trimmed line of at most 60 characters', () => {
    assert.equal(titleFrom('  Hello\n\n  world  '), 'Hello world');
    assert.equal(titleFrom(''), 'New chat');
    const long = titleFrom('x'.repeat(100));
    assert.equal(long.length, 60);
    assert.ok(long.endsWith('…'));
  });
});

describe('format', () => {
  test('figures: first token, rate, tokens (≈ when counted), duration, finish, model', () => {
    assert.deepEqual(
      formatStats(
        { ttftMs: 120, tokensPerSecond: 41.25, tokens: 87, tokensExact: true, durationMs: 2230, model: 'm' },
        'stop',
      ),
      ['first token 120 ms', '41.3 tok/s', '87 tokens', '2.2 s', 'finish: stop', 'm'],
    );
    assert.deepEqual(formatStats({ tokens: 1, tokensExact: false }), ['≈1 token']);
    assert.deepEqual(formatStats(undefined), []);
  });

  test('badges: none for a plain completion, the state otherwise', () => {
    assert.equal(badgeFor({ kind: 'done', finishReason: 'stop' }), undefined);
    assert.equal(badgeFor({ kind: 'done', finishReason: 'length' }), 'max tokens');
    assert.equal(badgeFor({ kind: 'stopped' }), 'stopped');
    assert.equal(badgeFor({ kind: 'rate-limited', retryAfterMs: 1, message: '', at: 0 }), 'rate limited');
    assert.equal(badgeFor(undefined), 'streaming');
  });

  test('notices: retry where it helps, edit for a blocked prompt, settings for auth', () => {
    assert.equal(noticeFor({ kind: 'done', finishReason: 'stop' }), undefined);
    assert.match(noticeFor({ kind: 'done', finishReason: 'length' }, 64)?.detail ?? '', /token limit \(64\)/);
    assert.equal(noticeFor({ kind: 'truncated', message: 'Cut.' })?.action, 'retry');
    assert.equal(noticeFor({ kind: 'interrupted' })?.action, 'retry');
    assert.equal(noticeFor({ kind: 'stopped' })?.action, undefined, 'Regenerate is offered instead');
    assert.equal(noticeFor({ kind: 'filtered', where: 'prompt', categories: [], message: 'm' })?.action, 'edit');
    assert.equal(noticeFor({ kind: 'filtered', where: 'completion', categories: [], message: 'm' })?.action, 'retry');
    const limited = noticeFor({ kind: 'rate-limited', retryAfterMs: 1500, message: 'Slow down.', at: 10_000 });
    assert.equal(limited?.retryAt, 11_500);
    assert.match(limited?.detail ?? '', /Retry after 2 s/);
    const failed = noticeFor({ kind: 'failed', message: 'Nope.', status: 401, retryable: false, requestId: 'r1' });
    assert.equal(failed?.action, 'settings');
    assert.equal(failed?.detail, 'Nope. (HTTP 401 · request r1)');
    assert.equal(noticeFor({ kind: 'failed', message: 'x', status: 400, retryable: false })?.action, undefined);
    assert.equal(
      noticeFor({ kind: 'failed', message: 'x', status: 400, code: 'unknown_parameter', retryable: false })?.action,
      'settings',
    );
    assert.equal(noticeFor({ kind: 'failed', message: 'x', retryable: true })?.action, 'retry');
  });

  test('secondsLeft rounds up and stops at zero', () => {
    assert.equal(secondsLeft(10_500, 10_000), 1);
    assert.equal(secondsLeft(12_001, 10_000), 3);
    assert.equal(secondsLeft(9_000, 10_000), 0);
    assert.equal(secondsLeft(undefined, 10_000), 0);
  });
});

describe('what the store keeps of the context', () => {
  test("a conversation's context start round-trips; one out of range is dropped", () => {
    const storage = memoryStorage();
    const store = createStore(storage);
    const c: Conversation = {
      ...newConversation(1),
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b', end: { kind: 'done', finishReason: 'stop' } },
        { role: 'user', content: 'c' },
      ],
      contextStart: 2,
    };
    store.saveConversations([c, { ...c, id: 'x', contextStart: 7 }, { ...c, id: 'y', contextStart: -1 }]);
    const [kept, tooFar, negative] = store.loadConversations();
    assert.equal(kept?.contextStart, 2);
    assert.equal(tooFar?.contextStart, undefined);
    assert.equal(negative?.contextStart, undefined);
  });

  test('context sizes per model round-trip, whatever the model is called', () => {
    const storage = memoryStorage();
    const store = createStore(storage);
    store.saveContextSizes(
      new Map([
        ['__proto__', 512],
        ['gpt-4o', 128000],
      ]),
    );
    const sizes = store.loadContextSizes();
    assert.equal(sizes.get('__proto__'), 512);
    assert.equal(sizes.get('gpt-4o'), 128000);
    assert.equal(({} as Record<string, unknown>)['512'], undefined);
    storage.data.set(KEYS.contextSizes, JSON.stringify([['ok', 1], ['bad', -4], [3, 3], 'junk', ['frac', 1.5]]));
    assert.deepEqual([...store.loadContextSizes()], [['ok', 1]]);
  });
});
