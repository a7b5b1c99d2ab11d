/**
 * npm run bench:refresh — does a 10-second refresh policy keep up with a ci run on TimescaleDB, and how
 * much of what a run has written does a Grafana panel show at each refresh?
 *
 * On the test-only TimescaleDB engine (PGlite + timescaledb 2.23, WebAssembly, single-threaded: slower
 * than a native server, so the times are an upper bound), a ci-shaped run (4 farms, 260 devices, 153
 * readings each, sensor time anchored before the run as `iotbench run` anchors it) is stored in 5,000-row
 * batches as the ingest commits them, a tenth of the devices one seq behind the rest. Every 10,000 rows
 * (5 s of the ci profile at 2,000/s: twice per 10-second schedule, to see what a panel shows between runs) the three refresh jobs run (`CALL run_job`, what the scheduler
 * runs every 10 s); after each the bench counts the run's buckets the aggregates show as the raw rows
 * are. Then the refresh after the drain, and P8. Writes bench-results/refresh-<time>.json and
 * refresh-latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { migrate } from '../src/db/migrate.js'
import { fleetSize, type FleetShape } from '../src/fleet.js'
import { maxClockSkewMs, sensorDayStart } from '../src/sim/context.js'
import { defaultSensorModels } from '../src/sim/models.js'
import { AGGREGATES } from '../src/verify/dashboard-aggregates.js'
import { checkAggregate, checkDashboards, readRefreshStates } from '../src/verify/dashboards.js'
import type { RunManifest } from '../src/verify/types.js'
import { insertRows, newRun, openTimescale, runRows } from '../test/support/pglite.js'
import { must } from '../src/util/must.js'

const SCHEMA = 'bench'
const BATCH_ROWS = 5000
const ROWS_PER_REFRESH = 10_000
const fleet: FleetShape = { farms: 4, cowsPerFarm: 60, stallsPerFarm: 4, tanksPerFarm: 1 }
const devices = fleetSize(fleet)
const perDevice = 153
const m: RunManifest = {
  seed: 20261123,
  fleet,
  perDevice,
  unacked: [],
  published: devices * perDevice,
  startHour: 4.5,
  simStartMs: sensorDayStart(Date.now(), 4.5, perDevice, maxClockSkewMs(defaultSensorModels())),
}
const laggard = (i: number): boolean => i % 10 === 0

const { pg, db } = await openTimescale()
const ms = async (f: () => Promise<unknown>): Promise<number> => {
  const t = performance.now()
  await f()
  return Math.round((performance.now() - t) * 10) / 10
}
try {
  await migrate(db, SCHEMA)
  const jobs = (
    await pg.query<{ job_id: number }>(
      `SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'`,
    )
  ).rows
  const refresh = (): Promise<number> =>
    ms(async () => {
      for (const j of jobs) await pg.exec(`CALL run_job(${j.job_id})`)
    })
  /** The run's buckets the aggregates show as the raw rows are, of those written so far. */
  const visible = async (): Promise<{ written: number; shown: number }> => {
    const states = await readRefreshStates(db, SCHEMA)
    let written = 0
    let shown = 0
    for (const spec of AGGREGATES) {
      const r = await checkAggregate(
        db,
        `"${SCHEMA}"`,
        id,
        { ...m, perDevice: writtenSeqs },
        spec,
        must(states.get(spec.view), `refresh state of ${spec.view}`),
        undefined,
      )
      written += r.checked + r.notRefreshed
      shown += r.checked
    }
    return { written, shown }
  }
  const id = await newRun(pg, SCHEMA, 'bench-refresh', m.seed)
  const seqsPerBatch = Math.max(1, Math.floor(BATCH_ROWS / devices))
  let writtenSeqs = 0
  let rows = 0
  let sinceRefresh = 0
  const insertMs: number[] = []
  const refreshes: Array<{
    afterRows: number
    refreshMs: number
    bucketsWritten: number
    shownBefore: number
    bucketsShown: number
    shownShare: number
  }> = []
  for (let s = 0; s < perDevice; s += seqsPerBatch) {
    const to = Math.min(perDevice, s + seqsPerBatch)
    // The laggards' seqs [s - 1, to - 1) arrive with this batch; everyone else's [s, to).
    const batch = runRows(m, id, [s, to], (i) => !laggard(i))
    const late = runRows(m, id, [Math.max(0, s - 1), to - 1], laggard)
    for (const [t, list] of late) batch.set(t, [...(batch.get(t) ?? []), ...list])
    insertMs.push(await ms(() => insertRows(pg, SCHEMA, batch)))
    const n = [...batch.values()].reduce((k, l) => k + l.length, 0)
    rows += n
    sinceRefresh += n
    writtenSeqs = to - 1 // every device has every seq below this
    if (sinceRefresh >= ROWS_PER_REFRESH) {
      sinceRefresh = 0
      const before = await visible()
      const refreshMs = await refresh()
      const v = await visible()
      refreshes.push({
        afterRows: rows,
        refreshMs,
        bucketsWritten: v.written,
        shownBefore: before.shown,
        bucketsShown: v.shown,
        shownShare: Math.round((v.shown / Math.max(1, v.written)) * 10_000) / 10_000,
      })
      process.stderr.write(
        `after ${rows.toLocaleString()} rows: ${before.shown} of ${before.written} buckets shown; refresh ${refreshMs} ms; then ${v.shown} shown\n`,
      )
    }
  }
  await insertRows(pg, SCHEMA, runRows(m, id, [perDevice - 1, perDevice], laggard))
  writtenSeqs = perDevice
  const beforeFinal = await visible()
  const finalRefreshMs = await refresh()
  const p8 = await checkDashboards(db, id, m, { skipJobs: true })
  const summary = {
    benchmark: 'refresh',
    at: new Date().toISOString(),
    engine: 'PGlite + timescaledb 2.23 (WebAssembly, one thread: an upper bound for a native server)',
    run: {
      devices,
      perDevice,
      rows: devices * perDevice,
      batchRows: BATCH_ROWS,
      laggards: '1 in 10 devices one seq behind',
      refreshEveryRows: ROWS_PER_REFRESH,
    },
    insertMsPerBatch: { median: insertMs.sort((a, b) => a - b)[Math.floor(insertMs.length / 2)], max: Math.max(...insertMs) },
    refreshes,
    beforeFinalRefresh: beforeFinal,
    finalRefreshMs,
    p8: { pass: p8.pass, summary: p8.summary, coverage: p8.evidence.coverage },
    machine: { cpus: cpus().length, loadavg: loadavg().map((x) => Math.round(x * 100) / 100) },
  }
  mkdirSync('bench-results', { recursive: true })
  const stamp = summary.at.replace(/[:.]/g, '-')
  writeFileSync(join('bench-results', `refresh-${stamp}.json`), `${JSON.stringify(summary, null, 2)}\n`)
  writeFileSync(join('bench-results', 'refresh-latest.json'), `${JSON.stringify(summary, null, 2)}\n`)
  process.stdout.write(
    `refresh of a ci run's new rows: ${refreshes.map((r) => `${r.refreshMs} ms`).join(', ')}; final ${finalRefreshMs} ms; P8 ${p8.pass ? 'pass' : 'FAIL'} (${JSON.stringify(p8.evidence.coverage)})\n`,
  )
  process.exitCode = p8.pass ? 0 : 3
} finally {
  await pg.close()
}
