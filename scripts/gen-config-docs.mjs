// Writes docs/configuration.md from the services' validated configuration schemas.
// `--check` exits 1 when the file is out of date (run by scripts/test.sh).
import { readFileSync, writeFileSync } from 'node:fs';
import { documentConfig } from '@calltrack/config';

const services = {
  'session-tracker': 'sessionTrackerConfigSchema',
  'number-pool': 'numberPoolConfigSchema',
  'telephony-ingest': 'telephonyIngestConfigSchema',
  attribution: 'attributionConfigSchema',
  'conversion-export': 'conversionExportConfigSchema',
  antifraud: 'antifraudConfigSchema',
};
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
let out = `# Configuration

Every service reads its configuration from environment variables and validates it at
start-up: an invalid or missing value stops the service with every problem listed (exit
status 78). Empty values count as unset. Generated from the schemas by
\`node scripts/gen-config-docs.mjs\`; do not edit by hand.
`;
for (const [service, exportName] of Object.entries(services)) {
  const mod = await import(`../services/${service}/dist/config.js`);
  const schema = mod[exportName];
  if (!schema) throw new Error(`services/${service}/dist/config.js does not export ${exportName}`);
  out += `\n## ${service}\n\n| variable | default | description |\n|---|---|---|\n`;
  for (const v of documentConfig(schema)) {
    const def = v.required ? '**required**' : v.defaultValue === undefined ? '(unset)' : v.sensitive ? '(hidden)' : `\`${v.defaultValue === '' ? '""' : v.defaultValue}\``;
    out += `| \`${v.name}\`${v.sensitive ? ' (secret)' : ''} | ${def} | ${cell(v.description)} |\n`;
  }
}
out += `
## Tracing (all services)

The standard OpenTelemetry variables: \`OTEL_TRACES_EXPORTER\` (\`otlp\`, \`console\` or \`none\`;
default \`otlp\` when an endpoint is set, else \`none\`), \`OTEL_EXPORTER_OTLP_ENDPOINT\` /
\`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\` (OTLP over HTTP, e.g. \`http://jaeger:4318\`),
\`OTEL_EXPORTER_OTLP_HEADERS\`, and \`OTEL_SERVICE_NAME\` (defaults to the service's name).
`;
const path = new URL('../docs/configuration.md', import.meta.url);
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing counts as out of date
  }
  if (current !== out) {
    process.stderr.write('docs/configuration.md is out of date: run node scripts/gen-config-docs.mjs\n');
    process.exit(1);
  }
  process.stdout.write('docs/configuration.md is up to date\n');
} else {
  writeFileSync(path, out);
  process.stdout.write('wrote docs/configuration.md\n');
}
