// What the benches read of another process (bench/proc-stats.ts) must count what it says:
// a child that wakes on a timer a known number of times, and spins for a known time.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { cpuMs, mainThreadCpuMs, mainThreadSwitches } from '../bench/proc-stats.js';

const wakeUps = (pid: number) => mainThreadSwitches(pid).wakeUps;
const preemptions = (pid: number) => mainThreadSwitches(pid).preemptions;

/**
 * A Node process that waits for a line on stdin: `wake N` sleeps and wakes N times, 5 ms
 * apart; `spin MS` keeps its main thread busy until the process has used MS of CPU (CPU, not
 * time, so that a busy machine cannot make it use less). It answers `done` when finished.
 */
const CHILD = `
process.stdin.setEncoding('utf8');
process.stdin.on('data', async (line) => {
  const [what, n] = line.trim().split(' ');
  if (what === 'wake') for (let i = 0; i < Number(n); i++) await new Promise((r) => setTimeout(r, 5));
  if (what === 'spin') {
    const start = process.cpuUsage();
    const used = () => { const u = process.cpuUsage(start); return (u.user + u.system) / 1000; };
    while (used() < Number(n));
  }
  process.stdout.write('done\\n');
});
process.stdout.write('ready\\n');
`;

describe('bench/proc-stats', { skip: process.platform !== 'linux' && 'reads /proc (Linux)' }, () => {
  let child: ChildProcess;

  async function ask(command: string): Promise<void> {
    child.stdin?.write(`${command}\n`);
    await once(child.stdout!, 'data');
  }

  before(async () => {
    child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
  });

  after(() => {
    child.kill();
  });

  it('counts each time the main thread slept and woke', async () => {
    const pid = child.pid!;
    const woke0 = wakeUps(pid);
    await ask('wake 40');
    const woke = wakeUps(pid) - woke0;
    // 40 timers, plus the wake-up for the command itself; a busy machine may add a few more.
    assert.ok(woke >= 40, `woke ${woke} times, expected at least 40`);
    assert.ok(woke < 120, `woke ${woke} times for 40 timers`);
  });

  it('counts a busy main thread as CPU of the process and of its main thread', async () => {
    const pid = child.pid!;
    const cpu0 = cpuMs(pid);
    const main0 = mainThreadCpuMs(pid);
    const woke0 = wakeUps(pid);
    await ask('spin 150');
    const main = mainThreadCpuMs(pid) - main0;
    // (The process's other threads count in what the spin measures, but they are idle.)
    assert.ok(main >= 120, `main thread used ${main.toFixed(1)} ms for a 150 ms spin`);
    assert.ok(cpuMs(pid) - cpu0 >= main, 'the process counts at least its main thread');
    // Spinning is one wake-up (the command's), not one per millisecond.
    assert.ok(wakeUps(pid) - woke0 < 10);
  });

  it('counts the times a runnable main thread was taken off its CPU', async (t) => {
    const pid = child.pid!;
    // Another spinning process on the same CPU: the scheduler must take turns between them.
    const rival = spawn(process.execPath, ['-e', 'const end = Date.now() + 1500; while (Date.now() < end);']);
    try {
      for (const target of [pid, rival.pid!]) {
        const pinned = spawnSync('taskset', ['-a', '-p', '-c', '0', String(target)]);
        if (pinned.error || pinned.status !== 0) return t.skip('taskset (util-linux) cannot pin the processes');
      }
      const preempted0 = preemptions(pid);
      const woke0 = wakeUps(pid);
      await ask('spin 300');
      const preempted = preemptions(pid) - preempted0;
      assert.ok(preempted >= 5, `taken off its CPU ${preempted} times in 300 ms of CPU beside a rival`);
      // Preemptions are not wake-ups: the spinning thread never slept.
      assert.ok(wakeUps(pid) - woke0 < 10);
    } finally {
      rival.kill();
    }
  });
});
