/**
 * "Did you mean ...?": how far a typed word is from a command, a flag or a chat command,
 * counted in typing mistakes. Pure.
 *
 * The rule for the first word of `sluice WORD ...` (docs/cli.md, "Commands"): it is taken for
 * a mistyped command, not a prompt, when it is a single lower-case word of at least 3 letters
 * that is one typing mistake away from a command (two for commands of 6 letters or more). A
 * typing mistake is a swap of two neighbouring letters, a missing letter, an extra letter, or
 * a letter replaced by a key next to it on a QWERTY keyboard. A word replaced by any other
 * letter (`what`, `that`: one letter from `chat`) is an ordinary word, so a prompt that
 * starts with it is sent. A prompt meant literally always goes after `--`.
 * @module
 */

/** QWERTY neighbours of each letter (same row and the rows above and below). */
const NEIGHBOURS: Record<string, string> = {
  q: 'wa',
  w: 'qeas',
  e: 'wrsd',
  r: 'etdf',
  t: 'ryfg',
  y: 'tugh',
  u: 'yihj',
  i: 'uojk',
  o: 'ipkl',
  p: 'ol',
  a: 'qwsz',
  s: 'weadzx',
  d: 'erfscx',
  f: 'rtdgcv',
  g: 'tyfhvb',
  h: 'yugjbn',
  j: 'uihknm',
  k: 'iojlm',
  l: 'opk',
  z: 'asx',
  x: 'zsdc',
  c: 'xdfv',
  v: 'cfgb',
  b: 'vghn',
  n: 'bhjm',
  m: 'njk',
};

export interface DistanceOptions {
  /**
   * `neighbours`: a replaced letter counts as a mistake only when its key is next to the
   * intended one (other replacements cost 2: a deletion plus an insertion). `any`: every
   * replacement counts 1 (flags, where no ordinary word can be meant).
   */
  replacement: 'neighbours' | 'any';
}

/**
 * Typing mistakes between `typed` and `intended` (optimal string alignment distance:
 * insertions, deletions, replacements and swaps of neighbouring letters).
 * @example
 * typoDistance('chta', 'chat') // 1
 * typoDistance('what', 'chat', { replacement: 'neighbours' }) // 2
 */
export function typoDistance(
  typed: string,
  intended: string,
  options: DistanceOptions = { replacement: 'any' },
): number {
  const a = typed;
  const b = intended;
  // rows[i][j]: mistakes between a[0..i) and b[0..j).
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const x = a[i - 1] as string;
      const y = b[j - 1] as string;
      const prev = rows[i - 1] as number[];
      const replace = x === y ? 0 : options.replacement === 'any' || NEIGHBOURS[y]?.includes(x) ? 1 : 2;
      let best = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + replace);
      if (i > 1 && j > 1 && x === b[j - 2] && a[i - 2] === y) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The candidate `typed` most likely stands for, within `maxDistance` mistakes; undefined when
 * none is that close (or two are equally close: no guessing).
 * @example
 * closest('--max-token', ['--max-tokens', '--stop'], 2) // '--max-tokens'
 */
export function closest(
  typed: string,
  candidates: readonly string[],
  maxDistance: number | ((candidate: string) => number),
  options?: DistanceOptions,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let tie = false;
  for (const c of candidates) {
    if (c === typed) return c;
    const d = typoDistance(typed, c, options);
    const limit = typeof maxDistance === 'number' ? maxDistance : maxDistance(c);
    if (d > limit) continue;
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance) tie = true;
  }
  return tie ? undefined : best;
}

/**
 * The command a first word was probably meant to be, by the rule in this module's comment;
 * undefined when the word should be read as (the start of) a prompt.
 * @example
 * mistypedCommand('chta', ['complete', 'chat', 'serve']) // 'chat'
 * mistypedCommand('what', ['complete', 'chat', 'serve']) // undefined
 */
export function mistypedCommand(word: string, commands: readonly string[]): string | undefined {
  if (!/^[a-z]{3,}$/.test(word) || commands.includes(word)) return undefined;
  return closest(word, commands, (c) => (c.length >= 6 ? 2 : 1), { replacement: 'neighbours' });
}

/**
 * Mistakes tolerated in a flag name: one for names of up to 4 letters, two for longer ones.
 * @example
 * flagSlack('--stop') // 1
 */
export function flagSlack(flag: string): number {
  return flag.replace(/^-+/, '').length >= 5 ? 2 : 1;
}
