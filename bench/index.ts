// `npm run bench`: runs every bench/*.bench.ts in its own process, one after another, so
// that each measures memory and speed without the others' garbage. Not part of `npm test`.
//
//   npm run bench -- [name ...] [--option value ...]
//
// Names pick the benches whose file names contain one of them (none: all). Everything from the
// first `--option` on goes to each bench run, e.g. `npm run bench -- gateway --compare ../before`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const dir = new URL('.', import.meta.url).pathname;
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const only = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
console.log(`Node ${process.version}, ${process.platform}-${process.arch}`);
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', `${dir}${file}`, ...options], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.log(`✖ ${file} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
