-- One row per call in its latest known state. Every update of a call is a new row with a
-- higher `version` (supplied by the writer, monotonic per call); ReplacingMergeTree keeps
-- the highest. `started_at` must not change between versions: it is in the partition and
-- sorting keys, and rows only collapse within one partition and key. Read with FINAL.
CREATE TABLE IF NOT EXISTS calls
(
    event_id         String,
    site_id          LowCardinality(String),
    call_id          String,
    provider         LowCardinality(String),
    provider_call_id String,
    tracking_number  String,
    caller_number    String,
    direction        LowCardinality(String),
    status           LowCardinality(String),
    started_at       DateTime64(3, 'UTC'),
    answered_at      Nullable(DateTime64(3, 'UTC')),
    ended_at         Nullable(DateTime64(3, 'UTC')),
    talk_seconds     UInt32,
    wait_seconds     UInt32,
    recording_url    String,
    verdict          LowCardinality(String),
    verdict_reason   String,
    match_method     LowCardinality(String),
    match_reason     String,
    session_id       String,
    visitor_id       String,
    lease_id         String,
    utm_source       String,
    utm_medium       String,
    utm_campaign     String,
    utm_content      String,
    utm_term         String,
    referrer         String,
    landing_page     String,
    click_ids        Map(String, String),
    is_final         UInt8,
    version          UInt64,
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (site_id, toDate(started_at), call_id)
SETTINGS non_replicated_deduplication_window = 1000;
