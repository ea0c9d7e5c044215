// Builds the browser tracker (services/session-tracker/tracker/tracker.ts): type-checked
// with the DOM library, then bundled and minified by esbuild for old-enough browsers
// into services/session-tracker/dist/tracker.min.js, which session-tracker serves.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}services/session-tracker/tracker/tsconfig.json`], { stdio: 'inherit' });
mkdirSync(`${root}services/session-tracker/dist`, { recursive: true });
await build({
  entryPoints: [`${root}services/session-tracker/tracker/tracker.ts`],
  outfile: `${root}services/session-tracker/dist/tracker.min.js`,
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: '__ct',
  target: 'es2018',
  legalComments: 'none',
});
