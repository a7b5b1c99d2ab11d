import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { connect } from '../../src/db/connect.js'
import { migrate, pgSession } from '../../src/db/migrate.js'
import { Batch } from '../../src/ingest/batch.js'
import { batchCommitted, commitBatch } from '../../src/ingest/commit.js'
import { requireService, uniqueName } from '../support/services.js'

// One batch is one transaction: its rows of every kind, its dead letters, alerts, rule states and its
// ingest_batches row are all there after the commit, exactly as batched, and batchCommitted (what a
// retry asks after an unknown COMMIT outcome) tells this batch from one that never committed.
describe('commitBatch (real PostgreSQL)', () => {
  test('writes every part of a batch exactly, and batchCommitted knows it', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const schema = uniqueName('commit')
    const client = await connect(url, schema, 'iotbench-test')
    try {
      await migrate(pgSession(client), schema)
      const T0 = 1_700_000_000_000
      for (const table of ['collar_readings', 'milk_readings', 'chiller_readings'])
        await client.query('SELECT iotbench_ensure_partitions($1, $2, $3)', [table, new Date(T0), new Date(T0 + 86_400_000)])
      const b = new Batch(9)
      b.addReading(
        { device: 'farm01-collar-0001', kind: 'collar', seq: 4, ts: T0, sent: T0 + 5, values: [1.5, 2, 3, 38.5, 90, -70] } as never,
        T0 + 10,
        100,
        3,
      )
      b.addReading(
        {
          device: 'farm01-milk-0001',
          kind: 'milk',
          seq: 0,
          ts: T0 + 1,
          sent: T0 + 6,
          values: [7, 12.5, 2, 3, 5.5, 4, 3.4, 35, 420],
        } as never,
        T0 + 11,
        101,
        -1,
      )
      b.addReading(
        { device: 'farm01-tank-0001', kind: 'chiller', seq: 2, ts: T0 + 2, sent: T0 + 7, values: [3.9, true, false, 1200, 18] } as never,
        T0 + 12,
        102,
        1,
      )
      b.addDeadLetter({
        received: T0 + 20,
        topic: 'farm/farm01/collar/x/telemetry',
        payload: Buffer.from([0, 0xff, 0x41]),
        reason: 'invalid-utf8',
      })
      b.alerts.push({
        device: 'farm01-collar-0001',
        kind: 'collar',
        rule: 'fever',
        event: 'raise',
        seq: 4,
        ts: T0,
        sent: T0 + 5,
        raisedAt: T0 + 30,
        value: 38.5,
        reading: { neck_temp_c: 38.5 },
      })
      b.alertStates.set('farm01-collar-0001', JSON.stringify({ fever: { a: true, n: 2, v: 38.5, q: [], r: 0 } }))
      const other = new Batch(9)
      assert.equal(await batchCommitted(client, b), false, 'not committed yet')
      await commitBatch(client, 9, 3, b)
      assert.equal(await batchCommitted(client, b), true)
      assert.equal(await batchCommitted(client, other), false)

      const one = async (sql: string) => (await client.query(sql)).rows
      assert.deepEqual(
        await one(
          `SELECT device, seq, (extract(epoch FROM ts) * 1000)::int8::text AS ts, (extract(epoch FROM sent) * 1000)::int8::text AS sent, rx, prior_seq, activity, rssi_dbm FROM collar_readings WHERE run_id = 9`,
        ),
        [
          {
            device: 'farm01-collar-0001',
            seq: 4,
            ts: String(T0),
            sent: String(T0 + 5),
            rx: '100',
            prior_seq: 3,
            activity: 1.5,
            rssi_dbm: -70,
          },
        ],
      )
      assert.deepEqual(await one('SELECT device, seq, cow, duration_s, prior_seq FROM milk_readings WHERE run_id = 9'), [
        { device: 'farm01-milk-0001', seq: 0, cow: 7, duration_s: 420, prior_seq: -1 },
      ])
      assert.deepEqual(await one('SELECT device, seq, compressor_on, agitator_on, volume_l FROM chiller_readings WHERE run_id = 9'), [
        { device: 'farm01-tank-0001', seq: 2, compressor_on: true, agitator_on: false, volume_l: 1200 },
      ])
      assert.deepEqual(
        await one(
          `SELECT (extract(epoch FROM received) * 1000)::int8::text AS received, topic, encode(payload, 'hex') AS payload, reason FROM dead_letters WHERE run_id = 9`,
        ),
        [{ received: String(T0 + 20), topic: 'farm/farm01/collar/x/telemetry', payload: '00ff41', reason: 'invalid-utf8' }],
      )
      assert.deepEqual(
        await one(
          `SELECT farm, device, rule, event, seq, (extract(epoch FROM ts) * 1000)::int8::text AS ts, (extract(epoch FROM sent) * 1000)::int8::text AS sent, (extract(epoch FROM raised_at) * 1000)::int8::text AS raised, value, reading FROM alerts WHERE run_id = 9`,
        ),
        [
          {
            farm: 'farm01',
            device: 'farm01-collar-0001',
            rule: 'fever',
            event: 'raise',
            seq: 4,
            ts: String(T0),
            sent: String(T0 + 5),
            raised: String(T0 + 30),
            value: 38.5,
            reading: { neck_temp_c: 38.5 },
          },
        ],
      )
      assert.deepEqual(await one('SELECT device, state FROM alert_state WHERE run_id = 9'), [
        { device: 'farm01-collar-0001', state: { fever: { a: true, n: 2, v: 38.5, q: [], r: 0 } } },
      ])
      assert.deepEqual(await one('SELECT worker, rows, dead_letters FROM ingest_batches WHERE run_id = 9'), [
        { worker: 3, rows: 3, dead_letters: 1 },
      ])

      // A later batch replaces a device's rule state; an empty part writes nothing.
      const c = new Batch(9)
      c.alertStates.set('farm01-collar-0001', JSON.stringify({ fever: { a: false, n: 0, v: null, q: [], r: 3 } }))
      await commitBatch(client, 9, 3, c)
      assert.deepEqual(await one('SELECT state FROM alert_state WHERE run_id = 9'), [
        { state: { fever: { a: false, n: 0, v: null, q: [], r: 3 } } },
      ])
      assert.deepEqual(await one('SELECT count(*)::int AS n FROM alerts WHERE run_id = 9'), [{ n: 1 }])
      assert.deepEqual(await one('SELECT rows, dead_letters FROM ingest_batches WHERE run_id = 9 ORDER BY rows DESC'), [
        { rows: 3, dead_letters: 1 },
        { rows: 0, dead_letters: 0 },
      ])

      // A batch that fails (its id again: ingest_batches' key) leaves nothing of itself.
      const dup = new Batch(9)
      dup.addReading(
        { device: 'farm01-collar-0001', kind: 'collar', seq: 5, ts: T0 + 60_000, sent: T0, values: [1, 2, 3, 38, 90, -70] } as never,
        T0,
        103,
        4,
      )
      dup.id = b.id
      await assert.rejects(commitBatch(client, 9, 3, dup))
      assert.deepEqual(await one('SELECT count(*)::int AS n FROM collar_readings WHERE run_id = 9'), [{ n: 1 }], 'rolled back')

      // A COPY the server refuses (a constraint this test adds) fails the commit, not hangs it.
      await client.query('ALTER TABLE collar_readings ADD CONSTRAINT test_seq_below_100 CHECK (seq < 100)')
      const refused = new Batch(9)
      refused.addReading(
        { device: 'farm01-collar-0001', kind: 'collar', seq: 100, ts: T0 + 120_000, sent: T0, values: [1, 2, 3, 38, 90, -70] } as never,
        T0,
        104,
        5,
      )
      await assert.rejects(commitBatch(client, 9, 3, refused), /test_seq_below_100/)
      assert.equal(await batchCommitted(client, refused), false)
    } finally {
      await client.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined)
      await client.end()
    }
  })
})
