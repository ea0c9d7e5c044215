// Writes charts/calltrack/files/dashboard.json, the Grafana dashboard of the chart
// (metrics.dashboard), from the panel list below: platform health (targets, consumers, lag,
// dead letters, HTTP, producer, ClickHouse, event loop, memory) and the business flow (visits,
// leases, webhooks, calls, attribution, exports). Series names: docs/operations-alerts.md.
//   node scripts/gen-grafana-dashboard.mjs           rewrite the file
//   node scripts/gen-grafana-dashboard.mjs --check   exit 1 when it is out of date (scripts/check-chart.sh)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { format } from 'prettier';

const root = new URL('../', import.meta.url);
const outPath = new URL('charts/calltrack/files/dashboard.json', root);
const check = process.argv.includes('--check');

// Selectors: the service filter applies to platform panels; business panels filter by namespace only.
const S = 'namespace=~"$namespace", service=~"$service"';
const N = 'namespace=~"$namespace"';
const UP = `job="calltrack", ${S}`;
const RI = '$__rate_interval';

const q = (expr, legend) => ({ expr, legend });

/** Rows of panels; each panel: [title, kind, unit, queries, description]. */
const rows = [
  [
    'Platform health',
    [
      ['Targets up', 'stat', 'none', [q(`sum by (service) (up{${UP}})`, '{{service}}')], 'Pods scraped successfully, per service (up).'],
      [
        'Consumers not consuming',
        'stat',
        'none',
        [q(`sum(1 - calltrack_consumer_up{${S}})`, 'down')],
        'Kafka consumers (per pod and group) with calltrack_consumer_up 0. Alert: CalltrackConsumerDown.',
      ],
      [
        'Dead-lettered, last 24 h',
        'stat',
        'none',
        [q(`sum(increase(calltrack_consumer_dead_lettered_total{${S}}[24h]))`, 'dead-lettered')],
        'Records sent to a .dlq topic. Alert: CalltrackDeadLettered.',
      ],
      [
        'Consumer lag by group',
        'timeseries',
        'short',
        [q(`sum by (service, group) (calltrack_consumer_lag{${S}})`, '{{group}}')],
        'Records behind the high watermark, summed over the partitions each pod holds (a per-instance group counts once per pod).',
      ],
      [
        'Records handled per second',
        'timeseries',
        'ops',
        [q(`sum by (service, group) (rate(calltrack_consumer_records_total{${S}}[${RI}]))`, '{{group}}')],
        '',
      ],
      [
        'Seconds since last progress',
        'timeseries',
        's',
        [q(`time() - max by (service, group) (calltrack_consumer_last_progress_seconds{${S}})`, '{{group}}')],
        'Long values with lag above zero: a stalled consumer (CalltrackConsumerStalled). Quiet topics grow here without harm.',
      ],
      [
        'Batch duration p95',
        'timeseries',
        's',
        [q(`histogram_quantile(0.95, sum by (le, service, group) (rate(calltrack_consumer_batch_duration_seconds_bucket{${S}}[${RI}])))`, '{{group}}')],
        '',
      ],
      [
        'Batch size p50',
        'timeseries',
        'short',
        [q(`histogram_quantile(0.5, sum by (le, service, group) (rate(calltrack_consumer_batch_size_bucket{${S}}[${RI}])))`, '{{group}}')],
        '',
      ],
      [
        'Dead-lettered and parked (per 5 min)',
        'timeseries',
        'short',
        [
          q(`sum by (topic, reason) (increase(calltrack_consumer_dead_lettered_total{${S}}[5m]))`, 'dlq {{topic}} {{reason}}'),
          q(`sum by (topic, reason) (increase(calltrack_consumer_parked_total{${S}}[5m]))`, 'retry tier {{topic}} {{reason}}'),
        ],
        '',
      ],
      [
        'Retries, rebalances, consumer restarts (per 5 min)',
        'timeseries',
        'short',
        [
          q(`sum by (group) (increase(calltrack_consumer_retries_total{${S}}[5m]))`, 'retries {{group}}'),
          q(`sum by (group) (increase(calltrack_consumer_rebalances_total{${S}}[5m]))`, 'rebalances {{group}}'),
          q(`sum by (group) (increase(calltrack_consumer_restarts_total{${S}}[5m]))`, 'restarts {{group}}'),
        ],
        '',
      ],
      [
        'Process restarts (per hour)',
        'timeseries',
        'short',
        [q(`sum by (service) (changes(process_start_time_seconds{${UP}}[1h]))`, '{{service}}')],
        'Restarts of the node process inside a pod (liveness, crash, OOM). A replaced pod is a new series.',
      ],
      [
        'HTTP requests per second by status',
        'timeseries',
        'reqps',
        [q(`sum by (service, status) (rate(calltrack_http_requests_total{${S}}[${RI}]))`, '{{service}} {{status}}')],
        '',
      ],
      [
        'HTTP 5xx ratio',
        'timeseries',
        'percentunit',
        [
          q(
            `sum by (service) (rate(calltrack_http_requests_total{${S}, status=~"5.."}[${RI}])) / sum by (service) ` +
              `(rate(calltrack_http_requests_total{${S}}[${RI}]))`,
            '{{service}}',
          ),
        ],
        '503 with Retry-After: a publish the broker did not confirm in time. Alert: CalltrackHttpErrors.',
      ],
      [
        'HTTP latency p95 by route',
        'timeseries',
        's',
        [
          q(
            `histogram_quantile(0.95, sum by (le, service, route) (rate(calltrack_http_request_duration_seconds_bucket{${S}}[${RI}])))`,
            '{{service}} {{route}}',
          ),
        ],
        '',
      ],
      [
        'Producer send p95',
        'timeseries',
        's',
        [q(`histogram_quantile(0.95, sum by (le, service, topic) (rate(calltrack_producer_send_duration_seconds_bucket{${S}}[${RI}])))`, '{{topic}}')],
        '',
      ],
      [
        'Producer failures per second',
        'timeseries',
        'ops',
        [q(`sum by (service, topic, reason) (rate(calltrack_producer_failures_total{${S}}[${RI}]))`, '{{topic}} {{reason}}')],
        '',
      ],
      [
        'ClickHouse reachable',
        'timeseries',
        'none',
        [q(`min by (service, instance) (calltrack_clickhouse_up{${S}})`, '{{instance}}')],
        '1 when the last query succeeded. Alert: CalltrackClickHouseDown.',
      ],
      [
        'ClickHouse inserted rows per second',
        'timeseries',
        'rowsps',
        [q(`sum by (table) (rate(calltrack_clickhouse_insert_rows_total{${S}}[${RI}]))`, '{{table}}')],
        '',
      ],
      [
        'ClickHouse insert p95 and failures',
        'timeseries',
        's',
        [
          q(`histogram_quantile(0.95, sum by (le, table) (rate(calltrack_clickhouse_insert_duration_seconds_bucket{${S}}[${RI}])))`, 'p95 {{table}}'),
          q(`sum by (table) (increase(calltrack_clickhouse_insert_failures_total{${S}}[5m]))`, 'failures/5m {{table}}'),
        ],
        '',
      ],
      [
        'Event-loop delay p99',
        'timeseries',
        's',
        [q(`max by (service, instance) (nodejs_eventloop_lag_p99_seconds{${UP}})`, '{{instance}}')],
        'Above 0.5 s for long: CPU-starved or a blocking handler (CalltrackEventLoopBlocked).',
      ],
      [
        'Memory: RSS and heap used',
        'timeseries',
        'bytes',
        [
          q(`max by (service, instance) (process_resident_memory_bytes{${UP}})`, 'rss {{instance}}'),
          q(`max by (service, instance) (nodejs_heap_size_used_bytes{${UP}})`, 'heap {{instance}}'),
        ],
        'Compare with the container memory limit (<service>.resources.limits.memory).',
      ],
      ['CPU (cores)', 'timeseries', 'short', [q(`sum by (service, instance) (rate(process_cpu_seconds_total{${UP}}[${RI}]))`, '{{instance}}')], ''],
    ],
  ],
  [
    'Business flow',
    [
      ['Visits, last 24 h', 'stat', 'none', [q(`sum(increase(calltrack_sessions_started_total{${N}}[24h]))`, 'visits')], 'Sessions started (session-tracker).'],
      ['Leases granted, last 24 h', 'stat', 'none', [q(`sum(increase(calltrack_pool_leases_granted_total{${N}}[24h]))`, 'leases')], ''],
      ['Calls reported, last 24 h', 'stat', 'none', [q(`sum(increase(calltrack_calls_reported_total{${N}}[24h]))`, 'calls')], ''],
      [
        'Calls attributed, last 24 h',
        'stat',
        'none',
        [q(`sum(increase(calltrack_calls_attributed_total{${N}, outcome="attributed"}[24h]))`, 'attributed')],
        'Calls tied to a visit.',
      ],
      [
        'Pool exhausted, last 24 h',
        'stat',
        'none',
        [q(`sum(increase(calltrack_pool_lease_rejections_total{${N}, reason="pool_exhausted"}[24h]))`, 'rejected')],
        'Lease requests that found the pool empty: those visitors saw the default number.',
      ],
      ['Conversions exported, last 24 h', 'stat', 'none', [q(`sum(increase(calltrack_exports_total{${N}, outcome="delivered"}[24h]))`, 'delivered')], ''],
      [
        'Visits per minute by number kind',
        'timeseries',
        'short',
        [q(`sum by (number) (rate(calltrack_sessions_started_total{${N}}[${RI}])) * 60`, '{{number}}')],
        'pool: a tracking number was leased; default: the site number (pool empty or no pool); promo: a promo code.',
      ],
      [
        'Leases per minute',
        'timeseries',
        'short',
        [
          q(`sum(rate(calltrack_pool_leases_granted_total{${N}}[${RI}])) * 60`, 'granted'),
          q(`sum by (reason) (rate(calltrack_pool_lease_rejections_total{${N}}[${RI}])) * 60`, 'rejected {{reason}}'),
          q(`sum by (reason) (rate(calltrack_pool_leases_ended_total{${N}}[${RI}])) * 60`, 'ended {{reason}}'),
          q(`sum(rate(calltrack_pool_lease_reply_timeouts_total{${N}}[${RI}])) * 60`, 'reply timeouts'),
        ],
        'rejected pool_exhausted: the pool is too small (CalltrackPoolExhausted); reply timeouts: session-tracker gave up waiting for number-pool.',
      ],
      [
        'Webhooks per minute',
        'timeseries',
        'short',
        [q(`sum by (provider, outcome, reason) (rate(calltrack_webhooks_total{${N}}[${RI}])) * 60`, '{{provider}} {{outcome}} {{reason}}')],
        'Refusals by reason: CalltrackWebhookRefusalSpike.',
      ],
      [
        'Calls reported per minute by provider',
        'timeseries',
        'short',
        [q(`sum by (provider) (rate(calltrack_calls_reported_total{${N}}[${RI}])) * 60`, '{{provider}}')],
        '',
      ],
      [
        'Antifraud verdicts per minute',
        'timeseries',
        'short',
        [q(`sum by (verdict) (rate(calltrack_antifraud_verdicts_total{${N}}[${RI}])) * 60`, '{{verdict}}')],
        '',
      ],
      [
        'Calls attributed per minute by outcome',
        'timeseries',
        'short',
        [q(`sum by (outcome) (rate(calltrack_calls_attributed_total{${N}}[${RI}])) * 60`, '{{outcome}}')],
        '',
      ],
      [
        'Attribution evaluation p95 (per chunk)',
        'timeseries',
        's',
        [q(`histogram_quantile(0.95, sum by (le) (rate(calltrack_attribution_evaluation_duration_seconds_bucket{${N}}[${RI}])))`, 'p95')],
        '',
      ],
      [
        'Exports per minute',
        'timeseries',
        'short',
        [q(`sum by (destination_kind, outcome) (rate(calltrack_exports_total{${N}}[${RI}])) * 60`, '{{destination_kind}} {{outcome}}')],
        'failed / dead_lettered: CalltrackExportFailing, CalltrackExportDeadLettered.',
      ],
      [
        'Export delivery p95',
        'timeseries',
        's',
        [
          q(
            `histogram_quantile(0.95, sum by (le, destination_kind) (rate(calltrack_export_delivery_duration_seconds_bucket{${N}}[${RI}])))`,
            '{{destination_kind}}',
          ),
        ],
        '',
      ],
    ],
  ],
];

