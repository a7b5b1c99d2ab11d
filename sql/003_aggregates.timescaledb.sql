-- iotbench:no-transaction
-- TimescaleDB only (2.x API): columnstore (compression) segmented by device, 1-minute continuous
-- aggregates per device that the dashboards read, and their refresh, columnstore and retention
-- policies. Continuous aggregates cannot be created inside a transaction block, so this file runs
-- statement by statement; every statement is idempotent.
-- Mind: a continuous aggregate shows rows only after its next refresh, and dropping a hypertable with
-- compressed chunks needs CASCADE (DESIGN.md).

ALTER TABLE collar_readings SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = 'run_id, device', timescaledb.orderby = 'ts, seq');
ALTER TABLE milk_readings SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = 'run_id, device', timescaledb.orderby = 'ts, seq');
ALTER TABLE chiller_readings SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = 'run_id, device', timescaledb.orderby = 'ts, seq');
CALL add_columnstore_policy('collar_readings', after => INTERVAL '7 days', if_not_exists => true);
CALL add_columnstore_policy('milk_readings', after => INTERVAL '7 days', if_not_exists => true);
CALL add_columnstore_policy('chiller_readings', after => INTERVAL '7 days', if_not_exists => true);

CREATE MATERIALIZED VIEW IF NOT EXISTS collar_1m WITH (timescaledb.continuous) AS
SELECT run_id, device, time_bucket(INTERVAL '1 minute', ts) AS bucket,
       count(*) AS readings, avg(activity) AS activity, avg(rumination_min) AS rumination_min,
       avg(eating_min) AS eating_min, avg(neck_temp_c) AS neck_temp_c, max(neck_temp_c) AS neck_temp_max_c,
       min(battery_pct) AS battery_pct
FROM collar_readings GROUP BY run_id, device, bucket WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS milk_1m WITH (timescaledb.continuous) AS
SELECT run_id, device, time_bucket(INTERVAL '1 minute', ts) AS bucket,
       count(*) AS readings, sum(yield_kg) AS yield_kg, avg(conductivity_ms_cm) AS conductivity_ms_cm,
       avg(fat_pct) AS fat_pct, avg(protein_pct) AS protein_pct
FROM milk_readings GROUP BY run_id, device, bucket WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS chiller_1m WITH (timescaledb.continuous) AS
SELECT run_id, device, time_bucket(INTERVAL '1 minute', ts) AS bucket,
       count(*) AS readings, avg(milk_temp_c) AS milk_temp_c, max(milk_temp_c) AS milk_temp_max_c,
       max(volume_l) AS volume_l, avg(CASE WHEN compressor_on THEN 1.0 ELSE 0.0 END) AS compressor_duty
FROM chiller_readings GROUP BY run_id, device, bucket WITH NO DATA;

SELECT add_continuous_aggregate_policy('collar_1m', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute', if_not_exists => true);
SELECT add_continuous_aggregate_policy('milk_1m', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute', if_not_exists => true);
SELECT add_continuous_aggregate_policy('chiller_1m', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute', if_not_exists => true);

SELECT add_retention_policy('collar_readings', drop_after => INTERVAL '30 days', if_not_exists => true);
SELECT add_retention_policy('milk_readings', drop_after => INTERVAL '30 days', if_not_exists => true);
SELECT add_retention_policy('chiller_readings', drop_after => INTERVAL '30 days', if_not_exists => true);
