// Metric names used by the chart's alert rules and dashboard, and metric names a scrape exposes:
// the scrape test checks that every rule and panel reads a series the services really have.
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';

/** One series of a scrape: family name, sample name (with _bucket/_sum/_count for histograms), labels, value. */
export interface Sample {
  family: string;
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  type: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * The Prometheus text exposition format (version 0.0.4), parsed here: the one npm parser
 * (parse-prometheus-text-format 1.1.1) drops every labelled histogram series but the first
 * bucket set. Strict: a line that is not a comment, a blank or a well-formed sample throws.
 */
function parseFamilies(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const typeOf = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+TYPE\s+(\S+)\s+(counter|gauge|histogram|summary|untyped)$/.exec(line);
      // A declared metric is exposed even before its first sample (a labelled counter nothing incremented yet).
      if (m) {
        typeOf.set(m[1]!, m[2]!);
        if (!families.has(m[1]!)) families.set(m[1]!, { type: m[2]!, samples: [] });
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`bad labels in: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = sampleValue(m[4]!);
    if (value === undefined) throw new Error(`bad value in: ${line}`);
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const family = base !== name && /^(histogram|summary)$/.test(typeOf.get(base) ?? '') ? base : name;
    let f = families.get(family);
    if (!f) families.set(family, (f = { type: typeOf.get(family) ?? 'untyped', samples: [] }));
    f.samples.push({ family, name, labels, value });
  }
  return families;
}

/** A sample value as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case; prom-client writes "Nan"). */
function sampleValue(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (/^[+-]?inf(inity)?$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
  const n = Number(text);
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) && !Number.isNaN(n) ? n : undefined;
}

/** Parses a scrape into flat samples (histograms as their _bucket/_sum/_count series). */
export function parseScrape(text: string): Sample[] {
  return [...parseFamilies(text).values()].flatMap((f) => f.samples);
}

/** Every name a query may use for what the scrape exposes (histogram families with their _bucket/_sum/_count). */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [name, f] of parseFamilies(text)) {
    names.add(name);
    if (f.type === 'histogram' || f.type === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
  }
  return names;
}

/** Grafana's variables are not PromQL: replaced by values of the right kind before parsing. */
function withoutGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_)?interval|\$__range|\$\{__(rate_)?interval\}|\$\{__range\}/g, '5m')
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*/g, 'var');
}

/**
 * Metric names a PromQL expression reads, with the Prometheus project's own grammar
 * (@prometheus-io/lezer-promql): the identifier of every vector selector, and {__name__="..."}.
 * Throws on a syntax error, so a broken rule fails the test instead of hiding its names.
 */
export function metricNamesOf(expr: string): string[] {
  const text = withoutGrafanaVariables(expr);
  const tree = parser.parse(text);
  const names: string[] = [];
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) throw new Error(`PromQL syntax error at ${cursor.from} in: ${expr}`);
    if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') names.push(text.slice(cursor.from, cursor.to));
    if (cursor.name === 'UnquotedLabelMatcher' || cursor.name === 'QuotedLabelMatcher') {
      const m = /^\s*"?__name__"?\s*=\s*"([^"]+)"/.exec(text.slice(cursor.from, cursor.to));
      if (m) names.push(m[1]!);
    }
  } while (cursor.next());
  return names;
}

/** The `expr` of every rule of a Prometheus rule-groups file (alerts.yaml). */
export function ruleExpressions(yamlText: string): string[] {
  const doc = parseYaml(yamlText) as { groups?: Array<{ rules?: Array<{ expr?: string | number }> }> } | null;
  return (doc?.groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => String(r.expr ?? '')).filter(Boolean));
}

/**
 * The PromQL of a Grafana dashboard: every `expr` (panel targets), and the metric inside
 * templating queries such as label_values(calltrack_consumer_lag, group) or query_result(...).
 */
export function dashboardExpressions(json: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key?: string): void => {
    if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
    else if (typeof v === 'string' && key === 'expr' && v.trim()) out.push(v);
    else if (typeof v === 'string' && key === 'query') {
      const m = /^\s*(?:label_values|query_result)\((.*)\)\s*$/s.exec(v);
      if (m) {
        const inner = m[1]!;
        if (v.trimStart().startsWith('query_result')) out.push(inner);
        else {
          // label_values(metric{...}, label): the selector is the first argument; label_values(label) has none.
          const lastComma = inner.lastIndexOf(',');
          if (lastComma > 0 && !inner.slice(lastComma).includes('}')) out.push(inner.slice(0, lastComma));
        }
      }
    }
  };
  walk(json);
  return out;
}
