import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { connect } from '../../src/db/connect.js'
import { migrate, pgSession } from '../../src/db/migrate.js'
import { Batch } from '../../src/ingest/batch.js'
import { commitBatch } from '../../src/ingest/commit.js'
import { StaleOffsetsError, loadOffsets } from '../../src/ingest/kafka-offsets.js'
import { requireService, uniqueName } from '../support/services.js'

// The offsets-in-the-transaction logic against real PostgreSQL: offsets move with the rows or not at all.
describe('Kafka offsets in the batch transaction (real PostgreSQL)', () => {
  test('stores offsets with the rows; a fenced batch and a failed batch leave rows and offsets untouched', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const schema = uniqueName('koff')
    const client = await connect(url, schema, 'iotbench-test')
    try {
      await migrate(pgSession(client), schema)
      const topic = 't'
      await client.query('SELECT iotbench_ensure_partitions($1, $2, $3)', [
        'collar_readings',
        new Date(1_700_000_000_000),
        new Date(1_700_000_000_000 + 86_400_000),
      ])
      assert.deepEqual(
        [...(await loadOffsets(client, 7, topic, 2))],
        [
          [0, 0],
          [1, 0],
        ],
        'every partition starts at 0',
      )
      const reading = (seq: number) => ({
        device: 'farm01-collar-0001',
        kind: 'collar' as const,
        seq,
        ts: 1_700_000_000_000 + seq * 60_000,
        sent: Date.now(),
        values: [1, 2, 3, 20, 38.5, 90],
      })
      const rows = async () => Number((await client.query('SELECT count(*) AS n FROM collar_readings WHERE run_id = 7')).rows[0].n)

      const b1 = new Batch(7)
      b1.addReading(reading(0) as never, Date.now(), 1, 0 - 1)
      b1.addOffset(0, 0)
      b1.addReading(reading(1) as never, Date.now(), 2, 1 - 1)
      b1.addOffset(0, 1)
      await commitBatch(client, 7, 0, b1, topic)
      assert.equal(await rows(), 2)
      assert.equal((await loadOffsets(client, 7, topic, 2)).get(0), 2, 'offsets moved in the same transaction')

      // A zombie: another member's batch that also starts at offset 0 of partition 0.
      const zombie = new Batch(7)
      zombie.addReading(reading(0) as never, Date.now(), 1, 0 - 1)
      zombie.addOffset(0, 0)
      zombie.addOffset(1, 0)
      await assert.rejects(
        commitBatch(client, 7, 1, zombie, topic),
        (e: unknown) =>
          e instanceof StaleOffsetsError &&
          e.message === 'partition 0 is stored at offset 2, the batch starts at 0 (1 partitions moved to another consumer)',
      )
      assert.equal(await rows(), 2, 'the fenced batch wrote no row')
      assert.deepEqual(
        [...(await loadOffsets(client, 7, topic, 2))].sort(),
        [
          [0, 2],
          [1, 0],
        ],
        'nor moved any offset',
      )
      const unknown = new Batch(7)
      unknown.addOffset(5, 0) // a partition the topic does not have: no stored offset at all
      await assert.rejects(commitBatch(client, 7, 1, unknown, topic), /partition 5 is stored at offset none/)

      // A batch that fails at its last statement, after its offsets and rows were written: all rolled back.
      const broken = new Batch(7)
      broken.addReading(reading(2) as never, Date.now(), 3, 2 - 1)
      broken.addOffset(0, 2)
      broken.id = b1.id // ingest_batches' primary key refuses it
      await assert.rejects(commitBatch(client, 7, 0, broken, topic))
      assert.equal((await loadOffsets(client, 7, topic, 2)).get(0), 2, 'offsets stay with the rows that were not written')
      assert.equal(await rows(), 2)
    } finally {
      await client.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined)
      await client.end()
    }
  })
})
