-- Plain PostgreSQL stand-ins for the TimescaleDB continuous aggregates: the same names and columns,
-- computed on read (date_trunc to the minute equals time_bucket('1 minute')). Old data is dropped per
-- run (iotbench runs drop) or per partition (DROP TABLE <table>_pYYYYMMDD).

CREATE OR REPLACE VIEW collar_1m AS
SELECT run_id, device, date_trunc('minute', ts) AS bucket,
       count(*) AS readings, avg(activity) AS activity, avg(rumination_min) AS rumination_min,
       avg(eating_min) AS eating_min, avg(neck_temp_c) AS neck_temp_c, max(neck_temp_c) AS neck_temp_max_c,
       min(battery_pct) AS battery_pct
FROM collar_readings GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW milk_1m AS
SELECT run_id, device, date_trunc('minute', ts) AS bucket,
       count(*) AS readings, sum(yield_kg) AS yield_kg, avg(conductivity_ms_cm) AS conductivity_ms_cm,
       avg(fat_pct) AS fat_pct, avg(protein_pct) AS protein_pct
FROM milk_readings GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW chiller_1m AS
SELECT run_id, device, date_trunc('minute', ts) AS bucket,
       count(*) AS readings, avg(milk_temp_c) AS milk_temp_c, max(milk_temp_c) AS milk_temp_max_c,
       max(volume_l) AS volume_l, avg(CASE WHEN compressor_on THEN 1.0 ELSE 0.0 END) AS compressor_duty
FROM chiller_readings GROUP BY 1, 2, 3;
