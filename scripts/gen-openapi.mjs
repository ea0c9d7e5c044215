// Writes docs/admin-api.openapi.json from number-pool's admin API document, which is
// generated from the zod schemas that validate the requests. Run after building.
//   node scripts/gen-openapi.mjs           rewrite the file
//   node scripts/gen-openapi.mjs --check   exit 1 when it is out of date (scripts/test.sh)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const target = new URL('../docs/admin-api.openapi.json', import.meta.url);
const { adminOpenApiDocument } = await import(new URL('../services/number-pool/dist/openapi-document.js', import.meta.url));
const text = `${JSON.stringify(adminOpenApiDocument(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  if (!existsSync(target) || readFileSync(target, 'utf8') !== text) {
    process.stderr.write('docs/admin-api.openapi.json is out of date: run node scripts/gen-openapi.mjs\n');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  process.stdout.write('wrote docs/admin-api.openapi.json\n');
}
