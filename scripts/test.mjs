#!/usr/bin/env node
// The whole test suite, runnable on a fresh machine: installs what the tests need
// (npm packages, Debian's Chromium for the browser tests and redis-server for the
// resumable-stream tests), type-checks, lints, builds,
// then runs every *.test.ts under src/ and test/ with Node's test runner.
//
//   node scripts/test.mjs                 everything
//   node scripts/test.mjs FILE...         the checks and build, then only these files
//   node scripts/test.mjs --unit [FILE...]  only the unit tests (src/**/*.test.ts): no
//                                         install, build or browser (`npm run test:unit`)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);

function run(label, cmd, args, opts = {}) {
  process.stderr.write(`\n▶ ${label}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    process.stderr.write(`✖ ${label} failed (exit ${r.status ?? r.signal}).\n`);
    process.exit(r.status || 1);
  }
}

const args = process.argv.slice(2);
const unit = args[0] === '--unit';
const only = unit ? args.slice(1) : args;

if (!unit) {
  if (!existsSync('node_modules/.package-lock.json')) run('Installing npm packages (npm ci)', 'npm', ['ci']);

  const chromium = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
  ensureDebianPackage('chromium', chromium, 'browser tests need it');
  ensureDebianPackage('redis-server', '/usr/bin/redis-server', 'the resumable-stream tests start their own');

  run('Type-checking (tsc)', 'npx', ['tsc', '-p', 'tsconfig.json']);
  run('Type-checking the web page (tsc)', 'npx', ['tsc', '-p', 'src/web/app/tsconfig.json']);
  run('Linting (biome)', 'npx', ['biome', 'check', '.']);
  run('Building', 'npm', ['run', '-s', 'build']);
}

/** Installs a Debian package when `path` is missing: apt-get as root, else a message saying what to run. */
function ensureDebianPackage(name, path, why) {
  if (existsSync(path)) return;
  if (process.getuid?.() === 0) {
    run(`Installing ${name} from Debian (apt-get)`, 'sh', [
      '-c',
      `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${name} >/dev/null`,
    ]);
  } else {
    process.stderr.write(`${name} not found at ${path}: run "sudo apt-get install -y ${name}" (${why}).\n`);
    process.exit(1);
  }
}

function find(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const files = only.length > 0 ? only : (unit ? find('src') : [...find('src'), ...find('test')]).sort();
if (files.length === 0) {
  process.stderr.write('✖ No test files found: run this from a checkout with src/ and test/.\n');
  process.exit(1);
}
// A test, or a test file that does not exit, fails after 10 minutes instead of holding the run
// until CI's own limit: the whole suite takes about 5, its longest test about 20 s.
const TEST_TIMEOUT_MS = 10 * 60 * 1000;
run(`Running ${files.length} test files`, process.execPath, [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  `--test-timeout=${TEST_TIMEOUT_MS}`,
  ...files,
]);
