import { counter } from '@calltrack/telemetry';

// Defined at load: a scrape lists the metric from the start, before the first call.
const reported = counter({
  name: 'calltrack_calls_reported_total',
  help: 'CallReported events published to the calls topic, by provider (a call reported again with news counts again).',
  labelNames: ['provider'] as const,
});

/** calltrack_calls_reported_total{provider}: CallReported events published (each update of a call counts). */
export function countCallReported(provider: string): void {
  reported.inc({ provider });
}
