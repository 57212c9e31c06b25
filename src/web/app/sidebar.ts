/**
 * The conversation list: select, delete (two clicks: the first asks "Delete?"), newest first.
 * @module
 */
import { h } from './dom.js';
import type { Conversation } from './types.js';

export interface SidebarActions {
  select(id: string): void;
  remove(id: string): void;
}

export function renderSidebar(
  list: HTMLElement,
  empty: HTMLElement,
  conversations: readonly Conversation[],
  currentId: string | undefined,
  actions: SidebarActions,
): void {
  const sorted = [...conversations].sort((a, b) => b.updatedAt - a.updatedAt);
  empty.hidden = sorted.length > 0;
  list.replaceChildren(
    ...sorted.map((c) => {
      const current = c.id === currentId;
      const remove = h('button', {
        class: 'conv-delete',
        text: '×',
        attrs: { type: 'button', 'aria-label': `Delete conversation: ${c.title}`, title: 'Delete' },
      });
      // First click arms, second deletes; leaving the button disarms. No confirm() dialog.
      remove.addEventListener('click', () => {
        if (remove.dataset.armed) return actions.remove(c.id);
        remove.dataset.armed = 'true';
        remove.textContent = 'Delete?';
        remove.setAttribute('aria-label', `Confirm delete: ${c.title}`);
      });
      const disarm = () => {
        delete remove.dataset.armed;
        remove.textContent = '×';
        remove.setAttribute('aria-label', `Delete conversation: ${c.title}`);
      };
      remove.addEventListener('blur', disarm);
      remove.addEventListener('mouseleave', () => remove.dataset.armed && disarm());
      return h(
        'li',
        { class: `conv-item${current ? ' current' : ''}` },
        h('button', {
          class: 'conv-select',
          text: c.title,
          attrs: { type: 'button', 'aria-current': current ? 'true' : undefined, title: c.title },
          on: { click: () => actions.select(c.id) },
        }),
        remove,
      );
    }),
  );
}
