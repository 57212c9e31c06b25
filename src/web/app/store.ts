/**
 * Conversations, settings and the completion workspace, kept in localStorage so they survive
 * a reload. Everything read back is validated: storage is user-editable and may come from an
 * older version of the page.
 *
 * No DOM types: takes any Storage-like object (Node tests pass a Map-backed one).
 * @module
 */
import {
  type AssistantMessage,
  type CompletionState,
  type Conversation,
  DEFAULT_SETTINGS,
  type Message,
  type Settings,
} from './types.js';

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const KEYS = {
  conversations: 'sluice.conversations.v1',
  current: 'sluice.current.v1',
  settings: 'sluice.settings.v1',
  completion: 'sluice.completion.v1',
  /** Context sizes learned per model (see context.ts). */
  contextSizes: 'sluice.context-sizes.v1',
  /** Kept in sessionStorage only: gone when the tab closes. */
  apiKey: 'sluice.api-key',
} as const;

export interface Store {
  loadConversations(): Conversation[];
  /** Returns false when storage refused (quota full, disabled): the caller shows a notice. */
  saveConversations(conversations: Conversation[]): boolean;
  loadCurrentId(): string | null;
  saveCurrentId(id: string | null): void;
  loadSettings(): Settings;
  saveSettings(settings: Settings): boolean;
  loadCompletion(): CompletionState;
  saveCompletion(state: CompletionState): boolean;
  /** Model name -> context size in tokens. A Map: model names are data, never object keys. */
  loadContextSizes(): Map<string, number>;
  saveContextSizes(sizes: Map<string, number>): boolean;
}

/**
 * @example
 * ```ts
 * const store = createStore(localStorage);
 * const conversations = store.loadConversations();
 * ```
 */
