-- q8: the columns of the first 50 accounts below AWS organization o-bench0001 (51 to know if
-- more follow), as lookup(annotation:) reads them for the Backstage operation.
SELECT id, provider, native_id, name, org_path, ancestors, status, tags, last_seen_at, removed_at
FROM cloud_accounts
WHERE provider = 'aws' AND ancestors @> jsonb_build_array(jsonb_build_object('id', 'o-bench0001'))
ORDER BY id LIMIT 51;
