-- q7: what the mutation writes, in one statement (so one transaction): the endpoint upserted
-- by key and one history row.
-- (No colon inside a string literal: pgbench would take what follows for a variable.)
\set k random(0, 999)
\set port random(1024, 65535)
WITH v AS (SELECT 'floor-' || CAST(:k AS text) AS id, CAST(:port AS int) AS port),
e AS (
  INSERT INTO monitoring_endpoints (id, kind, url, auth_mode, status, raw, origin, labels,
    scope, created_by, updated_by, first_seen_at, provenance)
  SELECT v.id, 'prometheus', 'http://' || v.id || '.example.com:' || v.port, 'none',
    'unknown', '{}', 'manual', '{}', 'manual', 'token-bench', 'token-bench', now(), '{}'
  FROM v
  ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, updated_by = EXCLUDED.updated_by
  RETURNING id, url
)
INSERT INTO asset_changes (asset_type, asset_id, actor, at, kind, changes)
SELECT 'monitoring_endpoint', e.id, 'token-bench', now(), 'updated',
  jsonb_build_object('url', jsonb_build_object('new', e.url))
FROM e;
