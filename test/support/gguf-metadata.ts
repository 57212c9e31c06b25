/**
 * Test support: copies a GGUF (v2/v3) file with extra string metadata, e.g. a
 * `tokenizer.chat_template`, so tests can give the tiny model a chat template it lacks.
 * Only the header changes; tensor data is copied as is, re-aligned.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';

const STRING = 8;
const ARRAY = 9;
/** Byte sizes of the fixed-size GGUF value types, by type id. */
const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/**
 * @example
 * ```ts
 * await copyWithMetadata(src, dest, { 'tokenizer.chat_template': CHATML });
 * ```
 */
export async function copyWithMetadata(src: string, dest: string, extra: Record<string, string>): Promise<void> {
  const file = await readFile(src);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${src} is not a GGUF file`);
  const version = view.getUint32(4, true);
  if (version < 2) throw new Error(`GGUF v${version} is not supported`);
  const tensorCount = Number(view.getBigUint64(8, true));
  const kvCount = Number(view.getBigUint64(16, true));

  let at = 24;
  const readString = () => {
    const len = Number(view.getBigUint64(at, true));
    const text = file.toString('utf8', at + 8, at + 8 + len);
    at += 8 + len;
    return text;
  };
  const skipValue = (type: number): void => {
    if (type === STRING) {
      readString();
    } else if (type === ARRAY) {
      const itemType = view.getUint32(at, true);
      const count = Number(view.getBigUint64(at + 4, true));
      at += 12;
      for (let i = 0; i < count; i++) skipValue(itemType);
    } else {
      const size = FIXED[type];
      if (size === undefined) throw new Error(`Unknown GGUF value type ${type}`);
      at += size;
    }
  };

  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const key = readString();
    const type = view.getUint32(at, true);
    at += 4;
    if (key === 'general.alignment' && type === 4) alignment = view.getUint32(at, true);
    if (key in extra) throw new Error(`${src} already has ${key}`);
    skipValue(type);
  }
  const kvEnd = at;
  for (let i = 0; i < tensorCount; i++) {
    readString();
    const dims = view.getUint32(at, true);
    at += 4 + dims * 8 + 4 + 8;
  }
  const infosEnd = at;
  const dataStart = Math.ceil(infosEnd / alignment) * alignment;

  const added = Object.entries(extra).map(([key, value]) => {
    const k = Buffer.from(key, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const out = Buffer.alloc(8 + k.length + 4 + 8 + v.length);
    out.writeBigUInt64LE(BigInt(k.length), 0);
    k.copy(out, 8);
    out.writeUInt32LE(STRING, 8 + k.length);
    out.writeBigUInt64LE(BigInt(v.length), 12 + k.length);
    v.copy(out, 20 + k.length);
    return out;
  });
  const header = Buffer.from(file.subarray(0, 24));
  header.writeBigUInt64LE(BigInt(kvCount + added.length), 16);
  const head = Buffer.concat([header, file.subarray(24, kvEnd), ...added, file.subarray(kvEnd, infosEnd)]);
  const padding = Buffer.alloc((alignment - (head.length % alignment)) % alignment);
  await writeFile(dest, Buffer.concat([head, padding, file.subarray(dataStart)]));
}
