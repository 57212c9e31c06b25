/** Types for scripts/build-web.mjs, so tests can build the page into a temporary folder. */
export interface BuiltFile {
  /** Relative to outDir, e.g. `assets/app-ABC123.js`. */
  path: string;
  bytes: number;
  gzip: number;
  brotli: number;
}
export function buildWeb(options?: {
  outDir?: string;
  minify?: boolean;
}): Promise<{ outDir: string; files: BuiltFile[] }>;
