/**
 * The chat page: wires index.html's elements to the state (conversations, settings, the
 * completion workspace) and runs one generation at a time against Sluice's own API.
 * @module
 */
import './style.css';
import { contextSizeInMessage } from '../../protocol/context.js';
import { type StreamAnswerResult, streamAnswer } from './api.js';
import { createThreadView, retryButton, tickRetryButtons } from './chat-view.js';
import { contextFill, contextSizeOfModel, dropOldestTurn, isContextOverflow, sentFrom } from './context.js';
import { byId, h } from './dom.js';
import { badgeFor, formatStats, noticeFor } from './format.js';
import { renderSidebar } from './sidebar.js';
import { createStore, KEYS, type KeyValueStorage, newConversation, titleFrom } from './store.js';
import type { AssistantMessage, Conversation, Settings, ToolCallView } from './types.js';

// --- state ---

const store = createStore(storageOr('localStorage'));
const session = storageOr('sessionStorage');
let conversations: Conversation[] = store.loadConversations();
let currentId: string | undefined = store.loadCurrentId() ?? undefined;
let settings: Settings = store.loadSettings();
/** Context size per model name, learned from /v1/models or a context-length error. */
const contextSizes = store.loadContextSizes();
const completion = store.loadCompletion();
/** The names the server lists (`/v1/models`); the first is used when Settings leaves the model empty. */
let servedModels: string[] = [];
let apiKey = session.getItem(KEYS.apiKey) ?? '';
let mode: 'chat' | 'completion' = 'chat';
let editing = false;

/** The one running generation. */
let running:
  | { controller: AbortController; mode: 'chat'; conversation: Conversation; message: AssistantMessage }
  | { controller: AbortController; mode: 'completion' }
  | undefined;

if (!conversations.some((c) => c.id === currentId)) currentId = conversations[0]?.id;

// --- elements ---

const app = byId('app');
const messagesEl = byId('messages');
const threadEl = byId('thread');
const emptyState = byId('empty-state');
const composer = byId<HTMLFormElement>('composer');
const promptEl = byId<HTMLTextAreaElement>('prompt');
const sendBtn = byId<HTMLButtonElement>('send');
const stopBtn = byId<HTMLButtonElement>('stop');
const announcer = byId('announcer');
const modelLabel = byId('model-label');
const modelSelect = byId<HTMLSelectElement>('model-select');
const contextMeter = byId('context-meter');
const contextBar = byId<HTMLMeterElement>('context-bar');
const contextText = byId('context-text');
const sidebarToggle = byId<HTMLButtonElement>('toggle-sidebar');
const backdrop = byId('backdrop');
const tabChat = byId<HTMLButtonElement>('tab-chat');
const tabCompletion = byId<HTMLButtonElement>('tab-completion');
const chatPanel = byId('chat-panel');
const completionPanel = byId('completion-panel');
const completionPrompt = byId<HTMLTextAreaElement>('completion-prompt');
const completeBtn = byId<HTMLButtonElement>('complete');
const completeStop = byId<HTMLButtonElement>('complete-stop');
const completeAppend = byId<HTMLButtonElement>('complete-append');
const completionResult = byId('completion-result');
const completionEcho = byId('completion-echo');
const completionGenerated = byId('completion-generated');
const completionNotice = byId('completion-notice');
const completionMeta = byId('completion-meta');
const dialog = byId<HTMLDialogElement>('settings-dialog');
const settingsForm = byId<HTMLFormElement>('settings-form');

const thread = createThreadView(messagesEl, threadEl, {
  retry: () => regenerate(),
  edit: () => {
    editing = true;
    renderChat();
  },
  finishEdit: (text) => {
    editing = false;
    if (text === null || !text.trim()) return renderChat();
    resendEdited(text);
  },
  openSettings: () => openSettings(),
});

// --- chat ---

const current = (): Conversation | undefined => conversations.find((c) => c.id === currentId);