const datasource = { type: 'prometheus', uid: '${datasource}' };
let id = 0;
let y = 0;
const panels = [];
for (const [title, list] of rows) {
  panels.push({ id: ++id, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
  // Stats up to six to a line (h 4), time series three to a line (h 8).
  const stats = list.filter((p) => p[1] === 'stat');
  const series = list.filter((p) => p[1] !== 'stat');
  const w = Math.floor(24 / Math.min(stats.length, 6));
  const perLine = Math.floor(24 / w);
  stats.forEach((p, i) => panels.push(panel(p, { h: 4, w, x: (i % perLine) * w, y: y + Math.floor(i / perLine) * 4 })));
  y += Math.ceil(stats.length / perLine) * 4;
  series.forEach((p, i) => panels.push(panel(p, { h: 8, w: 8, x: (i % 3) * 8, y: y + Math.floor(i / 3) * 8 })));
  y += Math.ceil(series.length / 3) * 8;
}

function panel([title, type, unit, queries, description], gridPos) {
  const p = {
    id: ++id,
    type,
    title,
    ...(description ? { description } : {}),
    datasource,
    gridPos,
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: queries.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource, expr: t.expr, legendFormat: t.legend, range: true })),
  };
  if (type === 'stat')
    p.options = { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', textMode: 'auto' };
  else p.options = { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } };
  return p;
}

