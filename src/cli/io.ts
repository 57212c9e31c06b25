/**
 * Everything the CLI touches in the outside world, injected so `main` can be driven by
 * tests and returns an exit code instead of exiting.
 * @module
 */
import { existsSync, fstatSync, statSync } from 'node:fs';

/** A writable stream plus the terminal facts the renderer needs. */
export interface CliOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
  on?(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

export interface CliInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export type StdinKind =
  /** A terminal: never read unless the command is interactive. */
  | 'tty'
  /** A pipe, file or socket: read it (it may be appended to the prompt). */
  | 'piped'
  /** Nothing to read (/dev/null, closed). */
  | 'none';

export type SignalName = 'SIGINT' | 'SIGTERM';

export interface CliIO {
  stdin: CliInput;
  stdinKind: StdinKind;
  stdout: CliOutput;
  stderr: CliOutput;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Subscribes to a signal; returns the unsubscribe function. */
  onSignal(signal: SignalName, handler: () => void): () => void;
  /** Leaves at once (a second Ctrl-C). */
  exit(code: number): void;
  fileExists(path: string): boolean;
}

/**
 * The real process's IO.
 * @example
 * process.exitCode = await main(process.argv.slice(2), nodeIO());
 */
export function nodeIO(): CliIO {
  return {
    // A getter: touching process.stdin creates a handle; commands that never read skip it.
    get stdin() {
      return process.stdin as CliInput;
    },
    stdinKind: stdinKind(),
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onSignal(signal, handler) {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    exit(code) {
      process.exit(code);
    },
    fileExists(path) {
      try {
        return existsSync(path) && statSync(path).isFile();
      } catch {
        return false;
      }
    },
  };
}

// --- internal ---

function stdinKind(): StdinKind {
  if (process.stdin.isTTY) return 'tty';
  try {
    const s = fstatSync(0);
    // /dev/null and other character devices have nothing for us.
    return s.isFIFO() || s.isFile() || s.isSocket() ? 'piped' : 'none';
  } catch {
    return 'none';
  }
}
