/**
 * `sluice keys set NAME` / `sluice keys list`: keys stored in the user's config directory
 * (user/keys.ts), so they need not be typed on a command line or kept in a `.env`. The key
 * is read from the terminal without echo, or from stdin when piped; it is never printed.
 * `sluice keys hash [--new]`: the hash of a gateway client key, for `key_hash:` in the
 * gateway file (`--new` makes a random key and prints it once, with its hash).
 * @module
 */
import type { CommandContext } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIO } from '../io.js';
import { readStdin } from '../prompt-input.js';
import { UsageError } from '../usage-error.js';
import { checkKeyName, keysPath, readStoredKeys, storeKey } from '../user/keys.js';

export async function run({ io, positionals, values }: CommandContext): Promise<number> {
  const [action, name, ...extra] = positionals;
  if (action === 'hash' && name === undefined) return hash(io, values.new === true);
  if (action === 'list' && name === undefined) {
    const names = Object.keys(readStoredKeys(io.env)).sort();
    for (const n of names) io.stdout.write(`${n}\n`);
    if (names.length === 0)
      io.stderr.write(`sluice: no keys stored (${keysPath(io.env)}); add one with: sluice keys set NAME\n`);
    return ExitCode.OK;
  }
  if (action !== 'set' || name === undefined || extra.length > 0) {
    throw new UsageError(
      'Usage: sluice keys set NAME (the key is read from the terminal or stdin), sluice keys list, or sluice keys hash [--new]',
      {
        command: 'keys',
      },
    );
  }
  checkKeyName(name);
  const key =
    io.stdinKind === 'tty'
      ? await readHidden(io, `Key for ${name} (not shown): `)
      : (await readStdin(io, 'keys')).trim();
  if (key === undefined) {
    io.stderr.write('sluice: nothing stored.\n');
    return ExitCode.INTERRUPTED;
  }
  if (key === '' || /[\s\u0000-\u001f]/.test(key)) {
    throw new UsageError(`No key stored: the key for ${name} must be one word, without spaces or control characters`, {
      command: 'keys',
    });
  }
  const path = storeKey(io.env, name, key);
  io.stderr.write(
    `sluice: stored ${name} in ${path} (mode 0600); it is used when the environment and .env do not set it.\n`,
  );
  return ExitCode.OK;
}

// --- internal ---

/** Prints `key_hash:` for a client key read like `set` reads one, or for a new random key. */
async function hash(io: CliIO, fresh: boolean): Promise<number> {
  const { hashKey, newKey } = await import('../../gateway/keys.js');
  if (fresh) {
    const key = newKey();
    io.stdout.write(`key:      ${key}\nkey_hash: ${hashKey(key)}\n`);
    io.stderr.write(
      'sluice: give the key to its client and put only key_hash: in the gateway file; the key is not shown again.\n',
    );
    return ExitCode.OK;
  }
  const key =
    io.stdinKind === 'tty'
      ? await readHidden(io, 'Client key to hash (not shown): ')
      : (await readStdin(io, 'keys')).trim();
  if (key === undefined) return ExitCode.INTERRUPTED;
  if (key === '' || /[\s\u0000-\u001f]/.test(key)) {
    throw new UsageError('Nothing hashed: the key must be one word, without spaces or control characters', {
      command: 'keys',
    });
  }
  if (key.length < 20) {
    io.stderr.write(
      'sluice: this key is short; a client key should be long and random (sluice keys hash --new makes one).\n',
    );
  }
  io.stdout.write(`key_hash: ${hashKey(key)}\n`);
  return ExitCode.OK;
}

/**
 * A line typed on the terminal, not echoed (raw mode: each key is read here); undefined on
 * Ctrl-C or Ctrl-D.
 */
function readHidden(io: CliIO, prompt: string): Promise<string | undefined> {
  const stdin = io.stdin;
  // Raw mode (no echo) before the prompt: a key typed as soon as it shows is not echoed.
  stdin.setRawMode?.(true);
  io.stderr.write(prompt);
  return new Promise((resolve) => {
    let typed = '';
    const finish = (value: string | undefined) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      resolve(value);
    };
    const onData = (data: Buffer | string) => {
      for (const ch of typeof data === 'string' ? data : data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(typed);
        if (ch === '\u0003' || ch === '\u0004') return finish(undefined);
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
