/**
 * P1–P3 over worker threads (src/verify/parallel.ts: whereIs, inThread, share-worker), kept small
 * enough to run once per mutant: the threads start when a kind has MIN_PARALLEL_READINGS expected
 * readings, which a manifest of 4 collars × 100,000 readings reaches with a handful of stored rows
 * (the rest is lost, counted without the oracle). The threaded report must equal the one-connection
 * report of the same rows, and a client that connect() did not open is refused with the reason.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import pg from 'pg'
import { connect } from '../../src/db/connect.js'
import { deviceAt } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import { generateReading } from '../../src/sim/generator.js'
import { checkKindExactly, whereIs } from '../../src/verify/parallel.js'
import type { RunManifest } from '../../src/verify/types.js'
import { checkKind } from '../../src/verify/verify.js'
import { requireService } from '../support/services.js'

const fleet = { farms: 1, cowsPerFarm: 4, stallsPerFarm: 0, tanksPerFarm: 0 }
const manifest: RunManifest = { seed: 11, simStartMs: Date.UTC(2026, 3, 1), fleet, perDevice: 100_000, unacked: [[1, 0, 2]], published: 0 }

describe('P1–P3 in worker threads', () => {
  test('the threaded report equals the one-connection report; a client not from connect() is refused', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const schema = `verify_threads_${process.pid}_${Date.now()}`
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query(`CREATE SCHEMA ${schema}`)
    const client = await connect(url, schema, 'iotbench-test')
    try {
      const cols = KINDS.collar.fields.map((f) => `${f.name} ${f.type}`).join(', ')
      await client.query(`CREATE TABLE collar_readings (run_id int, device text, seq int, ts timestamptz, rx bigint, ${cols})`)
      // Devices 0 and 2: seqs 0–2, with seq 1 of device 0 twice and received last, seq 2 of device 2
      // corrupted; device 1 (never acknowledged at 0 and 1): seq 1 only; device 3: nothing.
      const rows: Array<[number, number, number]> = [
        [0, 0, 0],
        [0, 2, 0],
        [0, 1, 0],
        [0, 1, 0],
        [1, 1, 0],
        [2, 0, 0],
        [2, 1, 0],
        [2, 2, 5],
      ]
      let rx = 0
      for (const [i, seq, shift] of rows) {
        const r = generateReading(manifest, deviceAt(fleet, i), seq)
        const values = KINDS.collar.fields.map((f) => r.values[f.name])
        await client.query(
          `INSERT INTO collar_readings VALUES (7, $1, $2, to_timestamp($3 / 1000.0), $4, ${values.map((_, k) => `$${k + 5}`).join(', ')})`,
          [r.device.id, seq, r.ts + shift, rx++, ...values],
        )
      }
      assert.deepEqual(await whereIs(client), { url, schema })
      const threaded = await checkKindExactly(client, 7, manifest, 'collar', 2)
      const single = await checkKind(client, 7, manifest, 'collar')
      assert.deepEqual(threaded, single)
      assert.deepEqual(threaded.set.counts, {
        expected: 400_000,
        ok: 6,
        lost: 399_992,
        unacknowledgedLost: 1,
        recovered: 1,
        duplicated: 1,
        unexpected: 0,
        corrupted: 1,
      })
      assert.deepEqual([threaded.order.rows, threaded.order.outOfOrder, threaded.order.worstDisplacement], [8, 2, 1])
      assert.deepEqual(
        threaded.set.lostByDevice.map(([d]) => d),
        ['farm01-collar-0004', 'farm01-collar-0002', 'farm01-collar-0001', 'farm01-collar-0003'],
      )
      await assert.rejects(checkKindExactly(admin, 7, manifest, 'collar', 2), /verification needs a client opened by connect\(\)/)
    } finally {
      await client.end()
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      await admin.end()
    }
  })
})
