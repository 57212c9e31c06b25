/**
 * The `sluice` command as the system starts it: through its `#!` line (as `npx sluice` and an
 * installed `node_modules/.bin/sluice` run it), not `node bin/sluice.js`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { assertBuilt, BIN, cleanEnv, tempDir } from '../support/cli.js';

const execFileAsync = promisify(execFile);

before(() => assertBuilt());

describe('the sluice command', () => {
  it('starts Node without its memory reducer, so that a gateway meets bursts after a pause warm', async () => {
    // A preload that reports the flags Node was started with; the command then runs as usual.
    const dir = tempDir({
      'probe.cjs': "process.stderr.write('execArgv ' + JSON.stringify(process.execArgv) + '\\n');\n",
    });
    const { stdout, stderr } = await execFileAsync(BIN, ['--version'], {
      cwd: dir,
      env: cleanEnv({ NODE_OPTIONS: `--require ${join(dir, 'probe.cjs')}` }),
      timeout: 30_000,
    });
    assert.match(stdout, /^sluice \d+\.\d+\.\d+/);
    const line = stderr.split('\n').find((l) => l.startsWith('execArgv '));
    assert.ok(line, `the probe reported: ${stderr}`);
    assert.deepEqual(JSON.parse(line.slice('execArgv '.length)), ['--no-memory-reducer']);
  });

  it("names its flags in the form npm's Windows shims read (`env -S`)", () => {
    // npm's cmd-shim takes `#!/usr/bin/env -S <program> <args>` apart; any other form loses the flag there.
    const first = readFileSync(BIN, 'utf8').split('\n')[0];
    assert.equal(first, '#!/usr/bin/env -S node --no-memory-reducer');
  });
});
