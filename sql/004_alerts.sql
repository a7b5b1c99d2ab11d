-- Alerts raised by the ingest's streaming rules (src/alerts/engine.ts), one row per raise or clear,
-- written in the transaction of the batch holding the triggering reading (so a redelivered batch can
-- never write an alert twice), with that reading's values. Raises are also published on
-- {prefix}farm/{farm}/alerts after the commit.
CREATE TABLE IF NOT EXISTS alerts (
  id         bigserial PRIMARY KEY,
  run_id     int NOT NULL,
  farm       text NOT NULL,
  device     text NOT NULL,
  rule       text NOT NULL,
  event      text NOT NULL CHECK (event IN ('raise', 'clear')),
  seq        int NOT NULL,
  ts         timestamptz NOT NULL,
  sent       timestamptz NOT NULL,
  raised_at  timestamptz NOT NULL,
  value      float8 NOT NULL,
  reading    jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_run ON alerts (run_id, device, rule, seq);

-- Rule state per device (JSON), upserted with every batch that touched the device: a restarted ingest
-- worker resumes each rule exactly where the last committed batch left it.
CREATE TABLE IF NOT EXISTS alert_state (
  run_id  int NOT NULL,
  device  text NOT NULL,
  state   jsonb NOT NULL,
  PRIMARY KEY (run_id, device)
);

-- Achieved vs offered rate over the run (P6), one sample a second, and the malformed messages the
-- simulators injected (P7) are kept with the run, so `iotbench verify` can judge them again.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS rates jsonb;
