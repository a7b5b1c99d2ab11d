import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import pg from 'pg'
import { digestSelect } from '../../src/verify/digest.js'
import { requireService } from '../support/services.js'

// digestSelect's SQL on PostgreSQL gives the sums that verify-digest-pinned.test.ts pins for the oracle
// (the same rows): the chain of hash functions, the per-column keys, bool as int and the epoch of ts
// are the SQL's own, so this is where a change to them shows. Temporary tables of the sensor tables'
// names (searched first) hold exactly these rows.
describe('digestSelect on PostgreSQL', () => {
  test('the chiller and collar streams digest to the pinned sums, with counts and receive order', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query(
        'CREATE TEMP TABLE chiller_readings (run_id int, device text, seq int, ts timestamptz, prior_seq int, milk_temp_c float8, compressor_on bool, agitator_on bool, volume_l float8, ambient_c float8)',
      )
      await client.query(
        'CREATE TEMP TABLE collar_readings (run_id int, device text, seq int, ts timestamptz, prior_seq int, activity float8, rumination_min float8, eating_min float8, neck_temp_c float8, battery_pct float8, rssi_dbm int4)',
      )
      const chiller: Array<[number, number, unknown[]]> = [
        [0, Date.UTC(2026, 10, 1, 6, 0, 0, 0), [3.9, true, false, 1250.5, -2.25]],
        [1, Date.UTC(2026, 10, 1, 6, 1, 0, 123), [4.05, false, false, 1251, 0]],
        [2, Date.UTC(2026, 10, 1, 6, 2, 0, 999), [-0, true, true, 0.1, 17.5]],
        [7, Date.UTC(1999, 0, 1, 0, 0, 0, 1), [1e-9, false, true, 123456.789, -40]],
      ]
      for (const [seq, ts, v] of chiller)
        await client.query('INSERT INTO chiller_readings VALUES (1, $1, $2, to_timestamp($3 / 1000.0), $4, $5, $6, $7, $8, $9)', [
          'farm01-tank-0001',
          seq,
          ts,
          seq - 1,
          ...v,
        ])
      const collar: Array<[number, number, unknown[]]> = [
        [0, Date.UTC(2026, 3, 1, 0, 0, 0, 0), [12.5, 31.25, 8, 38.62, 99.5, -71]],
        [1, Date.UTC(2026, 3, 1, 0, 15, 0, 250), [0, 0.5, 0, 39.75, 99.25, -2147483648]],
        [2, Date.UTC(2026, 3, 1, 0, 30, 0, 0), [NaN, 1e-300, 7, 41, 0.125, 2147483647]],
      ]
      // seq 1 stored after seq 2: prior_seq 2 for it (late), 0 for seq 2
      const prior = [-1, 2, 0]
      for (const [seq, ts, v] of collar)
        await client.query('INSERT INTO collar_readings VALUES (1, $1, $2, to_timestamp($3 / 1000.0), $4, $5, $6, $7, $8, $9, $10)', [
          'farm01-collar-0001',
          seq,
          ts,
          prior[seq],
          ...v,
        ])
      assert.deepEqual((await client.query(digestSelect('chiller', 1))).rows, [
        { device: 'farm01-tank-0001', n: '4', digest: '3375389035707410165', late: -1 },
      ])
      assert.deepEqual((await client.query(digestSelect('collar', 1))).rows, [
        { device: 'farm01-collar-0001', n: '3', digest: '7991953536412821394', late: 1 },
      ])
      assert.deepEqual((await client.query(digestSelect('collar', 2))).rows, [], 'another run has no rows')
      assert.deepEqual((await client.query(digestSelect('collar', 1, " AND device = 'nobody'"))).rows, [])
    } finally {
      await client.end()
    }
  })
})
