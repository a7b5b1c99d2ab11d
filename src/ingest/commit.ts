import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { KINDS, KIND_NAMES } from '../kinds.js'
import { copyColumns, type Batch } from './batch.js'
import { writeOffsets } from './kafka-offsets.js'

async function copyInto(client: pg.Client, table: string, columns: readonly string[], data: Buffer): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT binary)`))
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve)
    stream.on('error', reject)
    stream.end(data)
  })
}

/** Whether a batch whose COMMIT outcome is unknown did commit. */
export async function batchCommitted(client: pg.Client, batch: Batch): Promise<boolean> {
  const r = await client.query('SELECT 1 FROM ingest_batches WHERE batch_id = $1', [batch.id])
  return (r.rowCount ?? 0) > 0
}

/**
 * Writes one batch in one transaction: a binary COPY per kind, its dead letters, and its row in
 * ingest_batches, and with the Kafka transport the consumed offsets (so the batch is all there or not at all, and a retry can check which).
 */
export async function commitBatch(client: pg.Client, runId: number, worker: number, batch: Batch, kafkaTopic?: string): Promise<void> {
  await client.query('BEGIN')
  try {
    // First, so a consumer whose partitions moved away fails before it writes a row.
    if (kafkaTopic !== undefined) await writeOffsets(client, runId, kafkaTopic, worker, batch.offsets)
    for (const kind of KIND_NAMES) {
      const w = batch.writers[kind]
      if (w.rows > 0) await copyInto(client, KINDS[kind].table, copyColumns(kind), w.finish())
    }
    if (batch.deadLetters.length > 0) {
      const d = batch.deadLetters
      await client.query(
        `INSERT INTO dead_letters (run_id, received, topic, payload, reason)
         SELECT $1, to_timestamp(r / 1000.0), t, p, why FROM unnest($2::float8[], $3::text[], $4::bytea[], $5::text[]) AS u(r, t, p, why)`,
        [runId, d.map((x) => x.received), d.map((x) => x.topic), d.map((x) => x.payload), d.map((x) => x.reason)],
      )
    }
    if (batch.alerts.length > 0) {
      const a = batch.alerts
      await client.query(
        `INSERT INTO alerts (run_id, farm, device, rule, event, seq, ts, sent, raised_at, value, reading)
         SELECT $1, split_part(d, '-', 1), d, r, e, s, to_timestamp(t / 1000.0), to_timestamp(se / 1000.0), to_timestamp(ra / 1000.0), v, j
         FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::jsonb[]) AS u(d, r, e, s, t, se, ra, v, j)`,
        [
          runId,
          a.map((x) => x.device),
          a.map((x) => x.rule),
          a.map((x) => x.event),
          a.map((x) => x.seq),
          a.map((x) => x.ts),
          a.map((x) => x.sent),
          a.map((x) => x.raisedAt),
          a.map((x) => x.value),
          a.map((x) => JSON.stringify(x.reading)),
        ],
      )
    }
    if (batch.alertStates.size > 0) {
      await client.query(
        `INSERT INTO alert_state (run_id, device, state) SELECT $1, d, s FROM unnest($2::text[], $3::jsonb[]) AS u(d, s)
         ON CONFLICT (run_id, device) DO UPDATE SET state = EXCLUDED.state`,
        [runId, [...batch.alertStates.keys()], [...batch.alertStates.values()]],
      )
    }
    await client.query('INSERT INTO ingest_batches (batch_id, run_id, worker, rows, dead_letters) VALUES ($1, $2, $3, $4, $5)', [
      batch.id,
      runId,
      worker,
      batch.rows,
      batch.deadLetters.length,
    ])
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}