export function createStore(storage: KeyValueStorage): Store {
  const read = (key: string): unknown => {
    try {
      const text = storage.getItem(key);
      return text === null ? undefined : JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  const write = (key: string, value: unknown): boolean => {
    try {
      storage.setItem(key, JSON.stringify(value));
      return true;
    } catch {
      return false;
    }
  };

  return {
    loadConversations() {
      const data = read(KEYS.conversations);
      const list = isRecord(data) && Array.isArray(data.conversations) ? data.conversations : [];
      return list.map(toConversation).filter((c): c is Conversation => c !== undefined);
    },
    saveConversations(conversations) {
      return write(KEYS.conversations, { version: 1, conversations });
    },
    loadCurrentId() {
      try {
        return storage.getItem(KEYS.current);
      } catch {
        return null;
      }
    },
    saveCurrentId(id) {
      try {
        if (id === null) storage.removeItem(KEYS.current);
        else storage.setItem(KEYS.current, id);
      } catch {
        // Not worth a notice: only the selection is lost.
      }
    },
    loadSettings() {
      return toSettings(read(KEYS.settings));
    },
    saveSettings(settings) {
      return write(KEYS.settings, settings);
    },
    loadCompletion() {
      const data = read(KEYS.completion);
      if (!isRecord(data)) return { prompt: '', output: '', outputPrompt: '' };
      const state: CompletionState = {
        prompt: str(data.prompt),
        output: str(data.output),
        outputPrompt: str(data.outputPrompt),
      };
      // Output saved without an end: the page was closed while it streamed.
      if (isRecord(data.end)) state.end = settleEnd(data.end as unknown as AssistantMessage['end']);
      else if (state.output) state.end = { kind: 'interrupted' };
      if (isRecord(data.stats)) state.stats = data.stats as CompletionState['stats'] & object;
      return state;
    },
    saveCompletion(state) {
      return write(KEYS.completion, state);
    },
    loadContextSizes() {
      const data = read(KEYS.contextSizes);
      const sizes = new Map<string, number>();
      if (!Array.isArray(data)) return sizes;
      for (const pair of data) {
        if (!Array.isArray(pair) || typeof pair[0] !== 'string') continue;
        const size = pair[1];
        if (typeof size === 'number' && Number.isInteger(size) && size > 0) sizes.set(pair[0], size);
      }
      return sizes;
    },
    saveContextSizes(sizes) {
      return write(KEYS.contextSizes, [...sizes]);
    },
  };
}

/** A title from the first user message: one line, at most 60 characters. */
export function titleFrom(text: string): string {
  const line = text.trim().replace(/\s+/g, ' ');
  if (!line) return 'New chat';
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}

export function newConversation(now = Date.now()): Conversation {
  return { id: randomId(), title: 'New chat', createdAt: now, updatedAt: now, messages: [] };
}

// --- internal ---

function randomId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function toConversation(value: unknown): Conversation | undefined {
  if (!isRecord(value) || typeof value.id !== 'string' || !Array.isArray(value.messages)) return undefined;
  const messages = value.messages.map(toMessage).filter((m): m is Message => m !== undefined);
  const conversation: Conversation = {
    id: value.id,
    title: typeof value.title === 'string' && value.title ? value.title : 'New chat',
    createdAt: num(value.createdAt),
    updatedAt: num(value.updatedAt),
    messages,
  };
  const start = value.contextStart;
  if (typeof start === 'number' && Number.isInteger(start) && start > 0 && start < messages.length) {
    conversation.contextStart = start;
  }
  if (typeof value.model === 'string' && value.model) conversation.model = value.model;
  return conversation;
}

function toMessage(value: unknown): Message | undefined {
  if (!isRecord(value) || typeof value.content !== 'string') return undefined;
  if (value.role === 'user') return { role: 'user', content: value.content };
  if (value.role !== 'assistant') return undefined;
  const message: AssistantMessage = { role: 'assistant', content: value.content };
  // An answer saved mid-stream has no end: the page was closed while it streamed.
  message.end = isRecord(value.end)
    ? settleEnd(value.end as unknown as AssistantMessage['end'])
    : { kind: 'interrupted' };
  if (isRecord(value.stats)) message.stats = value.stats as AssistantMessage['stats'] & object;
  // Cut off by a reload while resumable: the page asks the server for the rest.
  const stream = value.stream;
  if (
    !isRecord(value.end) &&
    isRecord(stream) &&
    typeof stream.id === 'string' &&
    /^[0-9a-f-]{36}$/.test(stream.id) &&
    typeof stream.lastEventId === 'string' &&
    /^\d{1,15}$/.test(stream.lastEventId)
  ) {
    message.stream = { id: stream.id, lastEventId: stream.lastEventId };
  }
  if (typeof value.model === 'string' && value.model) message.model = value.model;
  if (Array.isArray(value.toolCalls)) {
    const calls = value.toolCalls
      .filter(isRecord)
      .map((c) => ({ name: str(c.name), arguments: str(c.arguments) }))
      .filter((c) => c.name);
    if (calls.length > 0) message.toolCalls = calls;
  }
  return message;
}

const END_KINDS = new Set(['done', 'stopped', 'truncated', 'filtered', 'rate-limited', 'failed', 'interrupted']);

function settleEnd(end: AssistantMessage['end']): NonNullable<AssistantMessage['end']> {
  return end && END_KINDS.has(end.kind) ? end : { kind: 'interrupted' };
}

function toSettings(value: unknown): Settings {
  const s = isRecord(value) ? value : {};
  const maxTokens = Number(s.maxTokens);
  const temperature = Number(s.temperature);
  return {
    model: typeof s.model === 'string' ? s.model : DEFAULT_SETTINGS.model,
    systemMessage: typeof s.systemMessage === 'string' ? s.systemMessage : DEFAULT_SETTINGS.systemMessage,
    maxTokens: Number.isInteger(maxTokens) && maxTokens > 0 ? maxTokens : DEFAULT_SETTINGS.maxTokens,
    temperature:
      s.temperature !== undefined && Number.isFinite(temperature) && temperature >= 0 && temperature <= 2
        ? temperature
        : DEFAULT_SETTINGS.temperature,
    includeUsage: typeof s.includeUsage === 'boolean' ? s.includeUsage : DEFAULT_SETTINGS.includeUsage,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
