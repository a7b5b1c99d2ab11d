-- One row per committed ingest batch, written in the batch's own transaction. When a COMMIT's outcome
-- is unknown (the connection died while committing), the retry looks its batch id up here instead of
-- writing the rows twice: the import-id control table of timescaledb-parallel-copy.
CREATE TABLE IF NOT EXISTS ingest_batches (
  batch_id     uuid PRIMARY KEY,
  run_id       int NOT NULL,
  worker       int NOT NULL,
  rows         int NOT NULL,
  dead_letters int NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ingest_batches_run ON ingest_batches (run_id);
