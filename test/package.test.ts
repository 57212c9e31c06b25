/**
 * The npm package on its own: what `npm pack` puts in the tarball, and the tarball's CLI
 * answering with its embedded model from a directory outside the repository (the package's
 * one dependency, node-llama-cpp, comes from this checkout's node_modules: no registry is
 * asked; `npm install --offline` cannot work without node-llama-cpp in the npm cache).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { assertBuilt, cleanEnv, ROOT } from './support/cli.js';

const MODEL = 'models/tinyllamas-stories-260k-f32.gguf';

describe('the npm package', { timeout: 60_000 }, () => {
  let dir: string;
  let tarball: string;
  let files: string[];

  before(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'sluice-pack-'));
    // --ignore-scripts: the build is already there (checked above); pack it as it is.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [packed] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    assert.ok(packed, out);
    tarball = join(dir, packed.filename);
    files = packed.files.map((f) => f.path);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the build, the binary, the docs and the embedded model; no tests, fixtures or sources', () => {
    for (const needed of ['bin/sluice.js', 'package.json', 'README.md', MODEL, 'models/README.md']) {
      assert.ok(files.includes(needed), `${needed} is in the package`);
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
    };
    for (const target of Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)))) {
      assert.ok(files.includes(target.replace(/^\.\//, '')), `${target} (package.json exports) is in the package`);
    }
    const stray = files.filter((f) => /\.test\.|^test\/|^src\/|test-support|^bench\//.test(f));
    assert.deepEqual(stray, [], 'nothing of the tests, fixtures or sources ships');
  });

  it('every source map carries its sources (src/ is not shipped)', () => {
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    const maps = files.filter((f) => f.endsWith('.js.map'));
    assert.ok(maps.length > 0);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(unpacked, 'package', map), 'utf8')) as {
        sources: string[];
        sourcesContent?: unknown[];
      };
      assert.equal(sourcesContent?.length, sources.length, `${map}: sourcesContent`);
      assert.ok(
        sourcesContent.every((s) => typeof s === 'string' && s.length > 0),
        `${map}: every source inline`,
      );
    }
  });

  it('installed elsewhere, `sluice "..."` answers with the model inside the package', async () => {
    // The project gets the tarball; node-llama-cpp and its dependencies are found one folder
    // up (Node looks in every node_modules above the importer), linked to this checkout's.
    const project = join(dir, 'project');
    const modules = join(project, 'node_modules');
    mkdirSync(join(modules, 'sluice'), { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', join(modules, 'sluice'), '--strip-components=1']);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const installed = join(modules, 'sluice');

    const backends = (await import(pathToFileURL(join(installed, 'dist/backends/index.js')).href)) as {
      DEFAULT_MODEL_PATH: string;
    };
    assert.equal(backends.DEFAULT_MODEL_PATH, join(installed, MODEL), 'the default model is the packaged copy');

    const done = spawnSync(
      process.execPath,
      [join(installed, 'bin/sluice.js'), '--max-tokens', '8', 'Once upon a time'],
      {
        cwd: project,
        env: cleanEnv(),
        encoding: 'utf8',
        timeout: 50_000,
      },
    );
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stdout, /\w+ \w+/, 'a story');
  });
});
