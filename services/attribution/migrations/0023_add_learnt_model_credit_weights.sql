-- The learnt models' per-call credits add up to their channel attribution (docs/attribution.md,
-- "Credits that add up"): each channel's fitted credit weight, its conversions under the model
-- and how far the fit was left from them; the simplified Shapley model beside the Markov one;
-- the chain order and path cap the model was learnt with.
ALTER TABLE markov_channel_weights
    ADD COLUMN IF NOT EXISTS credit_weight Float64 AFTER share,
    ADD COLUMN IF NOT EXISTS conversions Float64 AFTER credit_weight,
    ADD COLUMN IF NOT EXISTS fit_error Float64 AFTER conversions,
    ADD COLUMN IF NOT EXISTS shapley_value Float64 AFTER fit_error,
    ADD COLUMN IF NOT EXISTS shapley_share Float64 AFTER shapley_value,
    ADD COLUMN IF NOT EXISTS shapley_credit_weight Float64 AFTER shapley_share,
    ADD COLUMN IF NOT EXISTS shapley_conversions Float64 AFTER shapley_credit_weight,
    ADD COLUMN IF NOT EXISTS shapley_fit_error Float64 AFTER shapley_conversions,
    ADD COLUMN IF NOT EXISTS markov_order UInt8 DEFAULT 1 AFTER shapley_fit_error,
    ADD COLUMN IF NOT EXISTS path_cap UInt16 DEFAULT 50 AFTER markov_order;
ALTER TABLE attribution_settings
    ADD COLUMN IF NOT EXISTS markov_order UInt8 DEFAULT 1 AFTER holidays,
    ADD COLUMN IF NOT EXISTS markov_path_cap UInt16 DEFAULT 50 AFTER markov_order;
