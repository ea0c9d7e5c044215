// Per-site attribution settings: defaults, limits, the admin API's JSON shape (zod)
// and the AttributionSettingsChanged payload. docs/attribution.md documents every
// setting; the defaults here are the ones it states.
import type { calltrack, EventInput } from '@calltrack/contracts';
import { z } from 'zod';
import { ATTRIBUTION_MODELS, type AttributionModel, type ModelSettings } from '../models/attribution-models.js';
import type { SettingsRow } from '../store/rows.js';

const DAY_MS = 86_400_000;

/** ISO weekday (1 Monday … 7 Sunday) and minutes after local midnight; from > to runs past midnight. */
export interface OpeningInterval {
  weekday: number;
  fromMinute: number;
  toMinute: number;
}

export interface AttributionSettings {
  lookbackDays: number;
  defaultModel: AttributionModel;
  timeDecayHalfLifeDays: number;
  positionFirstShare: number;
  positionLastShare: number;
  targetCallSeconds: number;
  repeatCallerWindowDays: number;
  leadWindowDays: number;
  callbackWindowHours: number;
  /** Empty: open around the clock. */
  workingHours: OpeningInterval[];
  /** Local dates (YYYY-MM-DD), sorted. */
  holidays: string[];
  /** The learnt models' chain order (1-3): how many earlier channels a state remembers. */
  markovOrder: number;
  /** The learnt models keep each path's latest touches, at most this many. */
  markovPathCap: number;
}

/** The settings in force for a site, with the revision they were published under (0: never set, defaults). */
export interface SiteSettings extends AttributionSettings {
  revision: number;
  changedAtMs: number;
  changedBy: string;
}

export const DEFAULT_SETTINGS: Readonly<AttributionSettings> = Object.freeze({
  lookbackDays: 30,
  defaultModel: 'last_non_direct_click',
  timeDecayHalfLifeDays: 7,
  positionFirstShare: 0.4,
  positionLastShare: 0.4,
  targetCallSeconds: 30,
  repeatCallerWindowDays: 30,
  leadWindowDays: 7,
  callbackWindowHours: 24,
  workingHours: [],
  holidays: [],
  markovOrder: 1,
  markovPathCap: 50,
});

export const LIMITS = {
  lookbackDays: { min: 1, max: 180 },
  timeDecayHalfLifeDays: { min: 0.01, max: 180 },
  targetCallSeconds: { min: 0, max: 3600 },
  repeatCallerWindowDays: { min: 1, max: 365 },
  leadWindowDays: { min: 1, max: 365 },
  callbackWindowHours: { min: 1, max: 168 },
  markovOrder: { min: 1, max: 3 },
  markovPathCap: { min: 1, max: 200 },
  intervalsPerDay: 6,
  holidays: 1000,
} as const;

/** The defaults as a site's settings before any were published. */
export function defaultSiteSettings(): SiteSettings {
  return { ...DEFAULT_SETTINGS, workingHours: [], holidays: [], revision: 0, changedAtMs: 0, changedBy: '' };
}

export function modelSettingsOf(s: AttributionSettings): ModelSettings {
  return { halfLifeMs: s.timeDecayHalfLifeDays * DAY_MS, firstShare: s.positionFirstShare, lastShare: s.positionLastShare };
}

// ---- the admin API's JSON shape ----

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
type WeekdayKey = (typeof WEEKDAYS)[number];

const HH_MM = /^([01]\d|2[0-4]):([0-5]\d)$/;
const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

const interval = z
  .strictObject({
    from: z.string().regex(HH_MM, 'from must be HH:MM (00:00-23:59)'),
    to: z.string().regex(HH_MM, 'to must be HH:MM (00:01-24:00)'),
  })
  .superRefine((i, ctx) => {
    if (HH_MM.test(i.from) && minutes(i.from) >= 1440) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must be before 24:00' });
    if (HH_MM.test(i.to) && (minutes(i.to) > 1440 || minutes(i.to) === 0))
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must be 00:01-24:00 (use 24:00 for midnight)' });
    if (i.from === i.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'from and to must differ' });
  });

