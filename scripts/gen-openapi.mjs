// Writes the OpenAPI documents of the services' HTTP APIs, each generated from the zod
// schemas that validate the requests. Run after building.
//   node scripts/gen-openapi.mjs           rewrite the files
//   node scripts/gen-openapi.mjs --check   exit 1 when one is out of date (scripts/test.sh)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const documents = [
  ['docs/admin-api.openapi.json', '../services/number-pool/dist/openapi-document.js', 'adminOpenApiDocument'],
  ['docs/attribution-api.openapi.json', '../services/attribution/dist/api/openapi-document.js', 'attributionOpenApiDocument'],
];
let stale = 0;
for (const [file, module, name] of documents) {
  const target = new URL(`../${file}`, import.meta.url);
  const build = (await import(new URL(module, import.meta.url)))[name];
  const text = `${JSON.stringify(build(), null, 2)}\n`;
  if (process.argv.includes('--check')) {
    if (!existsSync(target) || readFileSync(target, 'utf8') !== text) {
      process.stderr.write(`${file} is out of date: run node scripts/gen-openapi.mjs\n`);
      stale += 1;
    }
  } else {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
process.exit(stale > 0 ? 1 : 0);
