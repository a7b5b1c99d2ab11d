-- iotbench:no-transaction
-- TimescaleDB only (2.x API): the dashboards' aggregates show a run while it runs.
-- - Real-time aggregation (materialized_only = false; off by default since 2.13): a query unions the
--   materialized buckets below the watermark with buckets computed from the raw rows above it.
-- - A refresh that keeps up: every 10 seconds over the last 28 days (a run's sensor time lies in the past,
--   src/sim/context.ts, and the longest shipped profile spans 19 days; below the 30-day retention, so a
--   refresh never empties the aggregate of a dropped chunk). Rows written below the watermark are
--   invalidations that show after the next refresh: within about 10 s of commit. P8 asks the scheduler
--   for one more refresh after the drain and judges the jobs (src/verify/dashboard-jobs.ts).
-- - A day of buckets per batch (buckets_per_batch, 2.19+): with the default of one bucket a batch, the
--   first run over 28 days of 1-minute buckets took 9 s on the WebAssembly build against 0.46 s with 1,440
--   (`npm run bench:refresh` times the refreshes of a ci run).
-- Every statement is idempotent: the policy is removed and added again with these settings.

ALTER MATERIALIZED VIEW collar_1m SET (timescaledb.materialized_only = false);
ALTER MATERIALIZED VIEW milk_1m SET (timescaledb.materialized_only = false);
ALTER MATERIALIZED VIEW chiller_1m SET (timescaledb.materialized_only = false);

SELECT remove_continuous_aggregate_policy('collar_1m', if_exists => true);
SELECT remove_continuous_aggregate_policy('milk_1m', if_exists => true);
SELECT remove_continuous_aggregate_policy('chiller_1m', if_exists => true);
SELECT add_continuous_aggregate_policy('collar_1m', start_offset => INTERVAL '28 days', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 seconds', buckets_per_batch => 1440, if_not_exists => true);
SELECT add_continuous_aggregate_policy('milk_1m', start_offset => INTERVAL '28 days', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 seconds', buckets_per_batch => 1440, if_not_exists => true);
SELECT add_continuous_aggregate_policy('chiller_1m', start_offset => INTERVAL '28 days', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 seconds', buckets_per_batch => 1440, if_not_exists => true);
