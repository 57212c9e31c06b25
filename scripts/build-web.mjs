// Bundles the web chat UI (src/web/app) at build time; filled in by the web UI work.
import { existsSync } from 'node:fs';
if (!existsSync(new URL('../src/web/app/main.ts', import.meta.url))) process.exit(0);