function send(text: string): void {
  if (running || !text.trim()) return;
  let conversation = current();
  if (!conversation) {
    conversation = newConversation();
    conversations.push(conversation);
    currentId = conversation.id;
    store.saveCurrentId(currentId);
  }
  if (conversation.messages.length === 0) conversation.title = titleFrom(text);
  conversation.model ??= requestedModel(conversation) || undefined;
  conversation.messages.push({ role: 'user', content: text });
  promptEl.value = '';
  autosize(promptEl);
  generate(conversation);
}

/** Drops the last answer (whatever its state) and asks again. */
function regenerate(): void {
  const conversation = current();
  if (running || !conversation) return;
  if (conversation.messages.at(-1)?.role === 'assistant') conversation.messages.pop();
  if (conversation.messages.length === 0) return;
  generate(conversation);
}

/** Replaces the last user message, drops what followed it, asks again. */
function resendEdited(text: string): void {
  const conversation = current();
  if (running || !conversation) return;
  let i = conversation.messages.length - 1;
  while (i >= 0 && conversation.messages[i]?.role !== 'user') i--;
  if (i < 0) return;
  conversation.messages.splice(i);
  if (i === 0) conversation.title = titleFrom(text);
  conversation.messages.push({ role: 'user', content: text });
  generate(conversation);
}

async function generate(conversation: Conversation): Promise<void> {
  const model = requestedModel(conversation);
  const message: AssistantMessage = { role: 'assistant', content: '', ...(model ? { model } : {}) };
  conversation.messages.push(message);
  conversation.updatedAt = Date.now();
  const controller = new AbortController();
  running = { controller, mode: 'chat', conversation, message };
  saveConversations();
  renderAll();
  announce('Generating an answer…');

  let result: StreamAnswerResult;
  for (;;) {
    result = await streamAnswer({
      kind: 'chat',
      body: requestBody(model, { messages: sentMessages(conversation, message) }),
      signal: controller.signal,
      apiKey,
      ...answerCallbacks(conversation, message),
    });
    // History outgrew the context: drop the oldest turn still sent and ask again. Only the
    // latest user turn is kept for certain; if it alone does not fit, that is the answer.
    if (leaving || !isContextOverflow(result.end) || message.content !== '') break;
    learnContextSize(model, result.end.kind === 'failed' ? contextSizeInMessage(result.end.message) : undefined);
    const next = dropOldestTurn(conversation.messages, conversation.contextStart ?? 0);
    if (next === undefined) break;
    conversation.contextStart = next;
    saveConversations();
    renderChat();
    announce('The context is full: the oldest messages are no longer sent to the model. Asking again…');
  }
  finishAnswer(conversation, message, result);
}

/** What streaming an answer into `message` does with each part of it. */
function answerCallbacks(conversation: Conversation, message: AssistantMessage) {
  return {
    onText(text: string) {
      message.content += text;
      if (conversation.id === currentId) thread.streamed();
      saveSoon('conversations');
    },
    onRetract() {
      message.content = '';
    },
    onToolCalls(calls: ToolCallView[]) {
      message.toolCalls = calls;
      if (conversation.id === currentId) thread.streamed();
      saveSoon('conversations');
    },
    // A resumable answer: saved with the last event taken, so a reload can ask for the rest.
    onStream(id: string) {
      if (message.stream?.id !== id) message.stream = { id, lastEventId: '0' };
    },
    onEventId(id: string) {
      if (message.stream) message.stream.lastEventId = id;
    },
  };
}

function finishAnswer(conversation: Conversation, message: AssistantMessage, result: StreamAnswerResult): void {
  running = undefined;
  message.stats = result.stats;
  // The page is being left: the request died with it. What pagehide saved (no end) reads back
  // as interrupted (or, resumable, is asked for again); saving "connection lost" would misreport it.
  if (leaving) {
    message.end = { kind: 'interrupted' };
    return;
  }
  delete message.stream;
  message.end = result.end;
  conversation.updatedAt = Date.now();
  saveConversations();
  renderAll();
  announceEnd(result);
}

