-- q6: a case-insensitive name substring and a tag, written as the API writes them
-- (parameters; the tag as one jsonb object, whose matches the planner estimates from the
-- column's statistics, and the substring from those on lower(name)).
SELECT id, name, status FROM cloud_accounts
WHERE lower(name) LIKE :needle AND tags @> CAST(:tag AS jsonb)
  AND removed_at IS NULL ORDER BY id LIMIT 101;
