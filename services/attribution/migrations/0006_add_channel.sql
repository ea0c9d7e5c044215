-- The marketing channel (docs/channels.md) of each visit and of the visit or static number a
-- call is credited to. Rows written before this migration read as ''.
ALTER TABLE visits ADD COLUMN IF NOT EXISTS channel LowCardinality(String) DEFAULT '' AFTER started_at;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS channel LowCardinality(String) DEFAULT '' AFTER match_reason;
