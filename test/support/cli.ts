/**
 * Running the real `sluice` binary (bin/sluice.js over the build in dist/) as a user would:
 * piped, or in a pseudo-terminal (test/support/run_in_pty.py), with a clean environment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'sluice.js');
const PTY = fileURLToPath(new URL('./run_in_pty.py', import.meta.url));

/** The tests run the build: fail early, with the fix, when it is missing or older than src/cli. */
export function assertBuilt(): void {
  const src = join(ROOT, 'src', 'cli');
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
    });
  for (const file of walk(src)) {
    const built = join(ROOT, 'dist', 'cli', relative(src, file).replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs) {
      throw new Error(`${built} is missing or older than its source: run \`npm run build\` first`);
    }
  }
}

/**
 * A minimal environment: nothing of the developer's Azure/OpenAI/colour settings leaks in,
 * and the user's data and config directories (the exchange log, `sluice logs off`) are a
 * fresh temporary folder, never the developer's.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'sluice-xdg-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
  };
  if (process.env.LANG) env.LANG = process.env.LANG;
  return { ...env, ...extra };
}

export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Run as this user (e.g. to be refused a file when the tests run as root). */
  user?: { uid: number; gid: number };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running CLI: its output so far, and ways to wait for more. */
export interface Running {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once stdout (or stderr) matches. */
  waitFor(pattern: RegExp | string, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
  write(text: string): void;
  done: Promise<Finished>;
}

/** Starts `node bin/sluice.js ...args` with pipes. */
export function start(args: string[], o: RunOptions = {}): Running {
  return track(
    spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd ?? tempDir(),
      env: o.env ?? cleanEnv(),
      stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(o.user ?? {}),
    }),
    o.input,
  );
}

/**
 * Starts `sluice serve --port 0 ...args` and resolves with its URL once it serves (rejects
 * with its output when it does not start within 30 s).
 */
export async function startServe(args: string[], o: RunOptions = {}): Promise<{ s: Running; url: string }> {
  const s = start(['serve', '--port', '0', ...args], o);
  const failed = (why: string) => new Error(`serve did not start: ${why}\nstdout: ${s.stdout}\nstderr: ${s.stderr}`);
  await s.waitFor(/Ctrl-C stops\./, 'stdout', 30_000).catch((error: unknown) => {
    throw failed(String(error));
  });
  const url = /serving \S+ at (http:\/\/127\.0\.0\.1:\d+)/.exec(s.stdout)?.[1];
  if (!url) throw failed('no URL in its output');
  return { s, url };
}

/** Runs the CLI to the end. */
export function run(args: string[], o: RunOptions = {}): Promise<Finished> {
  return start(args, o).done;
}

/**
 * Starts the CLI in a pseudo-terminal (COLS x ROWS): stdin, stdout and stderr are all the
 * terminal, so `stdout` here is everything the user would see. `write` types keys.
 */
export function startInTerminal(args: string[], o: RunOptions & { cols?: number; rows?: number } = {}): Running {
  return track(
    spawn('python3', [PTY, String(o.cols ?? 80), String(o.rows ?? 24), process.execPath, BIN, ...args], {
      cwd: o.cwd ?? tempDir(),
      env: o.env ?? cleanEnv({ TERM: 'xterm-256color' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
    undefined,
  );
}

// --- internal ---

function track(child: ChildProcess, input: string | undefined): Running {
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of waiters) w();
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    notify();
  });
  if (input !== undefined) child.stdin?.end(input);
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  done.finally(notify).catch(() => {});
  let exited = false;
  done.finally(() => {
    exited = true;
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
    write(text) {
      child.stdin?.write(text);
    },
    waitFor(pattern, stream = 'stdout', timeoutMs = 15_000) {
      const test = () => {
        const s = stream === 'stdout' ? stdout : stderr;
        return typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s);
      };
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (test()) {
            cleanup();
            resolve();
          } else if (exited) {
            cleanup();
            reject(new Error(`exited before ${stream} matched ${pattern}:\nstdout: ${stdout}\nstderr: ${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`timed out waiting for ${stream} to match ${pattern}:\nstdout: ${stdout}\nstderr: ${stderr}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
