import { counter, histogram, LATENCY_BUCKETS } from '@calltrack/telemetry';

export type ExportOutcome = 'delivered' | 'skipped' | 'failed' | 'dead_lettered';

// Defined at load: a scrape lists every metric from the start, before the first export.
const exports = counter({
  name: 'calltrack_exports_total',
  help: 'Conversions exported, by destination kind and outcome (delivered, skipped, failed: retried later, dead_lettered: refused).',
  labelNames: ['destination_kind', 'outcome'] as const,
});
const delivery = histogram({
  name: 'calltrack_export_delivery_duration_seconds',
  help: 'Time to deliver one conversion, retries within its round included.',
  labelNames: ['destination_kind'] as const,
  buckets: LATENCY_BUCKETS,
});

/**
 * calltrack_exports_total{destination_kind,outcome}: conversions by destination kind (webhook;
 * none when no destination is configured) and outcome: delivered, skipped (spam, outbound, no
 * destination), failed (a round of attempts failed, tried again later from the retry tier),
 * dead_lettered (refused by the receiver, not tried again).
 */
export function countExport(destinationKind: string, outcome: ExportOutcome): void {
  exports.inc({ destination_kind: destinationKind, outcome });
}

/** calltrack_export_delivery_duration_seconds{destination_kind}: one successful delivery, its retries included. */
export function observeDelivery(destinationKind: string, seconds: number): void {
  delivery.observe({ destination_kind: destinationKind }, seconds);
}
