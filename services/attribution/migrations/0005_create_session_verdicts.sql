-- antifraud's verdict on each visit (bots by user agent). Join to visits on
-- (site_id, session_id) to exclude bots from reports.
CREATE TABLE IF NOT EXISTS session_verdicts
(
    event_id     String,
    site_id      LowCardinality(String),
    session_id   String,
    visitor_id   String,
    verdict      LowCardinality(String),
    reason       String,
    screened_at  DateTime64(3, 'UTC'),
    ingested_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(screened_at)
ORDER BY (site_id, session_id)
SETTINGS non_replicated_deduplication_window = 1000;
