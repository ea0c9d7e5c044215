import { counter, gauge, histogram, LATENCY_BUCKETS } from '@calltrack/telemetry';

function define() {
  const table = ['table'] as const;
  return {
    insertRows: counter({ name: 'calltrack_clickhouse_insert_rows_total', help: 'Rows inserted into ClickHouse, by table.', labelNames: table }),
    insertDuration: histogram({
      name: 'calltrack_clickhouse_insert_duration_seconds',
      help: 'Time of one successful INSERT, by table.',
      labelNames: table,
      buckets: LATENCY_BUCKETS,
    }),
    insertFailures: counter({
      name: 'calltrack_clickhouse_insert_failures_total',
      help: 'INSERTs that failed (retried by the caller), by table.',
      labelNames: table,
    }),
    up: gauge({
      name: 'calltrack_clickhouse_up',
      help: 'Whether the last ClickHouse statement or ping got an answer (1) or the server could not be reached (0).',
    }),
  };
}

// Defined at load: a scrape lists every metric from the start, before the first insert.
const metrics = define();

/** The process's ClickHouse metrics (one registry per process, see @calltrack/telemetry). */
export function clickHouseMetrics(): ReturnType<typeof define> {
  return metrics;
}

/** The table without its database: databases differ per environment (and per test), tables do not. */
export function tableLabel(target: string): string {
  const dot = target.lastIndexOf('.');
  return dot >= 0 ? target.slice(dot + 1) : target;
}
