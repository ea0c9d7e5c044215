import { createHash } from 'node:crypto';
import type { AttributionStore } from '../../store/attribution-store.js';
import type { PlannedEnquiry } from '../enquiry-evaluation.js';

const digest = (keys: readonly string[]): string => createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 24);

/** Writes planned enquiries and their credits. Idempotent: a retry writes the same rows under the same tokens. */
export async function commitEnquiries(store: AttributionStore, plans: readonly PlannedEnquiry[], label: string): Promise<void> {
  if (plans.length === 0) return;
  const rows = plans.map((p) => p.row);
  const credits = plans.flatMap((p) => p.credits);
  await store.write('enquiries', rows, `${label}:enquiries:${digest(rows.map((r) => `${r.site_id} ${r.enquiry_id} ${r.version}`))}`);
  await store.write(
    'attribution_credits',
    credits,
    `${label}:enquiry-credits:${digest(credits.map((c) => `${c.site_id} ${c.call_id} ${c.model} ${c.session_id} ${c.version} ${c.is_deleted}`))}`,
  );
}
