// Writes charts/calltrack/files/topic-registry.json: the partition count of every topic of the
// registry (libs/contracts/src/topic-registry.ts) and the consumer groups each service shares
// between its replicas, read from the services' sources. The chart reads it to cap autoscaling
// at the partition count and to render KEDA's Kafka triggers, so it must not drift from the code.
//   node scripts/gen-chart-topics.mjs           rewrite the file
//   node scripts/gen-chart-topics.mjs --check   exit 1 when it is out of date (scripts/check-chart.sh)
// Needs Node >= 23 (TypeScript sources are imported with type stripping): scripts/lib/env.sh
// puts the project's Node 24 first on PATH.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { format } from 'prettier';

const root = new URL('../', import.meta.url);
const outPath = new URL('charts/calltrack/files/topic-registry.json', root);
const check = process.argv.includes('--check');

const { TOPICS } = await import(new URL('libs/contracts/src/topic-registry.ts', root).href);

/** Every `groupId: …` option object of a service's non-test sources, with perInstance and topics. */
function consumerGroups(service) {
  const dir = new URL(`services/${service}/src/`, root);
  const config = readFileSync(new URL('config.ts', dir), 'utf8');
  const serviceName = /export const SERVICE_NAME = '([^']+)'/.exec(config)?.[1];
  if (serviceName !== service) throw new Error(`services/${service}/src/config.ts: SERVICE_NAME is ${serviceName}, expected ${service}`);
  const groups = [];
  for (const file of readdirSync(dir, { recursive: true })) {
    if (!file.endsWith('.ts') || /\.(int-)?spec\.ts$|\.d\.ts$/.test(file)) continue;
    const text = readFileSync(new URL(file, dir), 'utf8');
    for (const match of text.matchAll(/groupId: ([^,\n]+),\n((?:[ \t]+[^\n]*\n){1,4})/g)) {
      const [, expr, following] = match;
      if (/this\.groupId|\{ groupId/.test(expr)) continue; // admin calls naming a group, not a consumer
      // Only the option lines that follow directly (the object literal's next keys).
      const perInstance = /^\s*perInstance: true,/m.test(following);
      const topicsMatch = /^\s*topics: \[([^\]]*)\]/m.exec(following);
      if (!topicsMatch) continue;
      const topics = [...topicsMatch[1].matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]);
      if (perInstance) continue; // every replica reads every partition: nothing to share
      const name = expr
        .trim()
        .replace(/^SERVICE_NAME$/, service)
        .replace(/^`\$\{SERVICE_NAME\}(.*)`$/, `${service}$1`)
        .replace(/^'([^']+)'$/, '$1');
      if (!/^[a-z0-9.-]+$/.test(name)) throw new Error(`services/${service}/src/${file}: cannot resolve the shared group name ${expr}`);
      for (const t of topics) if (!TOPICS[t]) throw new Error(`services/${service}/src/${file}: group ${name} reads unknown topic key ${t}`);
      groups.push({ group: name, topics: topics.map((t) => TOPICS[t].name).sort(), partitions: Math.max(...topics.map((t) => TOPICS[t].partitions)) });
    }
  }
  return groups.sort((a, b) => a.group.localeCompare(b.group));
}

const services = readdirSync(new URL('services/', root), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(new URL(`services/${d.name}/src/config.ts`, root)))
  .map((d) => d.name)
  .sort();

const data = {
  generatedBy: 'scripts/gen-chart-topics.mjs from libs/contracts/src/topic-registry.ts and the services consumers; do not edit',
  topics: Object.fromEntries(
    Object.values(TOPICS)
      .map((spec) => [spec.name, { partitions: spec.partitions, key: spec.key, cleanupPolicy: spec.cleanupPolicy }])
      .sort(([a], [b]) => a.localeCompare(b)),
  ),
  // Per service: the groups whose partitions its replicas split (perInstance groups are left out).
  // `partitions` is the largest partition count among the group's topics: more replicas than
  // that get no share of the group's main topic.
  consumerGroups: Object.fromEntries(services.map((s) => [s, consumerGroups(s)])),
};

const text = await format(JSON.stringify(data), { parser: 'json', ...JSON.parse(readFileSync(new URL('.prettierrc.json', root), 'utf8')) });
if (check) {
  const current = existsSync(outPath) ? readFileSync(outPath, 'utf8') : '';
  if (current !== text) {
    process.stderr.write('charts/calltrack/files/topic-registry.json is out of date: run node scripts/gen-chart-topics.mjs\n');
    process.exit(1);
  }
  process.stdout.write('charts/calltrack/files/topic-registry.json is up to date\n');
} else {
  writeFileSync(outPath, text);
  process.stdout.write(`wrote charts/calltrack/files/topic-registry.json (${Object.keys(data.topics).length} topics)\n`);
}