const variable = (name, label, query) => ({
  name,
  label,
  type: 'query',
  datasource,
  query: { query, refId: name },
  definition: query,
  refresh: 2,
  includeAll: true,
  multi: true,
  allValue: '.*',
  current: { selected: true, text: ['All'], value: ['$__all'] },
  sort: 1,
});

const dashboard = {
  uid: 'calltrack-overview',
  title: 'calltrack',
  description: 'calltrack platform health and business flow (charts/calltrack/files/dashboard.json, generated by scripts/gen-grafana-dashboard.mjs).',
  tags: ['calltrack'],
  editable: true,
  graphTooltip: 1,
  refresh: '1m',
  schemaVersion: 39,
  time: { from: 'now-6h', to: 'now' },
  timezone: '',
  links: [],
  annotations: { list: [] },
  templating: {
    list: [
      { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1 },
      variable('namespace', 'Namespace', 'label_values(calltrack_consumer_up, namespace)'),
      variable('service', 'Service', 'label_values(calltrack_consumer_up{namespace=~"$namespace"}, service)'),
    ],
  },
  panels,
};

const text = await format(JSON.stringify(dashboard), { parser: 'json', ...JSON.parse(readFileSync(new URL('.prettierrc.json', root), 'utf8')) });
if (check) {
  const current = existsSync(outPath) ? readFileSync(outPath, 'utf8') : '';
  if (current !== text) {
    process.stderr.write('charts/calltrack/files/dashboard.json is out of date: run node scripts/gen-grafana-dashboard.mjs\n');
    process.exit(1);
  }
  process.stdout.write('charts/calltrack/files/dashboard.json is up to date\n');
} else {
  writeFileSync(outPath, text);
  process.stdout.write(`wrote charts/calltrack/files/dashboard.json (${panels.length} panels)\n`);
}
