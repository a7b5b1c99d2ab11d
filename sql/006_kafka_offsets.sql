-- Kafka transport: the next offset to consume per partition of a run's topic, written in the same
-- transaction as the batch that consumed up to it (src/ingest/kafka-offsets.ts). A consumer that is
-- assigned a partition starts from here, not from Kafka's committed offset, so a batch is stored once
-- even when the consumer dies between the database COMMIT and its Kafka offset commit. A batch commits
-- only if the stored offset is where the batch started (a fence against a consumer whose partition
-- moved to another member while its batch was being written).
CREATE TABLE IF NOT EXISTS kafka_offsets (
  run_id       int NOT NULL,
  topic        text NOT NULL,
  partition    int NOT NULL,
  next_offset  bigint NOT NULL,
  committed_by int,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, topic, partition)
);
