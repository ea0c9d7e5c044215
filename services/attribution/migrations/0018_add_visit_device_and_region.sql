-- Device (from the user agent, ua-parser-js) and region (from the client address, DB-IP Lite
-- city database, CC BY 4.0) of each visit, derived when the visit is projected. Visits
-- stored before this migration read as ''.
ALTER TABLE visits ADD COLUMN IF NOT EXISTS device_type LowCardinality(String) DEFAULT '' AFTER fbc;
ALTER TABLE visits ADD COLUMN IF NOT EXISTS browser LowCardinality(String) DEFAULT '' AFTER device_type;
ALTER TABLE visits ADD COLUMN IF NOT EXISTS os LowCardinality(String) DEFAULT '' AFTER browser;
ALTER TABLE visits ADD COLUMN IF NOT EXISTS country LowCardinality(String) DEFAULT '' AFTER os;
ALTER TABLE visits ADD COLUMN IF NOT EXISTS region LowCardinality(String) DEFAULT '' AFTER country;
ALTER TABLE visits ADD COLUMN IF NOT EXISTS city LowCardinality(String) DEFAULT '' AFTER region;
