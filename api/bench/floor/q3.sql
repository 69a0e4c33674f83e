-- q3: 100 GCP accounts, every column (raw included).
SELECT * FROM cloud_accounts
WHERE provider = 'gcp' AND removed_at IS NULL ORDER BY id LIMIT 101;