/** An answer cut off by a reload while the server kept it resumable: asks for the rest. */
async function resumeAnswer(conversation: Conversation, message: AssistantMessage): Promise<void> {
  const stream = message.stream;
  if (!stream || running) return;
  delete message.end;
  const controller = new AbortController();
  running = { controller, mode: 'chat', conversation, message };
  renderAll();
  announce('Resuming the answer…');
  const result = await streamAnswer({
    kind: 'chat',
    body: {},
    signal: controller.signal,
    apiKey,
    resume: { streamId: stream.id, lastEventId: stream.lastEventId },
    ...answerCallbacks(conversation, message),
  });
  finishAnswer(conversation, message, result);
}

/** The system message, then the conversation from its context start, without the answer being written. */
function sentMessages(conversation: Conversation, answer: AssistantMessage): Array<{ role: string; content: string }> {
  const all = conversation.messages;
  const start = sentFrom(all, conversation.contextStart ?? 0);
  if (start === 0) delete conversation.contextStart;
  else conversation.contextStart = start;
  const history = all
    .slice(start)
    .filter((m) => m !== answer && m.content.length > 0)
    .map((m) => ({ role: m.role, content: m.content }));
  return settings.systemMessage ? [{ role: 'system', content: settings.systemMessage }, ...history] : history;
}

/**
 * The model the page asks for: the conversation's, else the default (Settings, the last one
 * picked), else the server's first; '' when none is known (the server chooses).
 */
function requestedModel(conversation: Conversation | undefined): string {
  return conversation?.model || settings.model || servedModels[0] || '';
}

/** The conversation whose model the header shows and sets: none in completion mode. */
function headerConversation(): Conversation | undefined {
  return mode === 'chat' ? current() : undefined;
}

/** The header's choice: the next request of this conversation, and new ones, ask `model`. */
function pickModel(model: string): void {
  const conversation = headerConversation();
  if (conversation) {
    conversation.model = model;
    saveConversations();
  }
  settings = { ...settings, model };
  store.saveSettings(settings);
  renderControls();
  renderContextMeter();
  announce(`The next answer comes from ${model}.`);
}

function learnContextSize(model: string, size: number | undefined): void {
  if (size === undefined || contextSizes.get(model) === size) return;
  contextSizes.set(model, size);
  store.saveContextSizes(contextSizes);
}

function stop(): void {
  // A resumable answer would go on after the hang-up (the server waits for a reader to come
  // back): Stop says so explicitly, so the generation ends now.
  const stream = running?.mode === 'chat' ? running.message.stream : undefined;
  if (stream) {
    const headers: Record<string, string> = apiKey ? { 'api-key': apiKey } : {};
    fetch(`/sluice/v1/streams/${encodeURIComponent(stream.id)}/stop`, { method: 'POST', headers }).catch(() => {});
  }
  running?.controller.abort();
}

function requestBody(model: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    ...(model ? { model } : {}),
    ...extra,
    max_tokens: settings.maxTokens,
    temperature: settings.temperature,
    ...(settings.includeUsage ? { stream_options: { include_usage: true } } : {}),
  };
}

// --- persistence ---

/**
 * While an answer streams, its text is saved at most every MIN_SAVE_INTERVAL_MS, and less
 * often when saving is slow (a long history is serialized whole): saving never takes more
 * than about 1/SAVE_COST_SHARE of the time. Nothing rides on the timer alone: the page saves
 * at once when it is hidden or left (reload, close, tab switch) and when an answer ends.
 */
const MIN_SAVE_INTERVAL_MS = 500;
const SAVE_COST_SHARE = 20;
let saveTimer = 0;
let lastSaveCostMs = 0;
const unsaved = { conversations: false, completion: false };

