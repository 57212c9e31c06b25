/**
 * Small helpers shared by bench files: statistics over rounds, a plain-text table, and a
 * bench server in a child process.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * Now, in ms, on a clock every bench process reads alike (its time origin plus
 * `performance.now()`): times taken in the load generator and in the mock can be subtracted.
 */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The `p`-th percentile (0-100) of `values`, nearest rank: p99 of 100 values is the 99th smallest. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number;
}

/**
 * Relative margin of error in %, at 95 % confidence (Student's t): how far the mean of
 * `values` could be off, as in benchmark.js / tinybench's "±%".
 */
export function marginOfErrorPercent(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const t = T_95[Math.min(n - 1, T_95.length) - 1] ?? 1.96;
  return ((t * Math.sqrt(variance / n)) / mean) * 100;
}

// Two-sided 95 % Student's t for 1..30 degrees of freedom; 1.96 beyond.
const T_95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export type Align = 'left' | 'right';

/**
 * Renders rows as an aligned plain-text table (first row = header). Columns align right
 * unless `align` says otherwise.
 *
 * @example
 * ```ts
 * console.log(table([['name', 'MB/s'], ['a', '12.0']], ['left', 'right']));
 * ```
 */
export function table(rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        return (align[i] ?? (i === 0 ? 'left' : 'right')) === 'left' ? cell.padEnd(w) : cell.padStart(w);
      })
      .join('  ')
      .trimEnd();
  const out = rows.map(line);
  if (out.length > 1) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}

/**
 * Splits SSE text into frames (the text between blank lines) as it arrives: call the returned
 * function with each piece received, `onFrame` gets each whole frame.
 */
export function frameSplitter(onFrame: (frame: string) => void): (text: string) => void {
  let buffer = '';
  return (text) => {
    buffer += text;
    let cut = buffer.indexOf('\n\n');
    while (cut !== -1) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf('\n\n');
      onFrame(frame);
    }
  };
}

/** Runs the garbage collector when the process has `--expose-gc` (bench/index.ts passes it). */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A fresh response body that hands out `chunks` one read at a time, as a network would. */
export function bodyOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

/**
 * Starts `script` (a bench file) again in a child process with `args` (its server mode) and
 * resolves with the URL it prints on its first stdout line, so the server's work is not
 * counted in this process. End it with `child.stdin.end()` and `child.kill()`. `execArgv`: the
 * child's Node flags (default: the TypeScript loader; none for a built `.mjs`).
 */
export async function startBenchChild(
  script: string,
  args: string[],
  execArgv: string[] = ['--import', 'tsx'],
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...execArgv, script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    out += d;
  });
  while (!out.includes('\n')) {
    const exited = once(child, 'exit');
    const data = once(child.stdout!, 'data');
    const winner = await Promise.race([data.then(() => 'data'), exited.then(() => 'exit')]);
    if (winner === 'exit') throw new Error('the bench server exited');
  }
  return { url: out.trim(), child };
}

/** Half the interquartile range of `values`, as a percentage of their median. */
export function halfIqrPercent(values: readonly number[]): number {
  return ((percentile(values, 75) - percentile(values, 25)) / 2 / median(values)) * 100;
}

/**
 * Times every contestant `runs` times, round by round so that a slow patch of the machine
 * hits them all alike, after `warmups` untimed rounds, with a collection before each call.
 * `check` reads each result and returns what is wrong with it, if anything: a bench never
 * times a wrong output. Returns the times (ms) per contestant, or undefined after printing
 * the first wrong output and setting the exit code.
 */
export async function timeInterleaved<R>(
  contestants: Record<string, () => Promise<R>>,
  runs: number,
  check: (result: R) => string | undefined,
  warmups = 2,
): Promise<Map<string, number[]> | undefined> {
  const times = new Map<string, number[]>(Object.keys(contestants).map((name) => [name, []]));
  for (let round = 0; round < runs + warmups; round++) {
    for (const [name, fn] of Object.entries(contestants)) {
      globalThis.gc?.();
      const t0 = performance.now();
      const result = await fn();
      const ms = performance.now() - t0;
      const wrong = check(result);
      if (wrong !== undefined) {
        console.error(`✖ ${name} ${wrong}`);
        process.exitCode = 1;
        return undefined;
      }
      if (round >= warmups) times.get(name)?.push(ms);
    }
  }
  return times;
}
