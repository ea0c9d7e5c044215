// Fails when relative imports of TypeScript sources form a cycle (libs/*/src, services/*/src, tests/*/src).
// Type-only imports count too: a cycle of types is still two files that cannot be read apart.
// Dependency-free on purpose (no madge): it parses `import … from './x.js'`, `export … from './x.js'`
// and `import('./x.js')` with relative specifiers only; package imports cannot form a cycle inside a package
// without one of these.
//   node scripts/check-import-cycles.mjs   exit 1 and list each cycle found
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const roots = ['libs', 'services', 'tests'].flatMap((group) =>
  existsSync(join(root, group))
    ? readdirSync(join(root, group))
        .map((name) => join(root, group, name, 'src'))
        .filter((dir) => existsSync(dir))
    : [],
);

function sourcesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'generated') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourcesUnder(path));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

// `from '…'` after import/export (across lines), side-effect imports and dynamic imports.
const SPECIFIERS = [/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];

function resolveImport(from, spec) {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return undefined;
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

// Comments hold example imports now and then; strip them before scanning.
const withoutComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

const graph = new Map();
for (const file of roots.flatMap(sourcesUnder)) {
  const text = withoutComments(readFileSync(file, 'utf8'));
  const deps = new Set();
  for (const pattern of SPECIFIERS)
    for (const m of text.matchAll(pattern)) {
      const target = resolveImport(file, m[1]);
      if (target) deps.add(target);
    }
  graph.set(file, [...deps].sort());
}

// Tarjan's strongly connected components: every component of more than one file (or a file importing itself) is a cycle.
let next = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
function connect(v) {
  index.set(v, next);
  low.set(v, next);
  next += 1;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!index.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
  }
}
for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);

/** One concrete cycle through a component, shortest from its first file (breadth-first). */
function cycleIn(component) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = previous.get(v); p !== undefined; p = previous.get(p)) path.unshift(p);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const rel = (p) => relative(root, p);
if (components.length === 0) {
  process.stdout.write(`no import cycles in ${graph.size} files\n`);
  process.exit(0);
}
for (const component of components) {
  process.stderr.write(`import cycle (${component.length} files): ${cycleIn(component).map(rel).join(' → ')}\n`);
}
process.stderr.write(`${components.length} import cycle(s): break them (move the shared part into a file both import)\n`);
process.exit(1);
