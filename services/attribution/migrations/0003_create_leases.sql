-- One row per number lease in its latest state (granted, then possibly released).
-- Attribution matches a call to the lease whose [granted_at, coalesce(released_at,
-- expires_at)) window contains the call on the same tracking_number.
CREATE TABLE IF NOT EXISTS leases
(
    event_id        String,
    site_id         LowCardinality(String),
    lease_id        String,
    session_id      String,
    visitor_id      String,
    tracking_number String,
    granted_at      DateTime64(3, 'UTC'),
    expires_at      DateTime64(3, 'UTC'),
    released_at     Nullable(DateTime64(3, 'UTC')),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(granted_at)
ORDER BY (site_id, tracking_number, granted_at, lease_id)
SETTINGS non_replicated_deduplication_window = 1000;
