-- The value of the conversions each learnt model credits to a channel (docs/attribution.md,
-- "Credits that add up"): the revenue recorded for the converting calls it learnt from
-- (conversion_revenue), shared over each call's channels as the call's credits are.
ALTER TABLE markov_channel_weights
    ADD COLUMN IF NOT EXISTS conversion_value Float64 AFTER conversions,
    ADD COLUMN IF NOT EXISTS shapley_conversion_value Float64 AFTER shapley_conversions;
