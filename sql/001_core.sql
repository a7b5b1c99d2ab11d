-- iotbench core schema. Runs in the schema named by --db-schema (search_path), on plain PostgreSQL
-- or on TimescaleDB; the helper below is the one place that tells the two apart.

-- A table partitioned by time: a hypertable (by_range, TimescaleDB 2.x API) where the timescaledb
-- extension is installed, a natively range-partitioned table (daily partitions + default) where not.
CREATE OR REPLACE FUNCTION iotbench_create_time_table(tbl text, columns text, chunk interval DEFAULT interval '1 day')
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I (%s)', tbl, columns);
    PERFORM create_hypertable(tbl::regclass, by_range('ts', chunk), if_not_exists => true);
  ELSE
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I (%s) PARTITION BY RANGE (ts)', tbl, columns);
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
  END IF;
END
$fn$;

-- Daily partitions covering [from_ts, to_ts) on plain PostgreSQL; a no-op on hypertables, whose chunks
-- TimescaleDB creates itself.
CREATE OR REPLACE FUNCTION iotbench_ensure_partitions(tbl text, from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
  day date := (from_ts AT TIME ZONE 'UTC')::date;
  made integer := 0;
  part text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    RETURN 0;
  END IF;
  WHILE day < (to_ts AT TIME ZONE 'UTC')::date + 1 LOOP
    part := format('%s_p%s', tbl, to_char(day, 'YYYYMMDD'));
    IF to_regclass(quote_ident(current_schema()) || '.' || quote_ident(part)) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        part, tbl, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
      made := made + 1;
    END IF;
    day := day + 1;
  END LOOP;
  RETURN made;
END
$fn$;

CREATE TABLE IF NOT EXISTS runs (
  id           serial PRIMARY KEY,
  name         text NOT NULL UNIQUE,
  profile      text NOT NULL,
  seed         bigint NOT NULL,
  config       jsonb NOT NULL,
  storage      text NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  -- what the source saw: published counts and unacknowledged ranges per device, latency histograms
  evidence     jsonb,
  verdict      jsonb
);

-- Common columns of every reading table: which run, which device and reading, the sensor's time,
-- the intended send time, when the ingest received it and in which order (rx, per ingest worker).
SELECT iotbench_create_time_table('collar_readings', $cols$
  run_id int NOT NULL, device text NOT NULL, seq int NOT NULL, ts timestamptz NOT NULL,
  sent timestamptz NOT NULL, received timestamptz NOT NULL, rx bigint NOT NULL,
  activity float8, rumination_min float8, eating_min float8, neck_temp_c float8, battery_pct float8, rssi_dbm int
$cols$);

SELECT iotbench_create_time_table('milk_readings', $cols$
  run_id int NOT NULL, device text NOT NULL, seq int NOT NULL, ts timestamptz NOT NULL,
  sent timestamptz NOT NULL, received timestamptz NOT NULL, rx bigint NOT NULL,
  cow int, yield_kg float8, flow_mean_kg_min float8, flow_peak_kg_min float8, conductivity_ms_cm float8,
  fat_pct float8, protein_pct float8, milk_temp_c float8, duration_s int
$cols$);

SELECT iotbench_create_time_table('chiller_readings', $cols$
  run_id int NOT NULL, device text NOT NULL, seq int NOT NULL, ts timestamptz NOT NULL,
  sent timestamptz NOT NULL, received timestamptz NOT NULL, rx bigint NOT NULL,
  milk_temp_c float8, compressor_on boolean, agitator_on boolean, volume_l float8, ambient_c float8
$cols$);

-- Runs are appended one after another, so a BRIN index finds a run's rows at almost no cost to
-- COPY; a btree on (run_id, device, seq) halved COPY throughput here (bench:ingest). The verifier
-- sorts a run's rows itself.
CREATE INDEX IF NOT EXISTS collar_readings_run ON collar_readings USING brin (run_id);
CREATE INDEX IF NOT EXISTS milk_readings_run ON milk_readings USING brin (run_id);
CREATE INDEX IF NOT EXISTS chiller_readings_run ON chiller_readings USING brin (run_id);

CREATE TABLE IF NOT EXISTS dead_letters (
  run_id    int NOT NULL,
  received  timestamptz NOT NULL,
  topic     text NOT NULL,
  payload   bytea NOT NULL,
  reason    text NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_run ON dead_letters (run_id, reason);
