-- One row per visit (tracked session start). Written by attribution from session events.
-- Deduplicated on (site_id, day, session_id): a replayed or re-sent visit keeps the
-- latest ingested copy. Read with FINAL (or argMax) for exact counts.
CREATE TABLE IF NOT EXISTS visits
(
    event_id        String,
    site_id         LowCardinality(String),
    session_id      String,
    visitor_id      String,
    started_at      DateTime64(3, 'UTC'),
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    utm_content     String,
    utm_term        String,
    referrer        String,
    landing_page    String,
    user_agent      String,
    client_ip       String,
    click_ids       Map(String, String),
    ga_client_id    String,
    ym_uid          String,
    fbp             String,
    fbc             String,
    tracking_number String,
    lease_id        String,
    is_bot          UInt8,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(started_at)
ORDER BY (site_id, toDate(started_at), session_id)
SETTINGS non_replicated_deduplication_window = 1000;
