/**
 * Markdown for model output: marked (GFM) -> DOMPurify -> DOM nodes, rendered progressively.
 *
 * Model output is untrusted. Three layers keep it inert:
 * 1. the renderer escapes raw HTML (a `<script>` in an answer is shown as text) and never emits
 *    `<img>` (an image becomes its alt text: no remote loads);
 * 2. DOMPurify keeps only the tags and attributes Markdown needs, links only to http(s)/mailto;
 * 3. the page's CSP forbids inline script, remote loads, and HTML sinks outside DOMPurify's
 *    Trusted Types policy.
 * @module
 */
import DOMPurify from 'dompurify';
import { type Links, Marked, type Token, type Tokens } from 'marked';
import hljs from './highlight.js';

const ALLOWED_TAGS = [
  'a',
  'blockquote',
  'br',
  'code',
  'del',
  'em',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'li',
  'ol',
  'p',
  'pre',
  'span',
  'strong',
  'table',
  'tbody',
  'td',
  'th',
  'thead',
  'tr',
  'ul',
];
const ALLOWED_ATTR = ['href', 'title', 'class', 'start', 'align'];
/** Only classes this module or highlight.js emit. */
const SAFE_CLASS = /^(?:hljs[\w-]*|language-[\w+-]+|md-[\w-]+)$/;

DOMPurify.addHook('uponSanitizeAttribute', (_node, data) => {
  if (data.attrName === 'class') {
    data.attrValue = data.attrValue
      .split(/\s+/)
      .filter((c) => SAFE_CLASS.test(c))
      .join(' ');
    if (!data.attrValue) data.keepAttr = false;
  }
});
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    // Links open in a new tab, tell the target nothing about this page.
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // Raw HTML in model output is shown, not interpreted.
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    image({ text, href }: Tokens.Image): string {
      const label = text ? `image: ${text}` : 'image';
      return `<span class="md-image" title="${escapeHtml(href)}">[${escapeHtml(label)}]</span>`;
    },
    checkbox({ checked }: Tokens.Checkbox): string {
      return checked ? '☑ ' : '☐ ';
    },
    code({ text, lang }: Tokens.Code): string {
      const language = (lang ?? '').match(/^[\w+-]+/)?.[0]?.toLowerCase() ?? '';
      const known = language !== '' && hljs.getLanguage(language) !== undefined;
      const body = known ? hljs.highlight(text, { language, ignoreIllegals: true }).value : escapeHtml(text);
      const cls = language ? ` class="hljs language-${language}"` : ' class="hljs"';
      return `<pre class="md-code"><code${cls}>${body}</code></pre>`;
    },
  },
});

const PURIFY_CONFIG = {
  ALLOWED_TAGS,
  ALLOWED_ATTR,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  RETURN_DOM_FRAGMENT: true,
} as const;

/** Renders Markdown to a sanitized fragment. */
export function renderMarkdown(markdown: string): DocumentFragment {
  return sanitize(marked.parse(markdown, { async: false }));
}

function sanitize(html: string): DocumentFragment {
  return DOMPurify.sanitize(html, PURIFY_CONFIG);
}

export interface MarkdownView {
  /** Renders `text` (the whole answer so far), re-rendering only blocks that changed. */
  update(text: string): void;
  readonly element: HTMLElement;
}

/**
 * A progressive renderer: the text is re-lexed on every update (cheap), but only top-level
 * blocks whose source changed are re-rendered, so earlier paragraphs and code blocks keep
 * their DOM (and the reader's selection) while the answer streams.
 *
 * @example
 * ```ts
 * const view = createMarkdownView(document.createElement('div'));
 * view.update('# Hi\n\nsome');
 * view.update('# Hi\n\nsome text'); // only the paragraph is re-rendered
 * ```
 */
export function createMarkdownView(element: HTMLElement): MarkdownView {
  let blocks: Array<{ raw: string; nodes: Node[] }> = [];
  let linksKey = '';

  return {
    element,
    update(text: string) {
      const tokens = marked.lexer(text);
      // A new reference definition can change how earlier blocks render: start over.
      const key = Object.keys(tokens.links).join('\n');
      if (key !== linksKey) {
        linksKey = key;
        blocks = [];
        element.replaceChildren();
      }
      let same = 0;
      while (same < blocks.length && same < tokens.length && blocks[same]?.raw === tokens[same]?.raw) same++;
      for (const block of blocks.splice(same)) for (const node of block.nodes) node.parentNode?.removeChild(node);
      for (const token of tokens.slice(same)) {
        const fragment = renderTokens([token], tokens.links);
        blocks.push({ raw: token.raw, nodes: [...fragment.childNodes] });
        element.append(fragment);
      }
    },
  };
}

function renderTokens(tokens: Token[], links: Links): DocumentFragment {
  const list = Object.assign(tokens, { links });
  return sanitize(marked.parser(list));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
