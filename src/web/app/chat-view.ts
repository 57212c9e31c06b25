/**
 * Renders a conversation: user messages as plain text, answers as sanitized Markdown with
 * their figures, badge and notice. The answer being streamed is updated in place, at most
 * once per animation frame.
 * @module
 */
import { h } from './dom.js';
import { badgeFor, formatStats, type Notice, noticeFor, secondsLeft } from './format.js';
import { createMarkdownView, type MarkdownView } from './markdown.js';
import type { AssistantMessage, Conversation, ToolCallView } from './types.js';

export interface ThreadActions {
  /** Regenerate / retry the last answer. */
  retry(): void;
  /** Start editing the last user message. */
  edit(): void;
  /** Leave the editor, or send the edited message. */
  finishEdit(text: string | null): void;
  openSettings(): void;
}

export interface ThreadState {
  conversation: Conversation | undefined;
  /** The answer being streamed, if it belongs to this conversation. */
  streaming: AssistantMessage | undefined;
  /** Any generation running (chat or completion): actions that start one are hidden. */
  busy: boolean;
  editing: boolean;
  maxTokens: number;
}

export interface ThreadView {
  render(state: ThreadState): void;
  /** Schedules a repaint of the streaming answer (text, figures). */
  streamed(): void;
}

export function createThreadView(scroller: HTMLElement, thread: HTMLElement, actions: ThreadActions): ThreadView {
  let live:
    | { message: AssistantMessage; view: MarkdownView; meta: HTMLElement; article: HTMLElement; calls: HTMLElement }
    | undefined;
  let frame = 0;

  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const toBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
  };

  const paintLive = () => {
    frame = 0;
    if (!live) return;
    const pinned = nearBottom();
    live.view.update(live.message.content);
    updateToolCalls(live.calls, live.message);
    live.article.classList.toggle('empty', isEmpty(live.message));
    live.meta.replaceChildren(...metaParts(live.message));
    if (pinned) toBottom();
  };

  return {
    render(state) {
      const pinned = nearBottom();
      live = undefined;
      const messages = state.conversation?.messages ?? [];
      const lastUser = findLastIndex(messages, (m) => m.role === 'user');
      const lastIndex = messages.length - 1;
      const children: HTMLElement[] = [];
      const contextStart = state.conversation?.contextStart ?? 0;
      messages.forEach((message, i) => {
        if (i === contextStart && i > 0) children.push(contextDivider(i));
        if (message.role === 'user') {
          const canEdit = i === lastUser && !state.busy;
          children.push(userMessage(message.content, canEdit, state.editing && canEdit, actions));
          return;
        }
        const isStreaming = message === state.streaming;
        const body = h('div', { class: 'msg-body markdown' });
        const view = createMarkdownView(body);
        view.update(message.content);
        if (!isStreaming) addCodeCopyButtons(body);
        const calls = h('div', { class: 'tool-calls' });
        updateToolCalls(calls, message);
        const meta = h('p', { class: 'meta' }, ...metaParts(message));
        const notice = isStreaming ? undefined : noticeFor(message.end, state.maxTokens);
        const canRetry = i === lastIndex && !state.busy;
        const article = h(
          'article',
          {
            class: `msg assistant${isStreaming ? ' streaming' : ''}${isEmpty(message) ? ' empty' : ''}`,
            attrs: { 'aria-busy': isStreaming ? 'true' : undefined, 'aria-label': 'Answer' },
          },
          h(
            'div',
            { class: 'msg-role' },
            'Assistant',
            message.model
              ? h('span', { class: 'msg-model', attrs: { title: 'Model' }, text: message.model })
              : undefined,
          ),
          body,
          calls,
          notice ? noticeElement(notice, canRetry, actions) : undefined,
          meta,
          isStreaming ? undefined : answerActions(message, canRetry, notice, actions),
        );
        if (isStreaming) live = { message, view, meta, article, calls };
        children.push(article);
      });
      thread.replaceChildren(...children);
      if (pinned || state.streaming) toBottom();
    },
    streamed() {
      if (!frame) frame = requestAnimationFrame(paintLive);
    },
  };
}

function isEmpty(message: AssistantMessage): boolean {
  return message.content === '' && !message.toolCalls?.length;
}

/** Which tool-call blocks the user opened, per answer: a re-render keeps them open. */
const openCalls = new WeakMap<AssistantMessage, Set<number>>();

/**
 * One collapsible block per tool call: the function name as summary, the arguments
 * pretty-printed once they parse (as received while they stream). Blocks are updated in
 * place while streaming, and one the user opened stays open across re-renders.
 */
function updateToolCalls(container: HTMLElement, message: AssistantMessage): void {
  const calls: readonly ToolCallView[] = message.toolCalls ?? [];
  const blocks = container.children;
  calls.forEach((call, i) => {
    let block = blocks[i] as HTMLDetailsElement | undefined;
    if (!block) {
      const details = h(
        'details',
        { class: 'tool-call', attrs: { open: openCalls.get(message)?.has(i) ?? false } },
        h('summary', {}, h('span', { class: 'tool-icon', text: '⚙', attrs: { 'aria-hidden': 'true' } }), h('code')),
        h('pre', { class: 'tool-args' }),
      );
      details.addEventListener('toggle', () => {
        const open = openCalls.get(message) ?? new Set<number>();
        if (details.open) open.add(i);
        else open.delete(i);
        openCalls.set(message, open);
      });
      container.append(details);
      block = details;
    }
    const name = block.querySelector('summary code');
    if (name && name.textContent !== call.name) name.textContent = call.name;
    const args = block.querySelector('pre');
    const text = prettyArguments(call.arguments);
    if (args && args.textContent !== text) args.textContent = text;
  });
  while (blocks.length > calls.length) blocks[blocks.length - 1]?.remove();
}

