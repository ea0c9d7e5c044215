import type { CallLookups } from '../../store/call-lookups.js';
import type { CallRow } from '../../store/rows.js';
import type { CallReport } from '../call-evaluation.js';
import { isSuperseded } from '../call-version.js';

const DAY_MS = 86_400_000;
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;

/** A report older than what is stored of its call (or accepted earlier in the batch): dropped, nothing is written. */
export interface SupersededReport {
  report: CallReport;
  reason: 'superseded';
  storedVersion: number | undefined;
}

/**
 * Keeps the reports newer than what is stored of their calls, each keyed at the start of its
 * call's first stored version (it is in the sorting key), and the stored rows they replace.
 */
export async function keepNewestReports(
  lookups: CallLookups,
  given: readonly CallReport[],
): Promise<{ reports: CallReport[]; storedRows: Map<string, CallRow>; dropped: SupersededReport[] }> {
  if (given.length === 0) return { reports: [], storedRows: new Map(), dropped: [] };
  const starts = given.map((r) => r.keyStartMs);
  const storedRows = await lookups.storedRows(given, Math.min(...starts) - 2 * DAY_MS, Math.max(...starts) + 2 * DAY_MS);
  const latest = new Map<string, number>([...storedRows].map(([k, r]) => [k, r.report_version]));
  const reports: CallReport[] = [];
  const dropped: SupersededReport[] = [];
  for (const r of given) {
    const key = pairKey(r.siteId, r.callId);
    if (isSuperseded(r.reportVersion, latest.get(key))) {
      dropped.push({ report: r, reason: 'superseded', storedVersion: latest.get(key) });
      continue;
    }
    latest.set(key, r.reportVersion);
    const stored = storedRows.get(key)?.started_at;
    reports.push({ ...r, keyStartMs: stored ? Date.parse(stored) : r.keyStartMs });
  }
  return { reports, storedRows, dropped };
}
