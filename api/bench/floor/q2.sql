-- q2: one AWS account by id, seven fields.
\set n random(0, :aws - 1)
SELECT id, name, status, org_path, last_seen_at, tags, provider FROM cloud_accounts
WHERE id = 'aws:' || (100000000000 + :n)::text;
