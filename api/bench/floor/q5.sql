-- q5: q1 from a key deep in the table.
SELECT id, name, status FROM cloud_accounts
WHERE provider = 'aws' AND removed_at IS NULL AND id > :deep ORDER BY id LIMIT 101;
