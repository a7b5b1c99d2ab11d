-- Set-based verification (src/verify/fast.ts).
--
-- prior_seq: the highest seq of the same device the ingest had stored before this reading (−1 for the
-- device's first), recorded in receive order next to rx. A reading received after a higher seq of its
-- device has seq < prior_seq, so P3 is a per-row test inside the database instead of a sort of the
-- whole run by (device, rx). NULL on rows stored before this migration: those take the exact path.
ALTER TABLE collar_readings ADD COLUMN IF NOT EXISTS prior_seq int;
ALTER TABLE milk_readings ADD COLUMN IF NOT EXISTS prior_seq int;
ALTER TABLE chiller_readings ADD COLUMN IF NOT EXISTS prior_seq int;

-- The oracle's per-device digests of a run (src/verify/digest.ts): computed once from the seed while
-- the run's load is under way (or by the first `iotbench verify` of an older run) and kept, so later
-- verifications compare fingerprints instead of regenerating every reading. exact = false marks a
-- device whose oracle values cannot take part in a digest (it is always checked row by row).
CREATE TABLE IF NOT EXISTS oracle_digests (
  run_id int NOT NULL,
  device text NOT NULL,
  rows   int NOT NULL,
  d1     bigint NOT NULL,
  d2     bigint NOT NULL,
  exact  boolean NOT NULL,
  PRIMARY KEY (run_id, device)
);
