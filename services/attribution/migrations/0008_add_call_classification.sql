-- Issue 4, attribution: how each call was matched (confidence, promo code, repeat caller)
-- and classified (first/repeat caller, target, missed and call-back, working hours, lead).
-- Rows written before this migration read with the defaults below until the site's history
-- is recomputed (POST /v1/admin/sites/{site}/attribution/recompute).
ALTER TABLE calls ADD COLUMN IF NOT EXISTS called_number String DEFAULT '' AFTER caller_number;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS match_confidence Float64 DEFAULT if(match_method = 'unmatched', 0, 1) AFTER match_reason;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS promo_code String DEFAULT '' AFTER match_confidence;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS source_call_id String DEFAULT '' AFTER promo_code;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS session_started_at Nullable(DateTime64(3, 'UTC')) AFTER lease_id;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS caller_type LowCardinality(String) DEFAULT '' AFTER is_final;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS is_target UInt8 DEFAULT toUInt8(verdict != 'spam' AND direction = 'inbound' AND answered_at IS NOT NULL AND talk_seconds >= 30) AFTER caller_type;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS is_missed UInt8 DEFAULT toUInt8(direction = 'inbound' AND is_final = 1 AND answered_at IS NULL) AFTER is_target;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS callback_status LowCardinality(String) DEFAULT '' AFTER is_missed;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS called_back_at Nullable(DateTime64(3, 'UTC')) AFTER callback_status;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS callback_call_id String DEFAULT '' AFTER called_back_at;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS is_outside_hours UInt8 DEFAULT 0 AFTER callback_call_id;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS is_holiday UInt8 DEFAULT 0 AFTER is_outside_hours;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS lead_id String DEFAULT '' AFTER is_holiday;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS settings_revision UInt32 DEFAULT 0 AFTER lead_id;
-- `version` becomes report_version · 2^26 + (settings revision · 2^10 + re-evaluation step), so a
-- re-evaluation of the same provider report supersedes it but never a later report. Older rows
-- keep their version, which equals their report_version (DEFAULT below): still lower than any
-- new-style version of the same or a later report.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS report_version UInt64 DEFAULT version AFTER settings_revision;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS report_event_id String DEFAULT replaceRegexpOne(event_id, ':attributed.*$', '') AFTER report_version;
-- A caller's other calls are looked up by number (repeat caller, lead, call-back), a visitor's visits by visitor.
ALTER TABLE calls ADD INDEX IF NOT EXISTS calls_caller_number_idx caller_number TYPE bloom_filter GRANULARITY 4;
ALTER TABLE calls ADD INDEX IF NOT EXISTS calls_called_number_idx called_number TYPE bloom_filter GRANULARITY 4;
ALTER TABLE visits ADD INDEX IF NOT EXISTS visits_visitor_id_idx visitor_id TYPE bloom_filter GRANULARITY 4;
