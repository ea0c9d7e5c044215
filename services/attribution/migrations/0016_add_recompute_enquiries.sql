-- A recompute evaluates the site's enquiries after its calls; its run records how many.
ALTER TABLE recompute_runs ADD COLUMN IF NOT EXISTS enquiries UInt64 DEFAULT 0 AFTER credit_rows;
ALTER TABLE recompute_runs ADD COLUMN IF NOT EXISTS changed_enquiries UInt64 DEFAULT 0 AFTER enquiries;