function saveSoon(what: keyof typeof unsaved): void {
  unsaved[what] = true;
  if (!saveTimer)
    saveTimer = window.setTimeout(saveUnsaved, Math.max(MIN_SAVE_INTERVAL_MS, lastSaveCostMs * SAVE_COST_SHARE));
}

/** Saves whatever changed since the last save, now. */
function saveUnsaved(): void {
  clearTimeout(saveTimer);
  saveTimer = 0;
  if (unsaved.conversations) saveConversations();
  if (unsaved.completion) saveCompletion();
}

let storageWarned = false;
function saveConversations(): void {
  const startedAt = performance.now();
  unsaved.conversations = false;
  // Empty conversations are not worth keeping.
  const keep = conversations.filter((c) => c.messages.length > 0);
  if (!store.saveConversations(keep) && !storageWarned) {
    storageWarned = true;
    announce('This browser refused to save the conversation (storage full?). Delete old conversations to free space.');
  }
  lastSaveCostMs = performance.now() - startedAt;
}

function saveCompletion(): void {
  unsaved.completion = false;
  store.saveCompletion(completion);
}

/** Between pagehide and pageshow: the page is being left (or sits in the back-forward cache). */
let leaving = false;
// Leaving (reload, close, navigation) fires pagehide; a phone may kill a hidden tab without it.
window.addEventListener('pagehide', () => {
  leaving = true;
  saveUnsaved();
});
window.addEventListener('pageshow', () => {
  if (!leaving) return;
  leaving = false;
  renderAll();
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') saveUnsaved();
});

// --- rendering ---

function renderAll(): void {
  renderChat();
  renderContextMeter();
  renderList();
  renderCompletion();
  renderControls();
}

function renderChat(): void {
  const conversation = current();
  emptyState.hidden = (conversation?.messages.length ?? 0) > 0;
  thread.render({
    conversation,
    streaming: running?.mode === 'chat' && running.conversation === conversation ? running.message : undefined,
    busy: running !== undefined,
    editing,
    maxTokens: settings.maxTokens,
  });
}

/** How full the model's context was after the last exchange that reported usage. */
function renderContextMeter(): void {
  const answers = current()?.messages.filter((m): m is AssistantMessage => m.role === 'assistant') ?? [];
  const last = answers.findLast((m) => m.stats?.promptTokens !== undefined);
  const fill = contextFill(last?.stats, contextSizes.get(requestedModel(current())));
  contextMeter.hidden = fill === undefined;
  if (!fill) return;
  contextBar.hidden = fill.size === undefined;
  if (fill.size === undefined) {
    contextText.textContent = `${fill.used} tokens`;
    return;
  }
  contextBar.max = fill.size;
  contextBar.value = Math.min(fill.used, fill.size);
  contextBar.low = fill.size * 0.5;
  contextBar.high = fill.size * 0.8;
  contextBar.optimum = 0;
  contextText.textContent = `${fill.used} / ${fill.size} tokens`;
}

function renderList(): void {
  renderSidebar(
    byId('conversation-list'),
    byId('conversation-empty'),
    conversations.filter((c) => c.messages.length > 0),
    currentId,
    {
      select(id) {
        currentId = id;
        editing = false;
        store.saveCurrentId(id);
        closeSidebar();
        renderAll();
        promptEl.focus();
      },
      remove(id) {
        if (running?.mode === 'chat' && running.conversation.id === id) stop();
        conversations = conversations.filter((c) => c.id !== id);
        if (currentId === id) currentId = [...conversations].sort((a, b) => b.updatedAt - a.updatedAt)[0]?.id;
        store.saveCurrentId(currentId ?? null);
        saveConversations();
        renderAll();
        announce('Conversation deleted.');
      },
    },
  );
}

function renderControls(): void {
  const busy = running !== undefined;
  sendBtn.hidden = running?.mode === 'chat';
  stopBtn.hidden = running?.mode !== 'chat';
  sendBtn.disabled = busy;
  completeBtn.hidden = running?.mode === 'completion';
  completeStop.hidden = running?.mode !== 'completion';
  completeBtn.disabled = busy;
  completeAppend.hidden = busy || !completion.output;
  renderModelPicker();
}

