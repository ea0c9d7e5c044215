-- What a site's ads cost, per day, source, medium, campaign and keyword (topic ad-costs,
-- imported through POST /v1/admin/sites/{site}/ad-costs). A later import of the same key
-- replaces the earlier figures (version = import time); read with FINAL.
CREATE TABLE IF NOT EXISTS ad_costs
(
    site_id     LowCardinality(String),
    day         Date,
    channel     LowCardinality(String),
    source      String,
    medium      String,
    campaign    String,
    keyword     String,
    cost        Float64,
    clicks      UInt64,
    impressions UInt64,
    currency    LowCardinality(String),
    import_id   String,
    imported_by String,
    version     UInt64,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, source, medium, campaign, keyword)
SETTINGS non_replicated_deduplication_window = 1000;
