-- A static number's label (its offline source: "flyer", "billboard on the ring road") on the
-- calls credited to it, so reports, exports and the gRPC API can name the source.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS source_label String DEFAULT '' AFTER channel;
