import { calltrack } from '@calltrack/contracts';
import type { SiteSettings } from '../../settings/attribution-settings.js';
import { PROMO_TIME_TOLERANCE_MS, type LeaseCandidate } from '../../matching/call-matching.js';
import { LEASE_LOOKBACK_MS, type AttributionStore } from '../../store/attribution-store.js';
import type { CallLookups } from '../../store/call-lookups.js';
import type { CallRow } from '../../store/rows.js';
import { historyOfRow, type CallReport, type SiteFacts, type StoredCall } from '../call-evaluation.js';
import type { MatchFacts } from './decide-matches.js';

const OUTBOUND = calltrack.events.v1.CallDirection.CALL_DIRECTION_OUTBOUND;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const pairKey = (siteId: string, id: string): string => `${siteId}\n${id}`;

/** The reports being evaluated together, and the time span and settings their reads cover. */
export interface CallBatch {
  reports: readonly CallReport[];
  siteIds: string[];
  settingsOf(siteId: string): SiteSettings;
  minStartMs: number;
  maxStartMs: number;
  /** The widest of a setting over the batch's sites, in ms (`unitMs` per setting unit). */
  widestMs(f: (s: SiteSettings) => number, unitMs: number): number;
  /** `site\ncall` of the reports: their stored state is what is being replaced. */
  evaluating: ReadonlySet<string>;
}

export function callBatchOf(reports: readonly CallReport[], settingsOf: (siteId: string) => SiteSettings): CallBatch {
  const siteIds = [...new Set(reports.map((r) => r.siteId))];
  const starts = reports.map((r) => r.keyStartMs);
  return {
    reports,
    siteIds,
    settingsOf,
    minStartMs: Math.min(...starts),
    maxStartMs: Math.max(...starts),
    widestMs: (f, unitMs) => Math.max(...siteIds.map((id) => f(settingsOf(id)))) * unitMs,
    evaluating: new Set(reports.map((r) => pairKey(r.siteId, r.callId))),
  };
}

/** What the match and the evaluation read of ClickHouse for a batch, and what is stored of its calls. */
export interface CallFacts extends MatchFacts {
  nowMs: number;
  stored: Map<string, StoredCall>;
  /** Every lease candidate of the dialled numbers (their visitors are people whose contacts a call may join). */
  leaseList: readonly LeaseCandidate[];
}

/**
 * Reads, one query per kind for the whole batch: the stored credits of the calls, the
 * leases of the dialled numbers, promo-code redemptions of the calls or callers, and the
 * stored calls of the people on the line (without the calls being evaluated).
 */
export async function loadCallFacts(
  io: { store: AttributionStore; lookups: CallLookups },
  batch: CallBatch,
  storedRows: ReadonlyMap<string, CallRow>,
  context: { nowMs: number; graceMs: number; site(siteId: string): SiteFacts | undefined },
): Promise<CallFacts> {
  const { reports, minStartMs: minStart, maxStartMs: maxStart } = batch;
  const earlierMs = batch.widestMs((s) => Math.max(s.lookbackDays, s.repeatCallerWindowDays, s.leadWindowDays), DAY_MS);
  const callbackMs = batch.widestMs((s) => s.callbackWindowHours, HOUR_MS);
  const keys = reports.map((r) => ({ siteId: r.siteId, callId: r.callId }));
  const inbound = reports.filter((r) => r.call.direction !== OUTBOUND);
  const numberOf = (r: CallReport): string => (r.call.direction === OUTBOUND ? (r.call.calledNumber ?? '') : (r.call.callerNumber ?? ''));

  const [storedCredits, leases, redemptions, historyRows] = await Promise.all([
    io.lookups.storedCredits(keys, minStart, maxStart),
    io.store.leaseCandidates(
      inbound.filter((r) => r.call.trackingNumber).map((r) => ({ siteId: r.siteId, trackingNumber: r.call.trackingNumber ?? '' })),
      minStart - LEASE_LOOKBACK_MS,
      maxStart,
    ),
    io.lookups.redemptions(
      batch.siteIds,
      inbound.map((r) => r.callId),
      inbound.map((r) => r.call.callerNumber ?? ''),
      minStart - PROMO_TIME_TOLERANCE_MS,
      maxStart + PROMO_TIME_TOLERANCE_MS,
    ),
    io.lookups.callsOfNumbers(
      reports.map((r) => ({ siteId: r.siteId, number: numberOf(r) })),
      minStart - earlierMs - PROMO_TIME_TOLERANCE_MS,
      maxStart + Math.max(callbackMs, PROMO_TIME_TOLERANCE_MS),
    ),
  ]);
  const leasesByNumber = new Map<string, LeaseCandidate[]>();
  for (const lease of leases) {
    const key = pairKey(lease.siteId, lease.trackingNumber);
    const list = leasesByNumber.get(key);
    if (list) list.push(lease);
    else leasesByNumber.set(key, [lease]);
  }
  return {
    nowMs: context.nowMs,
    graceMs: context.graceMs,
    site: context.site,
    settings: batch.settingsOf,
    leases: (siteId, number) => leasesByNumber.get(pairKey(siteId, number)) ?? [],
    leaseList: leases,
    redemptions,
    history: historyRows.filter((r) => !batch.evaluating.has(pairKey(r.site_id, r.call_id))).map(historyOfRow),
    stored: new Map<string, StoredCall>([...storedRows].map(([k, row]) => [k, { row, credits: storedCredits.get(k) ?? [] }])),
  };
}