function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** Marks where the messages sent to the model begin, once the oldest were dropped. */
function contextDivider(dropped: number): HTMLElement {
  const what = dropped === 1 ? 'the message above is' : `the ${dropped} messages above are`;
  return h('p', {
    class: 'context-divider',
    attrs: { role: 'note' },
    text: `Context full: ${what} no longer sent to the model.`,
  });
}

function userMessage(text: string, canEdit: boolean, editing: boolean, actions: ThreadActions): HTMLElement {
  if (editing) {
    const area = h('textarea', { class: 'edit-area', attrs: { 'aria-label': 'Edit your message', rows: 3 } });
    area.value = text;
    const send = () => actions.finishEdit(area.value);
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        actions.finishEdit(null);
      }
    });
    queueMicrotask(() => {
      area.focus();
      area.setSelectionRange(area.value.length, area.value.length);
    });
    return h(
      'article',
      { class: 'msg user editing', attrs: { 'aria-label': 'Your message (editing)' } },
      area,
      h(
        'div',
        { class: 'msg-actions' },
        button('Cancel', () => actions.finishEdit(null)),
        button('Send', send, 'btn-primary'),
      ),
    );
  }
  return h(
    'article',
    { class: 'msg user', attrs: { 'aria-label': 'Your message' } },
    h('div', { class: 'msg-body', text }),
    canEdit
      ? h('div', { class: 'msg-actions' }, button('Edit', actions.edit, undefined, 'Edit and resend'))
      : undefined,
  );
}

function metaParts(message: AssistantMessage): Node[] {
  const parts: Node[] = [];
  const badge = badgeFor(message.end);
  if (badge) parts.push(h('span', { class: `badge badge-${badge.replace(' ', '-')}`, text: badge }));
  const finish = message.end?.kind === 'done' ? message.end.finishReason : undefined;
  const figures = formatStats(message.stats, finish);
  if (figures.length > 0) parts.push(h('span', { class: 'figures', text: figures.join(' · ') }));
  return parts;
}

function noticeElement(notice: Notice, canAct: boolean, actions: ThreadActions): HTMLElement {
  let action: HTMLElement | undefined;
  if (canAct && notice.action === 'retry') action = retryButton(notice.retryAt, actions.retry);
  else if (canAct && notice.action === 'edit') action = button('Edit message', actions.edit, 'btn-small');
  else if (notice.action === 'settings') action = button('Open settings', actions.openSettings, 'btn-small');
  return h(
    'div',
    { class: `notice notice-${notice.tone}`, attrs: { role: notice.tone === 'error' ? 'alert' : 'status' } },
    h('strong', { text: notice.title }),
    h('span', { text: ` ${notice.detail}` }),
    action,
  );
}

/** A Retry button; while a rate limit lasts it counts down, disabled (see tickRetryButtons). */
export function retryButton(retryAt: number | undefined, onClick: () => void): HTMLButtonElement {
  const btn = button('Retry', onClick, 'btn-small retry');
  if (retryAt !== undefined) {
    btn.dataset.retryAt = String(retryAt);
    tick(btn, Date.now());
  }
  return btn;
}

/** Updates every counting-down Retry button; called once a second. */
export function tickRetryButtons(root: ParentNode, nowMs: number): void {
  for (const btn of root.querySelectorAll<HTMLButtonElement>('button[data-retry-at]')) tick(btn, nowMs);
}

function tick(btn: HTMLButtonElement, nowMs: number): void {
  const left = secondsLeft(Number(btn.dataset.retryAt), nowMs);
  btn.disabled = left > 0;
  btn.textContent = left > 0 ? `Retry in ${left} s` : 'Retry';
  if (left === 0) delete btn.dataset.retryAt;
}

function answerActions(
  message: AssistantMessage,
  isLast: boolean,
  notice: Notice | undefined,
  actions: ThreadActions,
): HTMLElement | undefined {
  const buttons: HTMLElement[] = [];
  if (message.content && navigator.clipboard) {
    buttons.push(
      button('Copy', (e) => copy(message.content, e.currentTarget as HTMLButtonElement), undefined, 'Copy answer'),
    );
  }
  // The notice already offers Retry for a failed answer; Regenerate is for the others.
  if (isLast && notice?.action !== 'retry') buttons.push(button('Regenerate', actions.retry));
  return buttons.length > 0 ? h('div', { class: 'msg-actions' }, ...buttons) : undefined;
}

function addCodeCopyButtons(body: HTMLElement): void {
  if (!navigator.clipboard) return;
  for (const pre of body.querySelectorAll('pre')) {
    const code = pre.textContent ?? '';
    pre.append(
      button('Copy', (e) => copy(code, e.currentTarget as HTMLButtonElement), 'code-copy btn-small', 'Copy code'),
    );
  }
}

function copy(text: string, btn: HTMLButtonElement): void {
  navigator.clipboard.writeText(text).then(
    () => flash(btn, 'Copied'),
    () => flash(btn, 'Copy failed'),
  );
}

function flash(btn: HTMLButtonElement, text: string): void {
  const before = btn.textContent;
  btn.textContent = text;
  setTimeout(() => {
    btn.textContent = before;
  }, 1200);
}

function button(label: string, onClick: (e: MouseEvent) => void, cls?: string, ariaLabel?: string): HTMLButtonElement {
  return h('button', {
    class: `btn ${cls ?? 'btn-ghost'}`,
    text: label,
    attrs: { type: 'button', 'aria-label': ariaLabel },
    on: { click: onClick },
  });
}

function findLastIndex<T>(list: readonly T[], test: (item: T) => boolean): number {
  for (let i = list.length - 1; i >= 0; i--) if (test(list[i] as T)) return i;
  return -1;
}
