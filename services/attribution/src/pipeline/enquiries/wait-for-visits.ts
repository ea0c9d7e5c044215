import type { AttributionStore } from '../../store/attribution-store.js';
import type { EnquiryReport } from '../enquiry-evaluation.js';

const DAY_MS = 86_400_000;
const POLL_MS = 250;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The tracker's session usually reaches ClickHouse first; a fresh enquiry naming one not stored yet waits for it a little (outside the evaluation lock). */
export async function waitForVisits(
  store: AttributionStore,
  items: ReadonlyArray<{ report: EnquiryReport; publishedAtMs: number }>,
  stateWaitMs: number,
): Promise<void> {
  let pending = items.filter((i) => i.report.givenSessionId && Date.now() < i.publishedAtMs + stateWaitMs);
  while (pending.length > 0) {
    const at = pending.map((i) => i.report.occurredAtMs);
    const found = await store.visits(
      pending.map((i) => ({ siteId: i.report.siteId, sessionId: i.report.givenSessionId })),
      Math.min(...at) - 180 * DAY_MS,
      Math.max(...at) + DAY_MS,
    );
    const now = Date.now();
    pending = pending.filter((i) => !found.has(`${i.report.siteId}\n${i.report.givenSessionId}`) && now < i.publishedAtMs + stateWaitMs);
    if (pending.length > 0) await sleep(POLL_MS);
  }
}
