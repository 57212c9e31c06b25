// `sluice/protocol` runs in the web page as it is (bundled), so nothing it imports, however
// indirectly, may be a Node module or a package (issue 10: one errorFromResponse for both).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const IMPORT = /^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm;

test('every module reachable from src/protocol/index.ts imports only relative, non-test files', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const seen = new Set<string>();
  const pending = [resolve(here, 'index.ts')];
  const offenders: string[] = [];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(IMPORT)) {
      const spec = match[1]!;
      if (!spec.startsWith('.')) {
        offenders.push(`${file}: ${spec}`);
        continue;
      }
      if (/test-support|\.test\./.test(spec)) offenders.push(`${file}: ${spec}`);
      pending.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  }
  assert.deepStrictEqual(offenders, []);
  assert.ok(seen.size > 10, `followed ${seen.size} modules`);
});
