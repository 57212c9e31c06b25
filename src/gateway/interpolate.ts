/**
 * `${NAME}` in a configuration value: replaced by the variable's value (the environment,
 * then `.env`). `$${` writes a literal `${`. Pure: the lookup is passed in, so every rule is
 * unit-tested without touching `process.env`.
 * @module
 */

/** What became of one value: the text with every reference replaced, or the names missing. */
export type Interpolated =
  | { ok: true; text: string; used: string[] }
  | { ok: false; missing: string[]; invalid: string[] };

/** A reference's name: what POSIX shells accept as a variable name. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces each `${NAME}` in `text` by `lookup(NAME)`. A name the lookup does not know (or
 * knows as empty) is missing; a reference that is not a name (`${}`, `${A B}`, an unclosed
 * `${`) is invalid. Either way nothing is replaced, so no half-interpolated value escapes.
 *
 * @example
 * interpolate('${KEY}', (n) => ({ KEY: 'k1' })[n]) // { ok: true, text: 'k1', used: ['KEY'] }
 * interpolate('cost: $${X}', () => undefined)      // { ok: true, text: 'cost: ${X}', used: [] }
 * interpolate('${NOPE}', () => undefined)          // { ok: false, missing: ['NOPE'], invalid: [] }
 */
export function interpolate(text: string, lookup: (name: string) => string | undefined): Interpolated {
  if (!text.includes('${')) return { ok: true, text, used: [] };
  let out = '';
  const used: string[] = [];
  const missing: string[] = [];
  const invalid: string[] = [];
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start === -1) {
      out += text.slice(i);
      break;
    }
    if (start > 0 && text[start - 1] === '$') {
      // `$${`: the escape for a literal `${`; drop the extra `$`.
      out += `${text.slice(i, start - 1)}\${`;
      i = start + 2;
      continue;
    }
    out += text.slice(i, start);
    const end = text.indexOf('}', start + 2);
    const name = end === -1 ? undefined : text.slice(start + 2, end);
    if (name === undefined || !NAME.test(name)) {
      invalid.push(end === -1 ? text.slice(start, start + 20) : text.slice(start, end + 1));
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    const value = lookup(name);
    if (value === undefined || value === '') missing.push(name);
    else {
      out += value;
      used.push(name);
    }
    i = end + 1;
  }
  return missing.length > 0 || invalid.length > 0 ? { ok: false, missing, invalid } : { ok: true, text: out, used };
}