const day = z.array(interval).max(LIMITS.intervalsPerDay, `at most ${LIMITS.intervalsPerDay} intervals a day`).optional();

const isCalendarDate = (d: string): boolean => {
  const ms = Date.parse(`${d}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === d;
};

const range = (name: string, l: { min: number; max: number }, int: boolean) => {
  const base = z.number({ message: `${name} must be a number` });
  return (int ? base.int(`${name} must be a whole number`) : base)
    .min(l.min, `${name} must be ${l.min}-${l.max}`)
    .max(l.max, `${name} must be ${l.min}-${l.max}`);
};

/**
 * PUT body: the site's whole settings; a field left out takes its default. Unknown
 * fields are refused, so a typo cannot silently leave a default in force.
 */
export const settingsBodySchema = z.strictObject({
  lookbackDays: range('lookbackDays', LIMITS.lookbackDays, true).optional(),
  defaultModel: z.enum(ATTRIBUTION_MODELS, { message: `defaultModel must be one of ${ATTRIBUTION_MODELS.join(', ')}` }).optional(),
  timeDecayHalfLifeDays: range('timeDecayHalfLifeDays', LIMITS.timeDecayHalfLifeDays, false).optional(),
  positionBased: z
    .strictObject({
      firstShare: z.number().min(0, 'firstShare must be 0-1').max(1, 'firstShare must be 0-1'),
      lastShare: z.number().min(0, 'lastShare must be 0-1').max(1, 'lastShare must be 0-1'),
    })
    .refine((p) => p.firstShare + p.lastShare <= 1, { message: 'firstShare + lastShare must be at most 1' })
    .optional(),
  targetCallSeconds: range('targetCallSeconds', LIMITS.targetCallSeconds, true).optional(),
  repeatCallerWindowDays: range('repeatCallerWindowDays', LIMITS.repeatCallerWindowDays, true).optional(),
  leadWindowDays: range('leadWindowDays', LIMITS.leadWindowDays, true).optional(),
  callbackWindowHours: range('callbackWindowHours', LIMITS.callbackWindowHours, true).optional(),
  workingHours: z
    .strictObject({ mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day })
    .refine((w) => Object.values(w).some((list) => (list?.length ?? 0) > 0), {
      message: 'give at least one interval, or leave workingHours out for around the clock',
    })
    .nullable()
    .optional(),
  holidays: z
    .array(z.string().refine(isCalendarDate, 'holidays must be calendar dates YYYY-MM-DD'))
    .max(LIMITS.holidays, `at most ${LIMITS.holidays} holidays`)
    .refine((list) => new Set(list).size === list.length, { message: 'holidays must not repeat a date' })
    .optional(),
  markovOrder: range('markovOrder', LIMITS.markovOrder, true).optional(),
  markovPathCap: range('markovPathCap', LIMITS.markovPathCap, true).optional(),
});

export type SettingsBody = z.infer<typeof settingsBodySchema>;

/** The settings a validated PUT body stands for (defaults for what it leaves out). */
export function settingsFromBody(body: SettingsBody): AttributionSettings {
  const workingHours: OpeningInterval[] = [];
  if (body.workingHours) {
    WEEKDAYS.forEach((day, i) => {
      for (const { from, to } of body.workingHours?.[day] ?? []) workingHours.push({ weekday: i + 1, fromMinute: minutes(from), toMinute: minutes(to) });
    });
  }
  return {
    lookbackDays: body.lookbackDays ?? DEFAULT_SETTINGS.lookbackDays,
    defaultModel: body.defaultModel ?? DEFAULT_SETTINGS.defaultModel,
    timeDecayHalfLifeDays: body.timeDecayHalfLifeDays ?? DEFAULT_SETTINGS.timeDecayHalfLifeDays,
    positionFirstShare: body.positionBased?.firstShare ?? DEFAULT_SETTINGS.positionFirstShare,
    positionLastShare: body.positionBased?.lastShare ?? DEFAULT_SETTINGS.positionLastShare,
    targetCallSeconds: body.targetCallSeconds ?? DEFAULT_SETTINGS.targetCallSeconds,
    repeatCallerWindowDays: body.repeatCallerWindowDays ?? DEFAULT_SETTINGS.repeatCallerWindowDays,
    leadWindowDays: body.leadWindowDays ?? DEFAULT_SETTINGS.leadWindowDays,
    callbackWindowHours: body.callbackWindowHours ?? DEFAULT_SETTINGS.callbackWindowHours,
    workingHours,
    holidays: [...(body.holidays ?? [])].sort(),
    markovOrder: body.markovOrder ?? DEFAULT_SETTINGS.markovOrder,
    markovPathCap: body.markovPathCap ?? DEFAULT_SETTINGS.markovPathCap,
  };
}

/** The JSON shape the admin API answers with (the same shape a PUT takes). */
export function settingsView(s: AttributionSettings): object {
  const workingHours: Partial<Record<WeekdayKey, Array<{ from: string; to: string }>>> = {};
  for (const i of s.workingHours) (workingHours[WEEKDAYS[i.weekday - 1]!] ??= []).push({ from: hhmm(i.fromMinute), to: hhmm(i.toMinute) });
  return {
    lookbackDays: s.lookbackDays,
    defaultModel: s.defaultModel,
    timeDecayHalfLifeDays: s.timeDecayHalfLifeDays,
    positionBased: { firstShare: s.positionFirstShare, lastShare: s.positionLastShare },
    targetCallSeconds: s.targetCallSeconds,
    repeatCallerWindowDays: s.repeatCallerWindowDays,
    leadWindowDays: s.leadWindowDays,
    callbackWindowHours: s.callbackWindowHours,
    workingHours: s.workingHours.length > 0 ? workingHours : null,
    holidays: s.holidays,
    markovOrder: s.markovOrder,
    markovPathCap: s.markovPathCap,
  };
}

// ---- the event ----

export function settingsEventInput(s: AttributionSettings, revision: number, changedBy: string, reason: 'update'): EventInput<'AttributionSettingsChanged'> {
  return {
    revision,
    changedBy,
    reason,
    settings: {
      lookbackDays: s.lookbackDays,
      defaultModel: s.defaultModel,
      timeDecayHalfLifeDays: s.timeDecayHalfLifeDays,
      positionFirstShare: s.positionFirstShare,
      positionLastShare: s.positionLastShare,
      targetCallSeconds: s.targetCallSeconds,
      repeatCallerWindowDays: s.repeatCallerWindowDays,
      leadWindowDays: s.leadWindowDays,
      callbackWindowHours: s.callbackWindowHours,
      workingHours: s.workingHours.map((i) => ({ weekday: i.weekday, fromMinute: i.fromMinute, toMinute: i.toMinute })),
      holidays: s.holidays,
      markovOrder: s.markovOrder,
      markovPathCap: s.markovPathCap,
    },
  };
}

const inRange = (v: number | null | undefined, l: { min: number; max: number }, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= l.min && v <= l.max ? v : fallback;

/**
 * The settings an event carries. The API only publishes complete, valid settings;
 * anything out of range (a record written by hand) falls back to its default
 * rather than stopping the consumer.
 */
export function settingsFromEvent(p: calltrack.events.v1.IAttributionSettingsChanged, occurredAtMs: number): SiteSettings {
  const s = p.settings ?? {};
  const model = (ATTRIBUTION_MODELS as readonly string[]).includes(s.defaultModel ?? '') ? (s.defaultModel as AttributionModel) : DEFAULT_SETTINGS.defaultModel;
  const first = inRange(s.positionFirstShare, { min: 0, max: 1 }, DEFAULT_SETTINGS.positionFirstShare);
  const last = inRange(s.positionLastShare, { min: 0, max: 1 }, DEFAULT_SETTINGS.positionLastShare);
  const shares = first + last <= 1 ? { first, last } : { first: DEFAULT_SETTINGS.positionFirstShare, last: DEFAULT_SETTINGS.positionLastShare };
  return {
    lookbackDays: inRange(s.lookbackDays, LIMITS.lookbackDays, DEFAULT_SETTINGS.lookbackDays),
    defaultModel: model,
    timeDecayHalfLifeDays: inRange(s.timeDecayHalfLifeDays, LIMITS.timeDecayHalfLifeDays, DEFAULT_SETTINGS.timeDecayHalfLifeDays),
    positionFirstShare: shares.first,
    positionLastShare: shares.last,
    targetCallSeconds: inRange(s.targetCallSeconds, LIMITS.targetCallSeconds, DEFAULT_SETTINGS.targetCallSeconds),
    repeatCallerWindowDays: inRange(s.repeatCallerWindowDays, LIMITS.repeatCallerWindowDays, DEFAULT_SETTINGS.repeatCallerWindowDays),
    leadWindowDays: inRange(s.leadWindowDays, LIMITS.leadWindowDays, DEFAULT_SETTINGS.leadWindowDays),
    callbackWindowHours: inRange(s.callbackWindowHours, LIMITS.callbackWindowHours, DEFAULT_SETTINGS.callbackWindowHours),
    workingHours: (s.workingHours ?? [])
      .map((i) => ({ weekday: Number(i.weekday ?? 0), fromMinute: Number(i.fromMinute ?? 0), toMinute: Number(i.toMinute ?? 0) }))
      .filter((i) => i.weekday >= 1 && i.weekday <= 7 && i.fromMinute < 1440 && i.toMinute >= 1 && i.toMinute <= 1440 && i.fromMinute !== i.toMinute),
    holidays: (s.holidays ?? []).filter(isCalendarDate).sort(),
    // Settings published before these fields existed read 0: the defaults.
    markovOrder: inRange(s.markovOrder, LIMITS.markovOrder, DEFAULT_SETTINGS.markovOrder),
    markovPathCap: inRange(s.markovPathCap, LIMITS.markovPathCap, DEFAULT_SETTINGS.markovPathCap),
    revision: Number(p.revision ?? 0),
    changedAtMs: occurredAtMs,
    changedBy: p.changedBy ?? '',
  };
}

/** The `attribution_settings` row of a settings event (the history BI reads). */
export function settingsRow(event: {
  eventId: string;
  siteId: string;
  occurredAtMs: number;
  payload: calltrack.events.v1.IAttributionSettingsChanged;
}): SettingsRow {
  const s = settingsFromEvent(event.payload, event.occurredAtMs);
  return {
    event_id: event.eventId,
    site_id: event.siteId,
    revision: s.revision,
    reason: event.payload.reason ?? '',
    changed_by: s.changedBy,
    changed_at: new Date(event.occurredAtMs).toISOString(),
    lookback_days: s.lookbackDays,
    default_model: s.defaultModel,
    time_decay_half_life_days: s.timeDecayHalfLifeDays,
    position_first_share: s.positionFirstShare,
    position_last_share: s.positionLastShare,
    target_call_seconds: s.targetCallSeconds,
    repeat_caller_window_days: s.repeatCallerWindowDays,
    lead_window_days: s.leadWindowDays,
    callback_window_hours: s.callbackWindowHours,
    working_hours: JSON.stringify((settingsView(s) as { workingHours: unknown }).workingHours),
    holidays: s.holidays,
    markov_order: s.markovOrder,
    markov_path_cap: s.markovPathCap,
  };
}