/**
 * The header's model: a picker when there is a choice (every served name, plus the one asked
 * when the server does not list it), else just the name.
 */
function renderModelPicker(): void {
  const model = requestedModel(headerConversation());
  const names = model && !servedModels.includes(model) ? [...servedModels, model] : servedModels;
  modelLabel.textContent = model || 'server default';
  const choice = names.length > 1;
  modelLabel.hidden = choice;
  modelSelect.hidden = !choice;
  if (!choice) return;
  const listed = [...modelSelect.options].map((o) => o.value);
  if (listed.length !== names.length || listed.some((name, i) => name !== names[i])) {
    modelSelect.replaceChildren(...names.map((name) => h('option', { attrs: { value: name }, text: name })));
  }
  modelSelect.value = model;
}

// --- completion mode ---

async function complete(): Promise<void> {
  const prompt = completionPrompt.value;
  if (running || !prompt) return;
  const controller = new AbortController();
  running = { controller, mode: 'completion' };
  completion.prompt = prompt;
  completion.outputPrompt = prompt;
  completion.output = '';
  delete completion.end;
  delete completion.stats;
  saveCompletion();
  renderAll();
  announce('Generating…');
  const result = await streamAnswer({
    kind: 'completions',
    body: requestBody(requestedModel(undefined), { prompt }),
    signal: controller.signal,
    apiKey,
    onText(text) {
      completion.output += text;
      // Plain text: appending to the text node is all a token costs.
      completionGenerated.append(text);
      keepCompletionInView();
      saveSoon('completion');
    },
    onRetract() {
      completion.output = '';
      completionGenerated.textContent = '';
    },
  });
  running = undefined;
  completion.stats = result.stats;
  if (leaving) {
    completion.end = { kind: 'interrupted' }; // as in generate()
    return;
  }
  completion.end = result.end;
  saveCompletion();
  renderAll();
  announceEnd(result);
}

function renderCompletion(): void {
  const streaming = running?.mode === 'completion';
  completionResult.hidden = !streaming && !completion.output && !completion.end;
  completionEcho.textContent = completion.outputPrompt;
  completionGenerated.textContent = completion.output;
  completionResult.classList.toggle('streaming', streaming);
  completionResult.setAttribute('aria-busy', String(streaming));
  const notice = streaming ? undefined : noticeFor(completion.end, settings.maxTokens);
  completionNotice.replaceChildren();
  if (notice) {
    const action =
      notice.action === 'retry' && !running
        ? retryButton(notice.retryAt, () => {
            completionPrompt.value = completion.outputPrompt;
            complete();
          })
        : undefined;
    completionNotice.append(
      h(
        'div',
        { class: `notice notice-${notice.tone}`, attrs: { role: notice.tone === 'error' ? 'alert' : 'status' } },
        h('strong', { text: notice.title }),
        h('span', { text: ` ${notice.detail}` }),
        action,
      ),
    );
  }
  const badge = badgeFor(streaming ? undefined : completion.end);
  const finish = completion.end?.kind === 'done' ? completion.end.finishReason : undefined;
  const figures = formatStats(completion.stats, finish);
  completionMeta.replaceChildren(
    ...(badge ? [h('span', { class: `badge badge-${badge.replace(' ', '-')}`, text: badge })] : []),
    ...(figures.length ? [h('span', { class: 'figures', text: figures.join(' · ') })] : []),
  );
}

function keepCompletionInView(): void {
  const scroller = completionPanel.querySelector('.completion-scroll');
  if (scroller && scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80) {
    scroller.scrollTop = scroller.scrollHeight;
  }
}

// --- settings ---

/** The model field of Settings: the one this conversation asks, else the default. */
function shownModel(): string {
  return headerConversation()?.model ?? settings.model;
}

