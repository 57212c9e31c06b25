/**
 * A text that arrives in pieces (a streamed answer's content, a tool call's arguments), held as
 * parts until it is read. A stream can be open for minutes, and a gateway holds hundreds: kept
 * as one string and one array slot per chunk, a text of chunks of a few words costs about 45
 * bytes a chunk; joined a group at a time as the pieces come, about its characters
 * (`accumulate.test.ts`, "long answers").
 * @module
 */

/** Loose pieces joined at a time: a join then costs less than the chunks that brought them. */
const PIECES_PER_JOIN = 64;

/**
 * Appends `piece` to `parts`, whose first part is the text so far and the rest loose pieces.
 * Every PIECES_PER_JOIN loose pieces are joined into one string and added to the first part as
 * a rope (nothing before them is copied; `joinParts` flattens the whole once, when read).
 *
 * @example
 * const parts: string[] = [];
 * for (const piece of ['Once', ' upon', ' a time']) pushPart(parts, piece);
 * joinParts(parts); // 'Once upon a time'
 */
export function pushPart(parts: string[], piece: string): void {
  parts.push(piece);
  if (parts.length <= PIECES_PER_JOIN) return;
  const loose = parts.splice(1, PIECES_PER_JOIN).join('');
  parts[0] += loose;
}

/**
 * The text `parts` hold. Joins once, then keeps the joined string as the only part, so that later
 * reads are O(1) and later pieces append to it.
 *
 * @example
 * joinParts(['Once', ' upon']); // 'Once upon'
 */
export function joinParts(parts: string[]): string {
  if (parts.length === 0) return '';
  if (parts.length === 1) return parts[0]!;
  const joined = parts.join('');
  parts.length = 1;
  parts[0] = joined;
  return joined;
}
