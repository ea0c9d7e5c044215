-- Enquiries are credited in attribution_credits like calls: `conversion_kind` says which
-- (`call`, or `enquiry` with call_id = 'enquiry:<site enquiry id>'). Existing rows are calls.
-- Calls are found by lead (the leads table is recomputed from its contacts) and by visitor.
ALTER TABLE attribution_credits ADD COLUMN IF NOT EXISTS conversion_kind LowCardinality(String) DEFAULT 'call' AFTER call_id;
ALTER TABLE calls ADD INDEX IF NOT EXISTS calls_lead_id_idx lead_id TYPE bloom_filter GRANULARITY 4;
ALTER TABLE calls ADD INDEX IF NOT EXISTS calls_visitor_id_idx visitor_id TYPE bloom_filter GRANULARITY 4;
