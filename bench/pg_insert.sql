-- pgbench script for bench/run.py: the database's own ceiling for the baseline's work, one row per
-- transaction into the same table, without Django, gunicorn or HTTP. txid_current() makes each email unique.
INSERT INTO bench_baseline_row (name, email, country, created_at)
VALUES ('Bench Signer', 'pgbench-' || txid_current() || '@example.org', 'FR', now());
