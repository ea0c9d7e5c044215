-- Credits of each call under each attribution model, per touch (visit) of the visitor's path.
-- Every evaluation of a call writes its rows with the call row's version; a touch a newer
-- evaluation no longer credits gets a row with is_deleted = 1, so FINAL shows the current
-- credits only. Keyed by the call's started_at, like `calls`.
CREATE TABLE IF NOT EXISTS attribution_credits
(
    site_id           LowCardinality(String),
    call_id           String,
    call_started_at   DateTime64(3, 'UTC'),
    model             LowCardinality(String),
    session_id        String,
    visitor_id        String,
    touch_index       UInt16,
    touch_count       UInt16,
    touch_at          DateTime64(3, 'UTC'),
    channel           LowCardinality(String),
    utm_source        String,
    utm_medium        String,
    utm_campaign      String,
    utm_content       String,
    utm_term          String,
    credit            Float64,
    settings_revision UInt32,
    version           UInt64,
    is_deleted        UInt8,
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(call_started_at)
ORDER BY (site_id, toDate(call_started_at), call_id, model, session_id)
SETTINGS non_replicated_deduplication_window = 1000;
