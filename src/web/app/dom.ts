/**
 * A tiny element builder. Text is always set as text (never parsed as HTML), so anything a
 * user or model wrote can go through it safely; the only HTML the page parses is Markdown,
 * through DOMPurify (markdown.ts).
 * @module
 */

type Child = Node | string | false | null | undefined;

export interface Props {
  class?: string;
  text?: string;
  /** Attributes; `false`/`undefined` values are skipped, `true` sets an empty attribute. */
  attrs?: Record<string, string | number | boolean | undefined>;
  on?: { [E in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[E]) => void };
}

/**
 * @example
 * ```ts
 * h('button', { class: 'btn', attrs: { type: 'button' }, on: { click: retry } }, 'Retry');
 * ```
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [name, listener] of Object.entries(props.on ?? {})) {
    el.addEventListener(name, listener as EventListener);
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

/** Looks up an element that index.html must contain; a missing one is a build bug. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
}
