// Pure changes of a site's configuration: each admin operation takes the current
// SiteConfigured (or none) and returns the next one, keeping the number inventory
// consistent: numbers are never deleted (a removed number is retired), numbers new
// to the pool are quarantined, numbers moved from another site carry where from.
import type { calltrack, EventInput } from '@calltrack/contracts';

type SiteConfigured = calltrack.events.v1.ISiteConfigured;
type InventoryNumber = calltrack.events.v1.IInventoryNumber;
type StaticSource = calltrack.events.v1.IStaticNumber;

export type Usage = 'pool' | 'static' | 'overflow';

/** Default quiet period of a number new to a pool: one day without calls. */
export const DEFAULT_QUARANTINE_SECONDS = 86_400;

export class SiteConfigError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where else a number is (other sites' inventories), for the move and conflict rules. */
export type NumberOwners = (number: string) => Array<{ siteId: string; status: string }>;

export interface SiteBasics {
  name: string;
  country: string;
  timeZone: string;
  defaultNumber: string;
  otherSiteNumbers: string[];
  leaseTtlSeconds: number;
  shortagePolicy: string;
  overflowNumber: string;
  quarantineSeconds: number;
  rules: calltrack.events.v1.ITrackingRule[];
  promoCodes: calltrack.events.v1.IPromoCodeSettings;
}

export interface WantedNumber {
  number: string;
  usage: Usage;
  source?: StaticSource;
  skipQuarantine?: boolean;
}

/**
 * The whole configuration at once (PUT): the wanted numbers become the active
 * inventory; numbers of the previous inventory not wanted any more are retired.
 */
export function replaceSite(
  siteId: string,
  previous: SiteConfigured | undefined,
  basics: SiteBasics,
  wanted: WantedNumber[],
  owners: NumberOwners,
  nowMs: number,
): EventInput<'SiteConfigured'> {
  const inventory = new Map<string, InventoryNumber>((previous ? inventoryOf(previous) : []).map((n) => [n.number ?? '', { ...n }]));
  const wantedSet = new Set(wanted.map((w) => w.number));
  for (const entry of inventory.values()) {
    if (!wantedSet.has(entry.number ?? '') && entry.status !== 'retired') Object.assign(entry, { status: 'retired', retiredAtMs: nowMs });
  }
  for (const w of wanted) inventory.set(w.number, admit(siteId, previous, basics.quarantineSeconds, inventory.get(w.number), w, owners, nowMs));
  return build(previous, basics, [...inventory.values()], nowMs);
}

/** One number joins the site (POST …/numbers). */
export function addNumber(siteId: string, previous: SiteConfigured, wanted: WantedNumber, owners: NumberOwners, nowMs: number): EventInput<'SiteConfigured'> {
  const inventory = inventoryOf(previous);
  const existing = inventory.find((n) => n.number === wanted.number);
  if (existing && existing.status !== 'retired')
    throw new SiteConfigError(409, 'number_exists', `${wanted.number} is already an active ${existing.usage} number of site ${siteId}`);
  const entry = admit(siteId, previous, previous.quarantineSeconds ?? 0, existing, wanted, owners, nowMs);
  return build(previous, basicsOf(previous), [...inventory.filter((n) => n.number !== wanted.number), entry], nowMs);
}

/** An operator puts a pool number in quarantine (it rang with calls meant for someone else, say). */
export function quarantineNumber(siteId: string, previous: SiteConfigured, number: string, nowMs: number): EventInput<'SiteConfigured'> {
  const entry = findActive(siteId, previous, number);
  if (entry.usage !== 'pool') throw new SiteConfigError(400, 'invalid_request', `${number} is a ${entry.usage} number; only pool numbers are quarantined`);
  return withEntry(previous, { ...entry, quarantinedFromMs: nowMs, quarantineReason: 'operator' }, nowMs);
}

/**
 * Retires a number; `replacedBy` takes over its role (a static number's source),
 * joining the inventory if it is new.
 */
export function retireNumber(
  siteId: string,
  previous: SiteConfigured,
  number: string,
  replacedBy: string | undefined,
  owners: NumberOwners,
  nowMs: number,
): EventInput<'SiteConfigured'> {
  const entry = findActive(siteId, previous, number);
  if (entry.usage === 'overflow' && !replacedBy && previous.shortagePolicy === 'overflow_number') {
    throw new SiteConfigError(
      409,
      'number_needed',
      `${number} is the overflow number of shortage policy "overflow_number": give replacedBy, or change the policy first`,
    );
  }
  let next = withEntry(previous, { ...entry, status: 'retired', retiredAtMs: nowMs, replacedBy: replacedBy ?? '' }, nowMs);
  if (replacedBy) {
    if (replacedBy === number) throw new SiteConfigError(400, 'invalid_request', 'replacedBy: a number cannot replace itself');
    const current = (next.numbers ?? []).find((n) => n.number === replacedBy);
    const usage = (entry.usage ?? 'pool') as Usage;
    if (current && current.status !== 'retired') {
      if (current.usage !== usage)
        throw new SiteConfigError(409, 'number_exists', `replacedBy: ${replacedBy} is already a ${current.usage} number of site ${siteId}`);
      if (usage === 'static') next = withEntry(next, { ...current, source: { ...entry.source, number: replacedBy, status: 'active' } }, nowMs);
    } else {
      next = addNumber(siteId, next, { number: replacedBy, usage, ...(entry.source ? { source: entry.source } : {}) }, owners, nowMs);
    }
  }
  // Rules showing the retired static number show its replacement (else they would fall through).
  const rules = (next.rules ?? []).map((r) =>
    replacedBy && entry.usage === 'static' && r.method === 'static' && r.staticNumber === number ? { ...r, staticNumber: replacedBy } : r,
  );
  // One change, one revision, however many steps it took.
  return { ...next, rules, revision: Number(previous.revision ?? 0) + 1 };
}

/** Binds a static number to its source (a channel, a campaign or an offline medium). */
export function bindSource(siteId: string, previous: SiteConfigured, number: string, source: StaticSource, nowMs: number): EventInput<'SiteConfigured'> {
  const entry = findActive(siteId, previous, number);
  if (entry.usage !== 'static') throw new SiteConfigError(400, 'invalid_request', `${number} is a ${entry.usage} number; only static numbers have a source`);
  return withEntry(previous, { ...entry, source: { ...source, number, status: 'active' } }, nowMs);
}

/** Replaces the ordered tracking rules. */
export function replaceRules(previous: SiteConfigured, rules: calltrack.events.v1.ITrackingRule[], nowMs: number): EventInput<'SiteConfigured'> {
  return build(previous, { ...basicsOf(previous), rules }, inventoryOf(previous), nowMs);
}

function findActive(siteId: string, config: SiteConfigured, number: string): InventoryNumber {
  const entry = inventoryOf(config).find((n) => n.number === number);
  if (!entry) throw new SiteConfigError(404, 'unknown_number', `${number} is not a number of site ${siteId}`);
  if (entry.status === 'retired') throw new SiteConfigError(409, 'number_retired', `${number} was retired from site ${siteId}`);
  return entry;
}

function withEntry(config: SiteConfigured, entry: InventoryNumber, nowMs: number): EventInput<'SiteConfigured'> {
  return build(config, basicsOf(config), [...inventoryOf(config).filter((n) => n.number !== entry.number), entry], nowMs);
}

/**
 * The inventory; configurations written before it existed (other services' tests
 * still publish them) read as every listed number active and available.
 */
export function inventoryOf(config: SiteConfigured): InventoryNumber[] {
  if ((config.numbers ?? []).length > 0) return config.numbers!;
  return [
    ...(config.poolNumbers ?? []).map((number) => ({ number, usage: 'pool', status: 'active', addedAtMs: 0 })),
    ...(config.staticNumbers ?? []).map((s) => ({ number: s.number ?? '', usage: 'static', status: s.status || 'active', source: s, addedAtMs: 0 })),
    ...(config.overflowNumber ? [{ number: config.overflowNumber, usage: 'overflow', status: 'active', addedAtMs: 0 }] : []),
  ];
}

/** The inventory entry of a number joining (or rejoining) the site, with its quarantine. */
function admit(
  siteId: string,
  previous: SiteConfigured | undefined,
  quarantineSeconds: number,
  existing: InventoryNumber | undefined,
  wanted: WantedNumber,
  owners: NumberOwners,
  nowMs: number,
): InventoryNumber {
  const elsewhere = owners(wanted.number).filter((o) => o.siteId !== siteId);
  const activeElsewhere = elsewhere.find((o) => o.status !== 'retired');
  if (activeElsewhere)
    throw new SiteConfigError(409, 'number_in_use', `${wanted.number} is an active number of site ${activeElsewhere.siteId}; retire it there first`);
  const source =
    wanted.usage === 'static'
      ? { utmSource: '', utmMedium: '', utmCampaign: '', label: '', channel: '', ...wanted.source, number: wanted.number, status: 'active' }
      : undefined;
  if (existing && existing.status !== 'retired' && existing.usage === wanted.usage) {
    // Unchanged number: keeps its history and any quarantine in progress; a static number takes the new source.
    return source ? { ...existing, source } : existing;
  }
  const entry: InventoryNumber = { number: wanted.number, usage: wanted.usage, status: 'active', addedAtMs: nowMs, ...(source ? { source } : {}) };
  const moved = elsewhere[0];
  if (moved) entry.movedFromSite = moved.siteId;
  // Only the dynamic pool waits: a number shown to visitors must not receive calls meant for someone else.
  // A site's first numbers are not quarantined unless they come from another site.
  const newToPool = wanted.usage === 'pool' && (previous !== undefined || moved !== undefined);
  if (newToPool && quarantineSeconds > 0 && !wanted.skipQuarantine) {
    entry.quarantinedFromMs = nowMs;
    entry.quarantineReason = moved ? 'moved_from_site' : 'new_to_pool';
  }
  return entry;
}

function basicsOf(config: SiteConfigured): SiteBasics {
  return {
    name: config.name ?? '',
    country: config.country ?? '',
    timeZone: config.timeZone ?? '',
    defaultNumber: config.defaultNumber ?? '',
    otherSiteNumbers: config.otherSiteNumbers ?? [],
    leaseTtlSeconds: config.leaseTtlSeconds ?? 0,
    shortagePolicy: config.shortagePolicy ?? '',
    overflowNumber: config.overflowNumber ?? '',
    quarantineSeconds: config.quarantineSeconds ?? 0,
    rules: config.rules ?? [],
    promoCodes: config.promoCodes ?? {},
  };
}

/** The event: derived lists (pool, static, overflow) always agree with the inventory. */
function build(previous: SiteConfigured | undefined, basics: SiteBasics, numbers: InventoryNumber[], nowMs: number): EventInput<'SiteConfigured'> {
  const sorted = [...numbers].sort((a, b) => ((a.number ?? '') < (b.number ?? '') ? -1 : 1));
  const overflows = sorted.filter((n) => n.usage === 'overflow');
  const overflow = overflows.find((n) => n.status !== 'retired');
  return {
    ...basics,
    // A retired overflow number is never shown again; configurations without an inventory keep theirs.
    overflowNumber: overflow?.number ?? (overflows.length > 0 ? '' : basics.overflowNumber),
    numbers: sorted,
    poolNumbers: sorted.filter((n) => n.usage === 'pool' && n.status !== 'retired').map((n) => n.number ?? ''),
    staticNumbers: sorted.filter((n) => n.usage === 'static').map((n) => ({ ...(n.source ?? {}), number: n.number ?? '', status: n.status ?? 'active' })),
    revision: Number(previous?.revision ?? 0) + 1,
    updatedAtMs: nowMs,
  };
}
