-- A release is now written as the next version of its lease row (released_at set, version 2),
-- as `leases` was designed for, so matching reads one table. Copy the releases recorded in
-- lease_releases (0004) onto their leases, then drop that table.
INSERT INTO leases (event_id, site_id, lease_id, session_id, visitor_id, tracking_number, granted_at, expires_at, released_at, version)
SELECT r.release_event_id, l.site_id, l.lease_id, l.session_id, l.visitor_id, l.tracking_number, l.granted_at, l.expires_at, r.first_released_at, 2
FROM (SELECT * FROM leases FINAL WHERE released_at IS NULL) AS l
INNER JOIN (SELECT site_id, lease_id, argMin(event_id, released_at) AS release_event_id, min(released_at) AS first_released_at
            FROM lease_releases GROUP BY site_id, lease_id) AS r
    ON l.site_id = r.site_id AND l.lease_id = r.lease_id;
DROP TABLE IF EXISTS lease_releases;
