-- Promo codes: a code-only lease has an empty tracking_number and its code here; operators'
-- redemptions (number-pool's PromoCodeRedeemed) link a call to the session shown the code.
ALTER TABLE leases ADD COLUMN IF NOT EXISTS promo_code String DEFAULT '';
CREATE TABLE IF NOT EXISTS promo_redemptions
(
    event_id         String,
    site_id          LowCardinality(String),
    promo_code       String,
    session_id       String,
    visitor_id       String,
    lease_id         String,
    call_id          String,
    caller_number    String,
    called_at        DateTime64(3, 'UTC'),
    redeemed_at      DateTime64(3, 'UTC'),
    redeemed_by      String,
    lease_granted_at Nullable(DateTime64(3, 'UTC')),
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(called_at)
ORDER BY (site_id, toDate(called_at), event_id)
SETTINGS non_replicated_deduplication_window = 1000;
