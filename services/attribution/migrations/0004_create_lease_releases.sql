-- When a lease ended (number-pool's LeaseExpired). Kept apart from `leases` so a release
-- is an append, not a rewrite of the lease row; matching joins the two on lease_id.
CREATE TABLE IF NOT EXISTS lease_releases
(
    event_id        String,
    site_id         LowCardinality(String),
    lease_id        String,
    tracking_number String,
    released_at     DateTime64(3, 'UTC'),
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(released_at)
ORDER BY (site_id, lease_id)
SETTINGS non_replicated_deduplication_window = 1000;
