-- The history of each site's attribution settings (topic attribution-settings), one row
-- per revision, so reports can tell which rules a row was computed with.
CREATE TABLE IF NOT EXISTS attribution_settings
(
    event_id                  String,
    site_id                   LowCardinality(String),
    revision                  UInt32,
    reason                    LowCardinality(String),
    changed_by                String,
    changed_at                DateTime64(3, 'UTC'),
    lookback_days             UInt16,
    default_model             LowCardinality(String),
    time_decay_half_life_days Float64,
    position_first_share      Float64,
    position_last_share       Float64,
    target_call_seconds       UInt32,
    repeat_caller_window_days UInt16,
    lead_window_days          UInt16,
    callback_window_hours     UInt16,
    working_hours             String,
    holidays                  Array(String),
    ingested_at               DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (site_id, revision)
SETTINGS non_replicated_deduplication_window = 1000;
-- The data-driven model: channel weights learnt from all of a site's paths (Markov removal
-- effects), one set of rows per computation; the latest computed_at is in force.
CREATE TABLE IF NOT EXISTS markov_channel_weights
(
    site_id                LowCardinality(String),
    model_id               String,
    computed_at            DateTime64(3, 'UTC'),
    trained_from           DateTime64(3, 'UTC'),
    trained_to             DateTime64(3, 'UTC'),
    channel                LowCardinality(String),
    removal_effect         Float64,
    share                  Float64,
    conversion_probability Float64,
    paths                  UInt64,
    converting_paths       UInt64,
    ingested_at            DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (site_id, computed_at, channel)
SETTINGS non_replicated_deduplication_window = 1000;
-- Recompute jobs (a site's history evaluated again after a settings change): one row per
-- job, its latest state wins (version = the time of the state).
CREATE TABLE IF NOT EXISTS recompute_runs
(
    site_id           LowCardinality(String),
    job_id            String,
    settings_revision UInt32,
    status            LowCardinality(String),
    requested_by      String,
    started_at        DateTime64(3, 'UTC'),
    finished_at       Nullable(DateTime64(3, 'UTC')),
    calls             UInt64,
    changed_calls     UInt64,
    credit_rows       UInt64,
    markov_model_id   String,
    error             String,
    version           UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (site_id, job_id)
SETTINGS non_replicated_deduplication_window = 1000;
