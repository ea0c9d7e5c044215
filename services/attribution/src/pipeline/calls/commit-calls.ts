import { createHash } from 'node:crypto';
import { callKey } from '@calltrack/contracts';
import type { KafkaBus, OutgoingRecord } from '@calltrack/kafka';
import type { Context } from '@calltrack/telemetry';
import type { AttributionStore } from '../../store/attribution-store.js';
import type { PlannedCall } from '../call-evaluation.js';

// A row's content is fixed by its key and version (planWrites gives different content a new
// version), so hashing those names an insert: the same rows again get the same dedup token.
const digest = (keys: readonly string[]): string => createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 24);

/** Writes the planned rows and credits, then publishes what changed (CallAttributed). Idempotent: a retry writes the same rows under the same tokens. */
export async function commitCalls(
  io: { store: AttributionStore; bus: KafkaBus },
  plans: readonly PlannedCall[],
  label: string,
  traceContexts?: ReadonlyMap<string, Context>,
): Promise<void> {
  if (plans.length === 0) return;
  const rows = plans.map((p) => p.row);
  const credits = plans.flatMap((p) => p.credits);
  await io.store.write('calls', rows, `${label}:calls:${digest(rows.map((r) => `${r.site_id} ${r.call_id} ${r.version}`))}`);
  await io.store.write(
    'attribution_credits',
    credits,
    `${label}:credits:${digest(credits.map((c) => `${c.site_id} ${c.call_id} ${c.model} ${c.session_id} ${c.version} ${c.is_deleted}`))}`,
  );
  const outbox: OutgoingRecord[] = plans
    .filter((p) => p.publish)
    .map((p) => {
      const trace = traceContexts?.get(p.evaluated.report.reportEventId);
      return { topic: 'attributedCalls' as const, key: callKey(p.row.site_id, p.row.call_id), event: p.event, ...(trace ? { traceContext: trace } : {}) };
    });
  await io.bus.producer.publishMany(outbox);
}
