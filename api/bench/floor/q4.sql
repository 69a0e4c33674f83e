-- q4: q1 with each account's last run.
SELECT a.id, a.name, a.status, r.id, r.collector, r.status, r.started_at
FROM cloud_accounts a LEFT JOIN collector_runs r ON r.id = a.last_run_id
WHERE a.provider = 'aws' AND a.removed_at IS NULL ORDER BY a.id LIMIT 101;
