#!/usr/bin/env node
// Bundles the web chat UI (src/web/app) at build time into dist/web/public:
//   index.html            (no-cache; references the hashed assets below)
//   favicon.svg           (fixed name)
//   assets/app-HASH.js    (one ES module: app + marked + DOMPurify + highlight.js core and a few languages)
//   assets/app-HASH.css
//   licenses.txt          (licences of the bundled libraries)
// Every file also gets .br and .gz siblings, so the server never compresses at run time.
// Nothing is fetched at run time: no CDN, no web fonts.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const appDir = join(root, 'src/web/app');

/**
 * Builds the page. Returns the files written (paths relative to outDir) and their sizes.
 * @param {{ outDir?: string, minify?: boolean }} [options]
 */
export async function buildWeb(options = {}) {
  const outDir = options.outDir ?? join(root, 'dist/web/public');
  const minify = options.minify ?? true;
  const { build } = await import('esbuild');

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'assets'), { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: join(appDir, 'main.ts') },
    bundle: true,
    format: 'esm',
    target: ['chrome111', 'firefox115', 'safari16.4'],
    minify,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: join(outDir, 'assets'),
    // Licence texts go to licenses.txt whole; the bundle names them in one banner line.
    legalComments: 'none',
    banner: { js: `/*! Sluice web UI. Bundles ${BUNDLED.join(', ')}: licences at /licenses.txt */` },
    metafile: true,
    write: true,
    logLevel: 'warning',
    // The page is browser code: a Node built-in sneaking in (through a shared module) must fail the build.
    platform: 'browser',
    define: { 'process.env.NODE_ENV': '"production"' },
  });

  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => /^app-[A-Z0-9]+\.js$/.test(f));
  const css = outputs.find((f) => /^app-[A-Z0-9]+\.css$/.test(f));
  if (!js || !css) throw new Error(`build-web: expected app-HASH.js and app-HASH.css, got ${outputs.join(', ')}`);

  const template = readFileSync(join(appDir, 'index.html'), 'utf8');
  const html = template.replaceAll('{{app.js}}', `/assets/${js}`).replaceAll('{{app.css}}', `/assets/${css}`);
  if (html.includes('{{')) throw new Error('build-web: unreplaced placeholder in index.html');
  writeFileSync(join(outDir, 'index.html'), html);
  writeFileSync(join(outDir, 'favicon.svg'), readFileSync(join(appDir, 'favicon.svg')));
  writeFileSync(join(outDir, 'licenses.txt'), licenses());

  const files = [];
  for (const file of walk(outDir)) {
    const body = readFileSync(file);
    const gz = gzipSync(body, { level: 9 });
    const br = brotliCompressSync(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    });
    // A compressed copy that is not smaller is useless; the server then sends the original.
    if (gz.length < body.length) writeFileSync(`${file}.gz`, gz);
    if (br.length < body.length) writeFileSync(`${file}.br`, br);
    files.push({ path: relative(outDir, file), bytes: body.length, gzip: gz.length, brotli: br.length });
  }
  return { outDir, files };
}

/** npm packages bundled into the page, each with its licence file(s). */
const BUNDLED = ['marked', 'dompurify', 'highlight.js'];
const LICENSE_FILES = { dompurify: ['LICENSE'], marked: ['LICENSE'], 'highlight.js': ['LICENSE'] };

function licenses() {
  const parts = ['Third-party software bundled into the Sluice web UI (assets/app-*.js).\n'];
  for (const name of BUNDLED) {
    const dir = join(root, 'node_modules', name);
    const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    parts.push(`\n${'='.repeat(72)}\n${name} ${version} (${license})\n${'='.repeat(72)}\n`);
    for (const file of LICENSE_FILES[name]) parts.push(readFileSync(join(dir, file), 'utf8').trim(), '\n');
  }
  return parts.join('');
}

function* walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (!name.endsWith('.gz') && !name.endsWith('.br')) yield p;
  }
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const { outDir, files } = await buildWeb();
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  for (const f of files) {
    process.stdout.write(
      `  ${f.path.padEnd(44)} ${kb(f.bytes).padStart(10)}  gzip ${kb(f.gzip).padStart(9)}  br ${kb(f.brotli).padStart(9)}\n`,
    );
  }
  process.stdout.write(`web UI built into ${relative(process.cwd(), outDir) || '.'}\n`);
}
