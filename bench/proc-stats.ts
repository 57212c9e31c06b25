/**
 * CPU time and resident memory of another process, read from /proc (Linux), so that every
 * contender of a bench is measured the same way whatever runs inside it.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time a process has used so far, in ms: the sum over its threads of the scheduler's
 * run time (`/proc/<pid>/task/<tid>/schedstat`, nanoseconds), so GC and libuv threads
 * count and the resolution is far finer than the 10 ms ticks of `/proc/<pid>/stat`.
 */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += threadRunNs(pid, tid);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6;
}

/**
 * CPU time the process's main thread has used so far, in ms (its `schedstat`, as `cpuMs`).
 * For a Node process that is the event loop: `cpuMs` minus this is what ran beside it (V8's
 * garbage collector and compiler threads, libuv's pool).
 */
export function mainThreadCpuMs(pid: number): number {
  return threadRunNs(pid, String(pid)) / 1e6;
}

/** How often a process's main thread has left its CPU so far (`mainThreadSwitches`). */
export interface ThreadSwitches {
  /**
   * Times it went to sleep and was woken: its voluntary context switches. For a Node process
   * most are the event loop waiting for I/O or a timer; the rest are waits for V8's helper
   * threads (a parallel scavenge). At one stream a relay wakes once per chunk, and a wake-up
   * after 20 ms of quiet costs far more CPU than the chunk's own work (docs/gateway.md, Round 15).
   */
  wakeUps: number;
  /**
   * Times it was taken off its CPU while it could still run: its involuntary context switches.
   * On a machine the load generator shares, a relay's write that wakes the generator may hand
   * it the CPU there and then (docs/gateway.md, Round 15).
   */
  preemptions: number;
}

/** The main thread's context switches so far, both kinds from one read of its `status`. */
export function mainThreadSwitches(pid: number): ThreadSwitches {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  const voluntary = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
  const involuntary = /^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
  if (!voluntary || !involuntary) throw new Error(`No context switches for process ${pid}: is it still running?`);
  return { wakeUps: Number(voluntary[1]), preemptions: Number(involuntary[1]) };
}

/** A thread's run time so far, ns: the first field of its `schedstat`. */
function threadRunNs(pid: number, tid: string): number {
  return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
}

/** Resident set size of a process, in bytes (`VmRSS` of `/proc/<pid>/status`). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`No VmRSS for process ${pid}: is it still running?`);
  return Number(match[1]) * 1024;
}
