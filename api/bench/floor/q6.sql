-- q6: a case-insensitive name substring and a tag, written as the API writes them
-- (parameters; the tag through jsonb_build_object, which the planner cannot see into: with
-- a literal it expects few rows and sorts a full scan instead of walking the key index).
SELECT id, name, status FROM cloud_accounts
WHERE lower(name) LIKE :needle AND tags @> jsonb_build_object(CAST(:key AS text), CAST(:value AS text))
  AND removed_at IS NULL ORDER BY id LIMIT 101;