function openSettings(): void {
  const field = (name: string) => settingsForm.elements.namedItem(name) as HTMLInputElement;
  field('model').value = shownModel();
  field('systemMessage').value = settings.systemMessage;
  field('maxTokens').value = String(settings.maxTokens);
  field('temperature').value = String(settings.temperature);
  field('includeUsage').checked = settings.includeUsage;
  field('apiKey').value = apiKey;
  dialog.showModal();
}

settingsForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const field = (name: string) => settingsForm.elements.namedItem(name) as HTMLInputElement;
  // A model typed here is a switch, as in the header; left as shown, nothing changes.
  const model = field('model').value.trim();
  const conversation = headerConversation();
  const switched = model !== shownModel();
  if (switched && conversation) {
    if (model) conversation.model = model;
    else delete conversation.model;
    saveConversations();
  }
  settings = {
    model: switched ? model : settings.model,
    systemMessage: field('systemMessage').value,
    maxTokens: Math.max(1, Math.round(Number(field('maxTokens').value))),
    temperature: Math.min(2, Math.max(0, Number(field('temperature').value))),
    includeUsage: field('includeUsage').checked,
  };
  apiKey = field('apiKey').value.trim();
  if (apiKey) session.setItem(KEYS.apiKey, apiKey);
  else session.removeItem(KEYS.apiKey);
  store.saveSettings(settings);
  dialog.close();
  renderAll();
  announce('Settings saved.');
});
byId('settings-cancel').addEventListener('click', () => dialog.close());
byId('open-settings').addEventListener('click', openSettings);
dialog.addEventListener('click', (e) => {
  // A click on the backdrop (outside the form) closes the dialog.
  if (e.target === dialog) dialog.close();
});

/** Fills the model suggestions from the server; the first one is the default. */
async function loadModels(): Promise<void> {
  try {
    const res = await fetch('/v1/models', { headers: apiKey ? { 'api-key': apiKey } : {}, cache: 'no-store' });
    if (!res.ok) return;
    const body = (await res.json()) as { data?: unknown };
    const entries: unknown[] = Array.isArray(body.data) ? body.data : [];
    const ids: string[] = [];
    for (const entry of entries) {
      const id = (entry as { id?: unknown } | null)?.id;
      if (typeof id !== 'string') continue;
      ids.push(id);
      const size = contextSizeOfModel(entry);
      if (size !== undefined) contextSizes.set(id, size);
    }
    servedModels = ids;
    byId('model-options').replaceChildren(...ids.map((id) => h('option', { attrs: { value: id } })));
    renderControls();
    renderContextMeter();
  } catch {
    // The page works without the list.
  }
}

// --- sidebar, mode, keyboard ---

function openSidebar(): void {
  app.classList.add('sidebar-open');
  backdrop.hidden = false;
  sidebarToggle.setAttribute('aria-expanded', 'true');
  byId('new-chat').focus();
}
function closeSidebar(): void {
  if (!app.classList.contains('sidebar-open')) return;
  app.classList.remove('sidebar-open');
  backdrop.hidden = true;
  sidebarToggle.setAttribute('aria-expanded', 'false');
}
sidebarToggle.addEventListener('click', () =>
  app.classList.contains('sidebar-open') ? closeSidebar() : openSidebar(),
);
backdrop.addEventListener('click', closeSidebar);
modelSelect.addEventListener('change', () => pickModel(modelSelect.value));

byId('new-chat').addEventListener('click', () => {
  const existing = conversations.find((c) => c.messages.length === 0);
  const conversation = existing ?? newConversation();
  if (!existing) conversations.push(conversation);
  currentId = conversation.id;
  editing = false;
  store.saveCurrentId(currentId);
  setMode('chat');
  closeSidebar();
  renderAll();
  promptEl.focus();
});

