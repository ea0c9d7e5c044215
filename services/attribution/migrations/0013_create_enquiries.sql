-- Enquiries (web forms, callback requests, chats) sites report through telephony-ingest,
-- attributed like calls: one row per enquiry in its latest state. A re-evaluation (a late
-- contact of the same person, a settings change) writes a new row with a higher
-- `version` = settings revision · 2^10 + step; ReplacingMergeTree keeps the highest.
-- `occurred_at` never changes (it is in the key). Read with FINAL.
CREATE TABLE IF NOT EXISTS enquiries
(
    event_id             String,
    site_id              LowCardinality(String),
    enquiry_id           String,
    kind                 LowCardinality(String),
    occurred_at          DateTime64(3, 'UTC'),
    received_at          DateTime64(3, 'UTC'),
    given_session_id     String,
    given_visitor_id     String,
    contact_phone        String,
    contact_email        String,
    contact_name         String,
    message              String,
    page_url             String,
    custom_fields        Map(String, String),
    match_method         LowCardinality(String),
    match_reason         LowCardinality(String),
    match_confidence     Float64,
    source_conversion_id String,
    session_id           String,
    visitor_id           String,
    session_started_at   Nullable(DateTime64(3, 'UTC')),
    channel              LowCardinality(String),
    utm_source           String,
    utm_medium           String,
    utm_campaign         String,
    utm_content          String,
    utm_term             String,
    referrer             String,
    landing_page         String,
    click_ids            Map(String, String),
    contact_type         LowCardinality(String),
    lead_id              String,
    settings_revision    UInt32,
    version              UInt64,
    ingested_at          DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX enquiries_phone_idx contact_phone TYPE bloom_filter GRANULARITY 4,
    INDEX enquiries_visitor_idx visitor_id TYPE bloom_filter GRANULARITY 4,
    INDEX enquiries_given_visitor_idx given_visitor_id TYPE bloom_filter GRANULARITY 4,
    INDEX enquiries_lead_idx lead_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (site_id, toDate(occurred_at), enquiry_id)
SETTINGS non_replicated_deduplication_window = 1000;
