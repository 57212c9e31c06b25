/**
 * `-a FILE`: files sent with the prompt. Text files are inlined, each in a fenced block under
 * its name; png, jpeg, gif and webp files (known by their first bytes, not their names) are
 * images, sent as `image_url` content parts with data URLs. `-` is stdin. Anything else (a
 * binary file, a file too large) is refused before anything is sent.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ContentPart } from '../types.js';
import type { CliIO } from './io.js';
import { MAX_STDIN_BYTES, readStdin } from './prompt-input.js';
import { UsageError } from './usage-error.js';

/** An image to send: its name (as given) and its data URL. */
export interface ImageAttachment {
  name: string;
  url: string;
}

export interface Attachments {
  /** The text files, each in a fenced block under its name; '' when none. */
  text: string;
  images: ImageAttachment[];
  /** True when `-` read stdin (it cannot be read twice). */
  usedStdin: boolean;
}

/** Image types by their first bytes. */
const IMAGE_TYPES: ReadonlyArray<{ type: string; matches: (b: Buffer) => boolean }> = [
  {
    type: 'image/png',
    matches: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  { type: 'image/jpeg', matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: 'image/gif', matches: (b) => /^GIF8[79]a/.test(b.subarray(0, 6).toString('latin1')) },
  {
    type: 'image/webp',
    matches: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  },
];

/**
 * Reads every `-a` file. Throws UsageError naming a file that is missing, too large, or
 * neither text nor a known image.
 * @example
 * const a = await readAttachments(io, ['notes.md']);
 * a.text // 'notes.md:\n```\n...\n```'
 */
export async function readAttachments(io: CliIO, files: readonly string[]): Promise<Attachments> {
  const blocks: string[] = [];
  const images: ImageAttachment[] = [];
  let usedStdin = false;
  for (const file of files) {
    let bytes: Buffer;
    if (file === '-') {
      if (usedStdin)
        throw new UsageError('-a - reads stdin, which can be read once: give it once', { setting: '--attach' });
      usedStdin = true;
      bytes = Buffer.from(await readStdin(io, 'attach'), 'utf8');
    } else {
      bytes = readFile(io, file);
    }
    const type = IMAGE_TYPES.find((t) => t.matches(bytes))?.type;
    if (type !== undefined) {
      images.push({ name: file, url: `data:${type};base64,${bytes.toString('base64')}` });
      continue;
    }
    blocks.push(fenced(file === '-' ? 'stdin' : file, asText(bytes, file)));
  }
  return { text: blocks.join('\n\n'), images, usedStdin };
}

/**
 * A user message's content: the text alone, or the text and the images as content parts.
 * @example
 * messageContent('What is this?', [{ name: 'a.png', url: 'data:image/png;base64,...' }]).length // 2
 */
export function messageContent(text: string, images: readonly ImageAttachment[]): string | ContentPart[] {
  if (images.length === 0) return text;
  return [
    ...(text !== '' ? [{ type: 'text' as const, text }] : []),
    ...images.map((i) => ({ type: 'image_url' as const, image_url: { url: i.url } })),
  ];
}

/**
 * The one message for a model that takes no images (the embedded model, or an upstream that
 * refused them with a 400).
 * @example
 * imagesRefused(['chart.png'], 'the local model')
 */
export function imagesRefused(names: readonly string[], who: string): string {
  return `${who} does not take images (-a ${names.join(', -a ')}): use a model that does (e.g. gpt-4o, with --model), or attach text files only`;
}

// --- internal ---

function readFile(io: CliIO, file: string): Buffer {
  const path = resolve(io.cwd, file);
  try {
    const size = statSync(path).size;
    if (size > MAX_STDIN_BYTES) {
      throw new UsageError(`-a ${file} is larger than ${MAX_STDIN_BYTES / 1024 / 1024} MiB: attach a smaller file`, {
        setting: '--attach',
      });
    }
    return readFileSync(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new UsageError(`-a ${file}: ${why}; attach an existing file (- for stdin)`, { setting: '--attach' });
  }
}

/** UTF-8 text without NUL bytes; anything else is a binary file we do not send. */
function asText(bytes: Buffer, file: string): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (bytes.includes(0) || text.includes('\uFFFD')) {
    throw new UsageError(`-a ${file} is neither text nor a png/jpeg/gif/webp image: attach text or an image`, {
      setting: '--attach',
    });
  }
  return text.replace(/(\r?\n)+$/, '');
}

/** The text in a fence longer than any run of backticks inside it, under the file's name. */
function fenced(name: string, text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${name}:\n${fence}\n${text}\n${fence}`;
}
