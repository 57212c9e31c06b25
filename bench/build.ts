/**
 * The built package for the benches that run Sluice as people run it (dist/, plain Node, no
 * TypeScript loader): built first when missing or older than some file of src/.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

/** Builds dist/ (`npm run build`) when it is missing or older than some file of src/. */
export function ensureBuilt(): void {
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/server/index.js')).mtimeMs;
  } catch {}
  if (built >= newest(join(ROOT, 'src'))) return;
  console.log('Building dist/ for the Sluice contender (npm run build)…');
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed: fix the build, or run the bench with --from src');
}
