/**
 * A small, line-at-a-time code highlighter for fenced blocks: comments, strings, numbers,
 * keywords. It never changes the text, only adds colour, so a highlighted line is exactly
 * as wide as the plain one. Pure.
 * @module
 */
import { sgr } from './style.js';

const KEYWORDS = new Set(
  (
    'abstract and as async await break case catch class const continue def default defer del do elif else ' +
    'enum except export extends false final finally fn for from func function go if impl implements import in ' +
    'instanceof interface is let match mod module mut new nil none not null of or package pass private ' +
    'protected pub public raise readonly return self static struct super switch this throw throws trait true ' +
    'try type typeof undefined use var void where while with yield True False None echo then fi done esac local'
  ).split(' '),
);

const HASH_COMMENT = new Set([
  'python',
  'py',
  'sh',
  'bash',
  'zsh',
  'shell',
  'console',
  'ruby',
  'rb',
  'yaml',
  'yml',
  'toml',
  'perl',
  'r',
  'dockerfile',
  'makefile',
  'make',
  'ini',
  'conf',
  'powershell',
  'ps1',
  'elixir',
]);
const DASH_COMMENT = new Set(['sql', 'lua', 'haskell', 'hs']);

const STRINGS = String.raw`"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|${'`'}(?:[^${'`'}\\]|\\.)*${'`'}?`;
const REST = String.raw`(\b(?:0x[\da-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?)\b)|([A-Za-z_$][\w$]*)`;
const C_COMMENT = String.raw`\/\/.*$|\/\*.*?(?:\*\/|$)`;
const tokenizers = new Map<string, RegExp>();

/** One regex per comment style: comment | string | number | word. */
function tokenizer(lang: string): RegExp {
  const style = HASH_COMMENT.has(lang) ? 'hash' : DASH_COMMENT.has(lang) ? 'dash' : lang === '' ? 'any' : 'c';
  let re = tokenizers.get(style);
  if (!re) {
    const comment = { hash: '#.*$', dash: '--.*$', c: C_COMMENT, any: `${C_COMMENT}|#.*$` }[style];
    re = new RegExp(`(${comment})|(${STRINGS})|${REST}`, 'g');
    tokenizers.set(style, re);
  }
  return re;
}

/**
 * Colours one line of code in language `lang` (the fence's info string).
 * @example
 * highlightLine('const x = 1; // one', 'ts') // keywords, numbers and the comment coloured
 */
export function highlightLine(line: string, lang: string): string {
  const re = tokenizer(lang.toLowerCase());
  re.lastIndex = 0;
  let out = '';
  let last = 0;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    const [text, comment, string, number, word] = m;
    let styled: string | undefined;
    if (comment !== undefined) styled = sgr.dim(text);
    else if (string !== undefined) styled = sgr.green(text);
    else if (number !== undefined) styled = sgr.yellow(text);
    else if (word !== undefined && KEYWORDS.has(word)) styled = sgr.magenta(text);
    if (styled !== undefined) {
      out += line.slice(last, m.index) + styled;
      last = m.index + text.length;
    }
    if (text === '') re.lastIndex++;
  }
  return out + line.slice(last);
}
