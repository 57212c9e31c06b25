/**
 * SGR (colour and emphasis) escapes. Each helper closes only what it opened, so styles can
 * nest; `reopen` restores an enclosing style after an inner one closed.
 * @module
 */

const wrap =
  (open: string, close: string) =>
  (text: string, reopen = ''): string =>
    `\u001b[${open}m${text}\u001b[${close}m${reopen}`;

export const sgr = {
  bold: wrap('1', '22'),
  dim: wrap('2', '22'),
  italic: wrap('3', '23'),
  underline: wrap('4', '24'),
  strike: wrap('9', '29'),
  red: wrap('31', '39'),
  green: wrap('32', '39'),
  yellow: wrap('33', '39'),
  blue: wrap('34', '39'),
  magenta: wrap('35', '39'),
  cyan: wrap('36', '39'),
  gray: wrap('90', '39'),
};

/** Opening codes for a base style, re-applied after nested styles close. */
export const BASE = {
  h1: '\u001b[1;4;35m',
  h2: '\u001b[1;36m',
  h3: '\u001b[1m',
  quote: '\u001b[2;3m',
  none: '',
} as const;

export const RESET = '\u001b[0m';
