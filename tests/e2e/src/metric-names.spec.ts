import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dashboardExpressions, exposedNames, metricNamesOf, parseScrape, ruleExpressions } from './metric-names.js';

const SCRAPE = `# HELP calltrack_consumer_dead_lettered_total Declared, nothing dead-lettered yet.
# TYPE calltrack_consumer_dead_lettered_total counter
# HELP calltrack_consumer_lag Records waiting.
# TYPE calltrack_consumer_lag gauge
calltrack_consumer_lag{group="antifraud.calls",topic="calltrack.calls.v1",partition="0",service="antifraud"} 3
calltrack_consumer_lag{group="a \\"quoted\\" one",topic="t",partition="1",service="antifraud"} 0 1700000000000
calltrack_consumer_lag{group="g",topic="t",partition="2",service="antifraud"} Nan
calltrack_consumer_lag{group="g",topic="t",partition="3",service="antifraud"} 1.5e3
# HELP calltrack_http_request_duration_seconds Time.
# TYPE calltrack_http_request_duration_seconds histogram
calltrack_http_request_duration_seconds_bucket{le="0.1",service="antifraud",route="/readyz",method="GET"} 1
calltrack_http_request_duration_seconds_bucket{le="+Inf",service="antifraud",route="/readyz",method="GET"} 2
calltrack_http_request_duration_seconds_sum{service="antifraud",route="/readyz",method="GET"} 0.5
calltrack_http_request_duration_seconds_count{service="antifraud",route="/readyz",method="GET"} 2
calltrack_http_request_duration_seconds_bucket{le="+Inf",service="antifraud",route="/metrics",method="GET"} 5
calltrack_http_request_duration_seconds_sum{service="antifraud",route="/metrics",method="GET"} 0.25
calltrack_http_request_duration_seconds_count{service="antifraud",route="/metrics",method="GET"} 5
`;

describe('metric names of scrapes, alert rules and dashboards', () => {
  it('parses a scrape into samples, histograms with their _bucket/_sum/_count names', () => {
    const samples = parseScrape(SCRAPE);
    const lag = samples.find((s) => s.name === 'calltrack_consumer_lag')!;
    assert.equal(lag.value, 3);
    assert.equal(lag.labels['partition'], '0');
    assert.equal(samples.find((s) => s.name === 'calltrack_http_request_duration_seconds_count')?.value, 2);
    assert.equal(samples.find((s) => s.name === 'calltrack_http_request_duration_seconds_count' && s.labels['route'] === '/metrics')?.value, 5);
    assert.equal(samples.find((s) => s.labels['partition'] === '1')?.labels['group'], 'a "quoted" one');
    assert.equal(samples.filter((s) => s.family === 'calltrack_http_request_duration_seconds').length, 7);
    assert.ok(Number.isNaN(samples.find((s) => s.labels['partition'] === '2')?.value));
    assert.equal(samples.find((s) => s.labels['partition'] === '3')?.value, 1500);
    assert.throws(() => parseScrape('calltrack_x{a="b" 1\n'), /not a Prometheus sample line|bad labels/);
    assert.throws(() => parseScrape('calltrack_x 12abc\n'), /bad value/);
    assert.deepEqual([...exposedNames(SCRAPE)].sort(), [
      'calltrack_consumer_dead_lettered_total',
      'calltrack_consumer_lag',
      'calltrack_http_request_duration_seconds',
      'calltrack_http_request_duration_seconds_bucket',
      'calltrack_http_request_duration_seconds_count',
      'calltrack_http_request_duration_seconds_sum',
    ]);
  });

  it('finds every metric a PromQL expression reads, Grafana variables included, and refuses a syntax error', () => {
    const expr =
      'sum by (group) (max_over_time(calltrack_consumer_lag{service=~"$service"}[$__rate_interval])) > 100 and on() ' +
      'histogram_quantile(0.99, sum by (le) (rate(calltrack_http_request_duration_seconds_bucket[5m]))) > 1 ' +
      'unless (time() - calltrack_consumer_last_progress_seconds) < 300 or {__name__="process_resident_memory_bytes"}';
    assert.deepEqual(metricNamesOf(expr).sort(), [
      'calltrack_consumer_lag',
      'calltrack_consumer_last_progress_seconds',
      'calltrack_http_request_duration_seconds_bucket',
      'process_resident_memory_bytes',
    ]);
    assert.throws(() => metricNamesOf('sum(rate(calltrack_consumer_lag[5m])'), /syntax error/);
  });

  it('reads the expressions of a rule-groups file and of a dashboard (targets and templating)', () => {
    const rules =
      'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: calltrack_consumer_up == 0\n' +
      '      - record: r\n        expr: sum(rate(calltrack_webhooks_total[5m]))\n';
    assert.deepEqual(ruleExpressions(rules), ['calltrack_consumer_up == 0', 'sum(rate(calltrack_webhooks_total[5m]))']);
    const dashboard = {
      panels: [{ targets: [{ expr: 'rate(calltrack_exports_total[5m])' }] }, { panels: [{ targets: [{ expr: 'calltrack_clickhouse_up' }] }] }],
      templating: { list: [{ query: 'label_values(calltrack_consumer_lag{service="x"}, group)' }, { query: 'label_values(service)' }] },
    };
    const exprs = dashboardExpressions(dashboard);
    assert.deepEqual(exprs.flatMap(metricNamesOf).sort(), ['calltrack_clickhouse_up', 'calltrack_consumer_lag', 'calltrack_exports_total']);
  });
});
