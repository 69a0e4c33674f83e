-- q8: the columns of the first 50 accounts below AWS organization o-bench0001 (51 to know if
-- more follow), as lookup(annotation:) reads them for the Backstage operation: the node as
-- one jsonb value, as the API binds it.
SELECT id, provider, native_id, name, org_path, ancestors, status, tags, last_seen_at, removed_at
FROM cloud_accounts
WHERE provider = 'aws' AND ancestors @> CAST('[{"id": "o-bench0001"}]' AS jsonb)
ORDER BY id LIMIT 51;
