// Rows of the ClickHouse tables attribution writes and reads (migrations/), in one place: the store,
// the pipeline, the reports and the API all speak these shapes.

/** Where a visit came from (a VisitOrigin, store/origin-columns.ts maps it): columns of visits, calls and enquiries. */
export interface OriginColumns {
  channel: string;
  utm_source: string;
  utm_medium: string;
  utm_campaign: string;
  utm_content: string;
  utm_term: string;
  referrer: string;
  landing_page: string;
  click_ids: Record<string, string>;
}

/** The analytics ids of a VisitOrigin: only `visits` keeps them. */
export interface AnalyticsColumns {
  ga_client_id: string;
  ym_uid: string;
  fbp: string;
  fbc: string;
}

export interface VisitRow extends OriginColumns, AnalyticsColumns {
  event_id: string;
  site_id: string;
  session_id: string;
  visitor_id: string;
  started_at: string | null;
  user_agent: string;
  client_ip: string;
  /** Derived by VisitEnrichment when projected (empty in rows built without it). */
  device_type?: string;
  browser?: string;
  os?: string;
  country?: string;
  region?: string;
  city?: string;
}

export interface LeaseRow {
  event_id: string;
  site_id: string;
  lease_id: string;
  session_id: string;
  visitor_id: string;
  tracking_number: string;
  granted_at: string | null;
  expires_at: string | null;
  released_at: string | null;
  version: number;
  /** The promo code of a code-only lease (tracking_number empty). */
  promo_code: string;
}

export interface SessionVerdictRow {
  event_id: string;
  site_id: string;
  session_id: string;
  visitor_id: string;
  verdict: string;
  reason: string;
  screened_at: string | null;
}

export interface CallRow extends OriginColumns {
  event_id: string;
  site_id: string;
  call_id: string;
  provider: string;
  provider_call_id: string;
  tracking_number: string;
  caller_number: string;
  direction: string;
  status: string;
  started_at: string | null;
  answered_at: string | null;
  ended_at: string | null;
  talk_seconds: number;
  wait_seconds: number;
  recording_url: string;
  verdict: string;
  verdict_reason: string;
  match_method: string;
  match_reason: string;
  source_label: string;
  session_id: string;
  visitor_id: string;
  lease_id: string;
  is_final: 0 | 1;
  called_number: string;
  match_confidence: number;
  promo_code: string;
  source_call_id: string;
  session_started_at: string | null;
  caller_type: string;
  is_target: 0 | 1;
  is_missed: 0 | 1;
  callback_status: string;
  called_back_at: string | null;
  callback_call_id: string;
  is_outside_hours: 0 | 1;
  is_holiday: 0 | 1;
  lead_id: string;
  settings_revision: number;
  /** The provider report's order (callVersion); `version` adds the attribution revision below it. */
  report_version: number;
  /** The CallScreened event of the report: event ids of re-evaluations derive from it. */
  report_event_id: string;
  version: bigint;
}

export interface PromoRedemptionRow {
  event_id: string;
  site_id: string;
  promo_code: string;
  session_id: string;
  visitor_id: string;
  lease_id: string;
  call_id: string;
  caller_number: string;
  called_at: string | null;
  redeemed_at: string | null;
  redeemed_by: string;
  lease_granted_at: string | null;
}

/** One touch's credit of a call under one model; `is_deleted` rows retract a touch a newer evaluation no longer credits. */
export interface CreditRow {
  site_id: string;
  call_id: string;
  call_started_at: string | null;
  model: string;
  session_id: string;
  visitor_id: string;
  touch_index: number;
  touch_count: number;
  touch_at: string | null;
  channel: string;
  utm_source: string;
  utm_medium: string;
  utm_campaign: string;
  utm_content: string;
  utm_term: string;
  credit: number;
  settings_revision: number;
  version: bigint;
  is_deleted: 0 | 1;
}

export interface CallTagRow {
  event_id: string;
  site_id: string;
  call_id: string;
  tag: string;
  author: string;
  changed_at: string | null;
  version: number;
  is_deleted: 0 | 1;
}

export interface CallCommentRow {
  event_id: string;
  site_id: string;
  call_id: string;
  comment_id: string;
  text: string;
  author: string;
  created_at: string | null;
}