function setMode(next: 'chat' | 'completion'): void {
  mode = next;
  const chat = next === 'chat';
  tabChat.setAttribute('aria-selected', String(chat));
  tabCompletion.setAttribute('aria-selected', String(!chat));
  tabChat.tabIndex = chat ? 0 : -1;
  tabCompletion.tabIndex = chat ? -1 : 0;
  chatPanel.hidden = !chat;
  completionPanel.hidden = chat;
  app.dataset.mode = next;
  renderModelPicker();
}
tabChat.addEventListener('click', () => {
  setMode('chat');
  promptEl.focus();
});
tabCompletion.addEventListener('click', () => {
  setMode('completion');
  completionPrompt.focus();
});
// Arrow keys move between tabs (WAI-ARIA tabs pattern).
for (const tab of [tabChat, tabCompletion]) {
  tab.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const next = mode === 'chat' ? 'completion' : 'chat';
    setMode(next);
    (next === 'chat' ? tabChat : tabCompletion).focus();
  });
}

composer.addEventListener('submit', (e) => {
  e.preventDefault();
  send(promptEl.value);
});
promptEl.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    if (!running) send(promptEl.value);
  }
});
promptEl.addEventListener('input', () => autosize(promptEl));
stopBtn.addEventListener('click', () => {
  stop();
  promptEl.focus();
});

completeBtn.addEventListener('click', () => complete());
completeStop.addEventListener('click', stop);
completeAppend.addEventListener('click', () => {
  completionPrompt.value = completion.outputPrompt + completion.output;
  completion.prompt = completionPrompt.value;
  saveCompletion();
  completionPrompt.focus();
});
completionPrompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    complete();
  }
});
completionPrompt.addEventListener('input', () => {
  completion.prompt = completionPrompt.value;
  saveCompletion();
});

document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || dialog.open || e.defaultPrevented) return;
  if (running) {
    e.preventDefault();
    stop();
  } else if (app.classList.contains('sidebar-open')) {
    closeSidebar();
    sidebarToggle.focus();
  }
});

// Another tab changed the conversations: follow it unless this tab is streaming.
window.addEventListener('storage', (e) => {
  if (e.key !== KEYS.conversations || running) return;
  conversations = store.loadConversations();
  if (!conversations.some((c) => c.id === currentId)) currentId = conversations[0]?.id;
  renderAll();
});

// A Retry button counting down a rate limit.
setInterval(() => tickRetryButtons(document, Date.now()), 1000);

// --- helpers ---

/**
 * The browser's storage, or a memory stand-in where it is blocked (privacy settings make
 * merely reading `localStorage` throw): the page still works, it just forgets on reload.
 */
function storageOr(name: 'localStorage' | 'sessionStorage'): KeyValueStorage {
  try {
    const storage = window[name];
    storage.getItem('probe');
    return storage;
  } catch {
    const memory = new Map<string, string>();
    return {
      getItem: (k) => memory.get(k) ?? null,
      setItem: (k, v) => void memory.set(k, v),
      removeItem: (k) => void memory.delete(k),
    };
  }
}

function announce(text: string): void {
  announcer.textContent = text;
}

function announceEnd({ end }: StreamAnswerResult): void {
  const notice = noticeFor(end, settings.maxTokens);
  announce(notice ? `${notice.title}. ${notice.detail}` : 'Answer complete.');
}

const fieldSizing = CSS.supports('field-sizing', 'content');
/** Grows the message box with its text where CSS field-sizing is not supported. */
function autosize(area: HTMLTextAreaElement): void {
  if (fieldSizing) return;
  area.style.height = 'auto';
  area.style.height = `${Math.min(area.scrollHeight, window.innerHeight * 0.4)}px`;
}

// --- start ---

completionPrompt.value = completion.prompt;
setMode('chat');
renderAll();
promptEl.focus();
void loadModels();
{
  const conversation = current();
  const last = conversation?.messages.at(-1);
  if (conversation && last?.role === 'assistant' && last.stream) void resumeAnswer(conversation, last);
}
