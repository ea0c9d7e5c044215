-- Revenue of a conversion (a call, or an enquiry as "enquiry:<id>") from the CRM or a
-- manager (topic call-annotations, ConversionRevenueRecorded). The latest record wins;
-- read with FINAL. Amount 0 clears it.
CREATE TABLE IF NOT EXISTS conversion_revenue
(
    site_id      LowCardinality(String),
    call_id      String,
    amount       Float64,
    currency     LowCardinality(String),
    deal_id      String,
    author       String,
    recorded_at  DateTime64(3, 'UTC'),
    event_id     String,
    ingested_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY (site_id, call_id)
SETTINGS non_replicated_deduplication_window = 1000;
