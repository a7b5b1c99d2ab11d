-- The oracle's per-run record, second version (src/verify/oracle-digests.ts).
--
-- digest: the sum of 64-bit row hashes chained through PostgreSQL's hash*extended functions, exact as
-- a numeric (src/verify/digest.ts). It replaces the two 31-bit modular digests (d1, d2), which cost
-- the database twice as much per row. Digests stored under the old scheme cannot be compared with
-- the new query: they go with their columns, and the next `iotbench verify` of such a run
-- regenerates them from the seed.
--
-- alert_expectations: what P5 expects of the device's alerts (its rules' episodes with the first seq
-- the values meet the rule, or a plain condition's raises), computed from the same regenerated
-- readings, so P5 only matches the run's alerts against it. NULL: computed when P5 runs.
ALTER TABLE oracle_digests ADD COLUMN IF NOT EXISTS digest numeric;
ALTER TABLE oracle_digests ADD COLUMN IF NOT EXISTS alert_expectations jsonb;
ALTER TABLE oracle_digests DROP COLUMN IF EXISTS d1;
ALTER TABLE oracle_digests DROP COLUMN IF EXISTS d2;
