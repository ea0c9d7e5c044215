-- Tags and comments people put on calls (topic call-annotations). A removed tag is a
-- row with is_deleted = 1 and a later version (the event time), so FINAL shows current tags.
CREATE TABLE IF NOT EXISTS call_tags
(
    event_id   String,
    site_id    LowCardinality(String),
    call_id    String,
    tag        LowCardinality(String),
    author     String,
    changed_at DateTime64(3, 'UTC'),
    version    UInt64,
    is_deleted UInt8,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (site_id, call_id, tag)
SETTINGS non_replicated_deduplication_window = 1000;
CREATE TABLE IF NOT EXISTS call_comments
(
    event_id   String,
    site_id    LowCardinality(String),
    call_id    String,
    comment_id String,
    text       String,
    author     String,
    created_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (site_id, call_id, comment_id)
SETTINGS non_replicated_deduplication_window = 1000;