export interface SettingsRow {
  event_id: string;
  site_id: string;
  revision: number;
  reason: string;
  changed_by: string;
  changed_at: string | null;
  lookback_days: number;
  default_model: string;
  time_decay_half_life_days: number;
  position_first_share: number;
  position_last_share: number;
  target_call_seconds: number;
  repeat_caller_window_days: number;
  lead_window_days: number;
  callback_window_hours: number;
  working_hours: string;
  holidays: string[];
  markov_order: number;
  markov_path_cap: number;
}

/** A computation of the data-driven model, one row per channel. */
export interface MarkovWeightRow {
  site_id: string;
  model_id: string;
  computed_at: string;
  trained_from: string;
  trained_to: string;
  channel: string;
  removal_effect: number;
  share: number;
  credit_weight: number;
  conversions: number;
  conversion_value: number;
  fit_error: number;
  shapley_value: number;
  shapley_share: number;
  shapley_credit_weight: number;
  shapley_conversions: number;
  shapley_conversion_value: number;
  shapley_fit_error: number;
  markov_order: number;
  path_cap: number;
  conversion_probability: number;
  paths: number;
  converting_paths: number;
}

export interface RecomputeRunRow {
  site_id: string;
  job_id: string;
  settings_revision: number;
  status: string;
  requested_by: string;
  started_at: string;
  finished_at: string | null;
  calls: number;
  changed_calls: number;
  credit_rows: number;
  enquiries: number;
  changed_enquiries: number;
  markov_model_id: string;
  error: string;
  version: number;
}

/** One row of the channel report. */
export interface ChannelReportRow {
  channel: string;
  utm_source: string;
  utm_medium: string;
  visits: number;
  calls: number;
  answered_calls: number;
  spam_calls: number;
}

/** One row of the attribution report: calls credited to a source under one model (fractions of calls). */
export interface AttributionReportRow {
  channel: string;
  utm_source: string;
  utm_medium: string;
  calls: number;
  target_calls: number;
  first_calls: number;
}

/** A row of `enquiries` (migration 0013). */
export interface EnquiryRow extends OriginColumns {
  event_id: string;
  site_id: string;
  enquiry_id: string;
  kind: string;
  occurred_at: string;
  received_at: string;
  given_session_id: string;
  given_visitor_id: string;
  contact_phone: string;
  contact_email: string;
  contact_name: string;
  message: string;
  page_url: string;
  custom_fields: Record<string, string>;
  match_method: string;
  match_reason: string;
  match_confidence: number;
  source_conversion_id: string;
  session_id: string;
  visitor_id: string;
  session_started_at: string | null;
  contact_type: string;
  lead_id: string;
  settings_revision: number;
  version: bigint;
}

/** A credit row of an enquiry: `attribution_credits` with conversion_kind = 'enquiry'. */
export type EnquiryCreditRow = CreditRow & { conversion_kind: 'enquiry' };

/** What is stored of an enquiry. */
export interface StoredEnquiry {
  row: EnquiryRow;
  credits: readonly EnquiryCreditRow[];
}

/** The conversion id of an enquiry in `attribution_credits.call_id` and lead ids: never a call id (those are `<provider>:…`). */
export const enquiryConversionId = (enquiryId: string): string => `enquiry:${enquiryId}`;

/** A row of `leads` (migration 0014). */
export interface LeadRow {
  site_id: string;
  lead_id: string;
  person_key: string;
  first_contact_at: string;
  last_contact_at: string;
  first_contact_kind: string;
  calls: number;
  target_calls: number;
  missed_calls: number;
  enquiries: number;
  channel: string;
  utm_source: string;
  utm_medium: string;
  utm_campaign: string;
  utm_term: string;
  visitor_id: string;
  version: number;
  is_deleted: 0 | 1;
}

export interface AdCostRow {
  site_id: string;
  day: string;
  channel: string;
  source: string;
  medium: string;
  campaign: string;
  keyword: string;
  cost: number;
  clicks: number;
  impressions: number;
  currency: string;
  import_id: string;
  imported_by: string;
  version: number;
}

export interface ConversionRevenueRow {
  site_id: string;
  call_id: string;
  amount: number;
  currency: string;
  deal_id: string;
  author: string;
  recorded_at: string;
  event_id: string;
}
