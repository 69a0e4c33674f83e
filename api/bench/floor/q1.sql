-- q1's rows in plain SQL: the first 100 present AWS accounts by key (101 to know if more follow).
SELECT id, name, status FROM cloud_accounts
WHERE provider = 'aws' AND removed_at IS NULL ORDER BY id LIMIT 101;
