/**
 * P8 as a whole (src/verify/dashboards.ts) against the P8 server model (test/support/p8-server.ts), fast
 * enough for the mutation run: plain PostgreSQL and TimescaleDB, refresh jobs the scheduler runs or not,
 * failures, chunks, buckets not refreshed, past retention or never acknowledged, corrupted aggregates,
 * the provisioned panels and a user's own. Expectations come from the model's data, never from P8.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { AGGREGATES, TOLERANCE_NOTE } from '../../src/verify/dashboard-aggregates.js'
import { DASHBOARDS_DIR } from '../../src/verify/dashboard-panels.js'
import { OracleTables } from '../../src/verify/dashboard-oracle-tables.js'
import { checkDashboards, checkPanels, describe as describeMismatch, namedFindings } from '../../src/verify/dashboards.js'
import type { RunManifest } from '../../src/verify/types.js'
import { bucketsOf, type AggRow, type JobRow, type P8Server } from '../support/p8-server.js'
import { RUN_ID, RUN_NAME, manifestOf, rawRowsOf, serverWithRun } from '../support/p8-run.js'

const MIN = 60_000
const DAY = 86_400_000
const NOW = new Date('2026-12-07T06:00:00Z')
const iso = (ms: number): string => new Date(ms).toISOString()

/** The run's buckets per aggregate, from the model: [count, first bucket, last bucket] over all aggregates. */
function bucketsOfRun(m: RunManifest): { n: number; first: number; last: number; perView: Map<string, AggRow[]> } {
  const raw = rawRowsOf(m)
  const perView = new Map(AGGREGATES.map((a) => [a.view, bucketsOf(a, raw.get(a.table) ?? [])]))
  const all = [...perView.values()].flat()
  return { n: all.length, first: Math.min(...all.map((b) => b.bucket)), last: Math.max(...all.map((b) => b.bucket)), perView }
}
/** (farm, minute) pairs of one aggregate: the rows a panel over it returns. */
const farmMinutes = (rows: readonly AggRow[]): number => new Set(rows.map((r) => `${r.device.split('-')[0]} ${r.bucket}`)).size

type Panel = { panel: string; refId: string; pass: boolean; detail: string; rows: number; differences?: unknown[] }
const panelsOf = (e: Record<string, unknown>): Panel[] => (e.dashboards as { panels: Panel[] }).panels
const panelQueries = (s: P8Server): string[] => s.log.filter((q) => q.startsWith('SELECT a.bucket AS "time"'))

describe('P8 on plain PostgreSQL (views)', () => {
  test('a clean run passes: every bucket compared, every provisioned panel equal to its meaning, no job or catalog read', async () => {
    const m = manifestOf(40)
    const s = serverWithRun(m)
    const b = bucketsOfRun(m)
    const r = await checkDashboards(s.db, RUN_ID, m)
    assert.equal(
      r.summary,
      `${b.n} aggregate buckets equal the raw rows and the oracle; 9 dashboard queries return the oracle's values; policy jobs not applicable (plain PostgreSQL: views, no jobs)`,
    )
    assert.equal(r.pass, true)
    assert.deepEqual([r.id, r.name], ['P8', 'dashboard data'])
    const e = r.evidence
    assert.equal(e.storage, 'postgresql (views computed on read: equal to the raw rows by construction, checked anyway)')
    assert.equal(e.tolerance, TOLERANCE_NOTE)
    assert.deepEqual(e.coverage, { compared: b.n, notRefreshed: 0, share: 1, required: 0.99 })
    assert.equal(e.refreshed, 'views: always current')
    assert.equal(
      e.jobs,
      'not applicable: plain PostgreSQL has no policy jobs (aggregates are views computed on read; old runs are dropped with iotbench runs drop)',
    )
    assert.equal('chunks' in e, false)
    assert.deepEqual(e.mismatches, [])
    assert.equal(
      e.reproduce,
      `iotbench verify <run-id>; a bucket by hand: SELECT * FROM bench.collar_1m WHERE run_id = ${RUN_ID} AND device = '…' AND bucket = '…'`,
    )
    const aggs = e.aggregates as Array<Record<string, unknown>>
    assert.deepEqual(
      aggs.map((a) => [a.aggregate, a.continuous, a.checked, 'mismatches' in a, a.firstBucket, a.lastBucket]),
      AGGREGATES.map((a) => {
        const rows = b.perView.get(a.view)!
        const ts = rows.map((x) => x.bucket)
        return [a.view, false, rows.length, false, iso(Math.min(...ts)), iso(Math.max(...ts))]
      }),
    )
    const d = e.dashboards as { files: number; dir: string; panels: Panel[] }
    assert.deepEqual([d.files, d.dir], [2, 'dashboards/grafana/dashboards'])
    const across: Record<string, string> = { 'Hottest cow per farm (°C)': 'max', 'Bulk-tank milk temperature per farm (°C)': 'max' }
    for (const p of d.panels) {
      const view = p.panel.startsWith('Readings')
        ? 'collar_1m'
        : /Milk yield|Conductivity/.test(p.panel)
          ? 'milk_1m'
          : /tank|Compressor/.test(p.panel)
            ? 'chiller_1m'
            : 'collar_1m'
      const rows = farmMinutes(p.panel.startsWith('Readings') ? [...b.perView.values()].flat() : b.perView.get(view)!)
      const how = across[p.panel] ?? (/yield|Readings/.test(p.panel) ? 'sum' : 'avg')
      assert.deepEqual(
        [p.refId, p.rows, p.pass, p.detail],
        ['A', rows, true, `${rows} rows equal the oracle's (the oracle's ${how} per farm and minute)`],
        p.panel,
      )
    }
    assert.equal(d.panels.length, 9)
    // Each panel is filled for the run: its name, every farm, and the time range from the first bucket to a minute past the last.
    const qs = panelQueries(s)
    assert.equal(qs.length, 9)
    for (const q of qs) {
      assert.match(q, new RegExp(`r\\.name = '${RUN_NAME}' AND split_part\\(a\\.device, '-', 1\\) IN \\('farm01','farm02'\\)`))
      assert.ok(q.includes(`BETWEEN '${iso(b.first)}'::timestamptz AND '${iso(b.last + MIN)}'::timestamptz`), q)
    }
    assert.deepEqual(
      s.log.filter((q) => /TEMP|pg_temp|timescaledb_information|_timescaledb/.test(q)),
      [],
      'declared panels need no oracle tables; a plain server has no catalog to read',
    )
    assert.deepEqual(s.fetched, [b.perView.get('collar_1m')!.length, b.perView.get('milk_1m')!.length, b.perView.get('chiller_1m')!.length])
  })

  test('a corrupted bucket fails P8 twice (against the raw rows and the oracle), and the panel that reads it', async () => {
    const m = manifestOf(30)
    const s = serverWithRun(m)
    const collar = AGGREGATES.find((a) => a.view === 'collar_1m')!
    const col = collar.columns.findIndex((c) => c.column === 'neck_temp_max_c')
    const victim = s.aggs.get('collar_1m')![5]!
    const was = victim.values[col]!
    victim.values[col] = was + 5
    const r = await checkDashboards(s.db, RUN_ID, m)
    assert.equal(r.pass, false)
    const farm = victim.device.split('-')[0]!
    const rows = farmMinutes(s.aggs.get('collar_1m')!)
    assert.equal(
      r.summary,
      `2 aggregate values differ (first: collar_1m ${victim.device} (${farm}) bucket ${iso(victim.bucket)} neck_temp_max_c: expected ${was} (raw rows), found ${was + 5}); ` +
        `1 of 9 dashboard queries wrong: "Hottest cow per farm (°C)" (1 of ${rows} rows differ from the oracle's (the oracle's max per farm and minute)); ` +
        'policy jobs not applicable (plain PostgreSQL: views, no jobs)',
    )
    assert.deepEqual(
      (r.evidence.mismatches as Array<{ against: string }>).map((x) => x.against),
      ['raw rows', 'oracle'],
    )
    const hottest = panelsOf(r.evidence).find((p) => p.panel === 'Hottest cow per farm (°C)')!
    assert.equal(hottest.differences?.length, 1)
    assert.equal(panelsOf(r.evidence).filter((p) => p.differences !== undefined).length, 1, 'only a failing panel lists differences')

    // A column no panel reads: the aggregate check alone fails P8.
    victim.values[col] = was
    const eating = collar.columns.findIndex((c) => c.column === 'eating_min')
    victim.values[eating] = victim.values[eating]! + 1
    const quiet = await checkDashboards(s.db, RUN_ID, m)
    assert.equal(quiet.pass, false)
    assert.match(
      quiet.summary,
      /^2 aggregate values differ \(first: collar_1m \S+ \(farm0\d\) bucket \S+ eating_min: .*\); 9 dashboard queries return the oracle's values; /,
    )
  })

  test('an aggregate that lost the run: its panels show no data, and the summary names the first three', async () => {
    const m = manifestOf(20)
    const s = serverWithRun(m)
    s.aggs.set('collar_1m', [])
    s.aggs.set('milk_1m', [])
    const r = await checkDashboards(s.db, RUN_ID, m)
    assert.equal(r.pass, false)
    const lost = bucketsOfRun(m).perView.get('collar_1m')!.length + bucketsOfRun(m).perView.get('milk_1m')!.length
    assert.equal((r.evidence.mismatches as unknown[]).length, 20, 'the evidence keeps the first 20 mismatches')
    assert.match(
      r.summary,
      new RegExp(
        `^${lost * 2} aggregate values differ \\(first: collar_1m \\S+ \\(farm01\\) bucket \\S+: expected \\d+ \\(raw rows\\), found no bucket\\)`,
      ),
    )
    assert.match(
      r.summary,
      /; 7 of 9 dashboard queries wrong: "Neck temperature, herd mean per farm \(°C\)" \(no data for this run\); "Hottest cow per farm \(°C\)" \(no data for this run\); "Activity index, herd mean per farm" \(no data for this run\); policy jobs not applicable/,
    )
    const bad = panelsOf(r.evidence).filter((p) => !p.pass)
    assert.deepEqual(
      bad.map((p) => [p.panel, p.rows]),
      [
        ['Neck temperature, herd mean per farm (°C)', 0],
        ['Hottest cow per farm (°C)', 0],
        ['Activity index, herd mean per farm', 0],
        ['Rumination, herd mean per farm (min/h)', 0],
        ['Milk yield per farm (kg/min)', 0],
        ['Conductivity per farm (mS/cm)', 0],
        ['Readings per minute per farm', farmMinutes([...bucketsOfRun(m).perView.values()].flat())],
      ],
    )
  })

  test('a run without readings: no bucket, the panels get the minute from the simulated start, and show nothing', async () => {
    const m = manifestOf(0)
    const s = serverWithRun(m)
    const r = await checkDashboards(s.db, RUN_ID, m)
    assert.equal(r.pass, false)
    assert.match(r.summary, /^0 aggregate buckets equal the raw rows and the oracle; 9 of 9 dashboard queries wrong: /)
    assert.deepEqual(r.evidence.coverage, { compared: 0, notRefreshed: 0, share: 1, required: 0.99 })
    assert.equal(panelQueries(s).length, 9)
    for (const q of panelQueries(s))
      assert.ok(q.includes(`BETWEEN '${iso(m.simStartMs)}'::timestamptz AND '${iso(m.simStartMs + MIN)}'::timestamptz`), q)
  })

  test('no such run: an error naming the id and the schema', async () => {
    const s = serverWithRun(manifestOf(1))
    await assert.rejects(checkDashboards(s.db, RUN_ID + 1, manifestOf(1)), { message: `no run with id ${RUN_ID + 1} in schema bench` })
  })

  test("a user's own panels: compared through the oracle's temporary tables (then dropped), or named when P8 cannot fill, run or model them", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotbench-p8-'))
    const farms = JSON.parse(readFileSync(join(DASHBOARDS_DIR, 'iotbench-farms.json'), 'utf8'))
    const neck = farms.panels[0]
    const sqlPanel = (title: string, rawSql: string) => ({ ...neck, title, targets: [{ ...neck.targets[0], rawSql }] })
    farms.panels = [
      sqlPanel('My neck panel', neck.targets[0].rawSql),
      sqlPanel('My milk panel', farms.panels[4].targets[0].rawSql),
      sqlPanel('A macro', 'SELECT $__nope(a.bucket) FROM iotbench.collar_1m a'),
      sqlPanel('Alerts', "SELECT count(*) AS n FROM iotbench.alerts JOIN iotbench.dead_letters USING (run_id) WHERE '${run}' <> ''"),
      sqlPanel('Broken', 'SELECT broken FROM iotbench.collar_1m'),
      neck,
    ]
    writeFileSync(join(dir, 'farms.json'), JSON.stringify(farms))
    const m = manifestOf(20)
    const s = serverWithRun(m, { answer: (q) => (/FROM "bench"\.alerts/.test(q) ? [{ n: 3 }] : undefined) })
    const b = bucketsOfRun(m)
    const r = await checkDashboards(s.db, RUN_ID, m, { dashboardsDir: dir })
    const same = "the same query over the oracle's aggregates"
    const collarRows = farmMinutes(b.perView.get('collar_1m')!)
    assert.deepEqual(
      panelsOf(r.evidence).map((p) => [p.panel, p.pass, p.rows, p.detail]),
      [
        [
          'My neck panel',
          true,
          farmMinutes(b.perView.get('collar_1m')!),
          `${farmMinutes(b.perView.get('collar_1m')!)} rows equal the oracle's (${same})`,
        ],
        [
          'My milk panel',
          true,
          farmMinutes(b.perView.get('milk_1m')!),
          `${farmMinutes(b.perView.get('milk_1m')!)} rows equal the oracle's (${same})`,
        ],
        ['A macro', false, 0, 'cannot fill in the query: the macro $__nope is not supported by P8'],
        ['Alerts', true, 1, 'returns data; not compared with the oracle (reads alerts, dead_letters, which the oracle does not model)'],
        ['Broken', false, 0, 'the query fails: p8 server: unexpected query SELECT broken FROM "bench".collar_1m'],
        [neck.title, true, collarRows, `${collarRows} rows equal the oracle's (the oracle's avg per farm and minute)`],
      ],
    )
    assert.equal(
      r.summary.split('; ')[1],
      `2 of 6 dashboard queries wrong: "A macro" (cannot fill in the query: the macro $__nope is not supported by P8)`,
    )
    assert.deepEqual((r.evidence.dashboards as { files: number; dir: string }).files, 1)
    assert.deepEqual((r.evidence.dashboards as { files: number; dir: string }).dir, dir)
    // The oracle's side ran over the temporary tables, which are gone afterwards.
    assert.equal(panelQueries(s).filter((q) => q.includes('FROM pg_temp.collar_1m a JOIN pg_temp.runs r')).length, 1)
    assert.deepEqual([...s.temp.keys()], [])
    assert.ok(s.log.indexOf('CREATE TEMP TABLE runs (id int, name text, profile text, started_at timestamptz)') > 0)

    // The live aggregate corrupted: the own panel differs from the same query over the oracle's tables.
    const victim = s.aggs.get('collar_1m')![0]!
    victim.values[4] = victim.values[4]! + 1
    const bad = await checkDashboards(s.db, RUN_ID, m, { dashboardsDir: dir })
    const mine = panelsOf(bad.evidence).find((p) => p.panel === 'My neck panel')!
    assert.equal(mine.detail, `1 of ${farmMinutes(b.perView.get('collar_1m')!)} rows differ from the oracle's (${same})`)
    assert.equal(mine.differences?.length, 1)
    assert.deepEqual([...s.temp.keys()], [])

    // checkPanels alone, without declared meanings: every panel is compared with the same query over the oracle's tables,
    // here empty, so the declared panel finds every row missing on the oracle's side.
    const empty = new OracleTables(s.db, RUN_ID, true)
    await empty.create(RUN_NAME, new Date(0))
    const alone = await checkPanels(s.db, '"bench"', dir, {
      runName: RUN_NAME,
      farms: ['farm01', 'farm02'],
      fromMs: b.first,
      toMs: b.last + MIN,
      skipTime: () => false,
    })
    assert.equal(
      alone.panels.find((p) => p.panel === neck.title)!.detail,
      `${collarRows} of ${collarRows} rows differ from the oracle's (${same})`,
    )
    await empty.drop()
  })
})

describe('namedFindings and describe', () => {
  test('jobs with the same problem are named together, problems in order of first appearance', () => {
    assert.equal(
      namedFindings([
        { jobId: 1, proc: 'p', target: 'a', problem: 'x' },
        { jobId: 2, proc: 'q', target: 'b', problem: 'y' },
        { jobId: 3, proc: 'r', target: 'c', problem: 'x' },
      ]),
      'job 1 p on a, job 3 r on c: x; job 2 q on b: y',
    )
    assert.equal(namedFindings([]), '')
  })
  test('a missing or extra bucket (column *) names no column', () => {
    const m = {
      aggregate: 'milk_1m',
      device: 'farm01-m01',
      farm: 'farm01',
      bucket: '*',
      against: 'oracle' as const,
      column: '*',
      expected: 'no bucket' as const,
      found: 1,
    }
    assert.equal(describeMismatch(m), 'milk_1m farm01-m01 (farm01) bucket *: expected no bucket (oracle), found 1')
    assert.equal(
      describeMismatch({ ...m, column: 'fat_pct', expected: null, found: 4 }),
      'milk_1m farm01-m01 (farm01) bucket * fat_pct: expected null (oracle), found 4',
    )
  })
})

// ---- TimescaleDB ----------------------------------------------------------------------------------

const RELIED = 'policy_refresh_continuous_aggregate'
/** A TimescaleDB server holding the run: continuous aggregates refreshed up to `watermark`, and the bench's nine policy jobs. */
function timescaleRun(m: RunManifest, watermark: number, jobs: (js: JobRow[]) => void = () => undefined): P8Server {
  const s = serverWithRun(m, { timescale: true, now: NOW, failureViews: ['job_history'] })
  s.caggs = AGGREGATES.map((a, i) => ({
    view: a.view,
    schema: 'bench',
    materialized_only: true,
    mat: 10 + i,
    raw: 1 + i,
    matName: `_materialized_hypertable_${10 + i}`,
    watermark,
  }))
  const ok = (over: Partial<NonNullable<JobRow['stats']>> = {}): NonNullable<JobRow['stats']> => ({
    last_run_started_at: new Date(NOW.getTime() - 30 * MIN),
    last_successful_finish: new Date(NOW.getTime() - 30 * MIN + 500),
    last_run_status: 'Success',
    job_status: 'Scheduled',
    next_start: new Date(NOW.getTime() + 30 * MIN),
    total_runs: 3,
    total_failures: 0,
    ...over,
  })
  const js: JobRow[] = []
  AGGREGATES.forEach((a, i) => {
    js.push({
      job_id: 1000 + i,
      proc_name: RELIED,
      hypertable_schema: '_timescaledb_internal',
      hypertable_name: `_materialized_hypertable_${10 + i}`,
      schedule_interval_ms: MIN,
      scheduled: true,
      config: { end_offset: '00:01:00' },
      stats: ok({ last_run_started_at: new Date(NOW.getTime() - 2 * MIN), next_start: new Date(NOW.getTime() - 1 * MIN + 1) }),
    })
    const policy = (job_id: number, proc_name: string, hours: number, config: Record<string, unknown>): JobRow => ({
      job_id,
      proc_name,
      hypertable_schema: 'bench',
      hypertable_name: a.table,
      schedule_interval_ms: hours * 60 * MIN,
      scheduled: true,
      config,
      stats: ok(),
    })
    js.push(
      policy(1010 + i, 'policy_compression', 12, { compress_after: '7 days' }),
      policy(1020 + i, 'policy_retention', 24, { drop_after: '30 days' }),
    )
  })
  jobs(js)
  s.jobs = js
  s.chunks = AGGREGATES.map((a, i) => ({
    schema: 'bench',
    h: a.table,
    c: `_hyper_${i + 1}_1_chunk`,
    range_start: new Date(m.simStartMs - (m.simStartMs % DAY)),
    range_end: new Date(m.simStartMs - (m.simStartMs % DAY) + 7 * DAY),
    is_compressed: i === 0,
  }))
  return s
}
/** The scheduler of a healthy server: a job moved to now starts at once and succeeds. */
const scheduler = (job: JobRow, now: Date): void => {
  job.stats = { ...job.stats!, last_run_started_at: now, last_successful_finish: now, last_run_status: 'Success', job_status: 'Scheduled' }
}

describe('P8 on TimescaleDB (continuous aggregates, policy jobs)', () => {
  test('the scheduler runs the refresh jobs when asked: every job ran when due, every bucket is compared, the evidence names the watermarks', async () => {
    const m = manifestOf(30)
    const b = bucketsOfRun(m)
    const W = b.last + 10 * MIN
    const s = timescaleRun(m, W)
    s.onAlterJob = scheduler
    s.invalidations = [{ hypertable_id: 2, lo: W, hi: W + MIN }]
    const r = await checkDashboards(s.db, RUN_ID, m)
    assert.equal(
      r.summary,
      `${b.n} aggregate buckets equal the raw rows and the oracle; 9 dashboard queries return the oracle's values; 9 policy jobs ran when due and succeeded (3 refresh jobs run by the scheduler after the drain)`,
    )
    assert.equal(r.pass, true)
    assert.deepEqual(s.altered, [1000, 1001, 1002], 'only the refresh jobs are asked to run')
    const e = r.evidence
    assert.equal(e.storage, 'timescaledb (continuous aggregates)')
    assert.deepEqual(
      e.refreshed,
      Object.fromEntries(AGGREGATES.map((a) => [a.view, { watermark: iso(W), realtime: false, pendingInvalidations: 0 }])),
    )
    const jobs = e.jobs as { pass: boolean; asked: string; jobs: Array<{ jobId: number; lastRunStartedAt: string }> }
    assert.equal(jobs.pass, true)
    assert.equal(jobs.asked, NOW.toISOString())
    assert.equal(jobs.jobs.find((j) => j.jobId === 1000)!.lastRunStartedAt, NOW.toISOString(), 'the jobs are read again after the run')
    assert.deepEqual(e.chunks, { total: 3, compressed: 1, problems: [] })

    // Real-time chillers over an aggregate with nothing materialized (the catalog's minimum time as watermark), and one
    // chunk the compression policy should have compressed: that chunk alone fails P8.
    const t = timescaleRun(m, W)
    t.onAlterJob = scheduler
    t.caggs = t.caggs.map((c) => (c.view === 'chiller_1m' ? { ...c, materialized_only: false, watermark: -9223372036854.775 * 1000 } : c))
    const ended = new Date(NOW.getTime() - 8 * DAY)
    t.chunks = [
      ...t.chunks,
      {
        schema: 'bench',
        h: 'milk_readings',
        c: '_hyper_2_0_chunk',
        range_start: new Date(ended.getTime() - 7 * DAY),
        range_end: ended,
        is_compressed: false,
      },
    ]
    const one = await checkDashboards(t.db, RUN_ID, m)
    assert.equal(one.pass, false)
    assert.deepEqual((one.evidence.refreshed as Record<string, unknown>).chiller_1m, {
      watermark: 'none (nothing materialized yet)',
      realtime: true,
      pendingInvalidations: 0,
    })
    const chunk = (one.evidence.chunks as { problems: string[] }).problems
    assert.equal(chunk.length, 1)
    assert.match(
      chunk[0]!,
      /^milk_readings chunk _hyper_2_0_chunk \[\S+, \S+\) is past compress_after \(7 days before the policy's run at \S+\) but not compressed$/,
    )
    assert.equal(one.summary.split('; ').at(-1), `chunks: ${chunk[0]}`)
    assert.equal(one.summary.split('; ')[0], `${b.n} aggregate buckets equal the raw rows and the oracle`, 'real-time buckets are compared')
    assert.deepEqual(e.coverage, { compared: b.n, notRefreshed: 0, share: 1, required: 0.99 })
  })

  test('refresh jobs the scheduler never starts, a failed job and chunks a policy left behind all fail P8, each named', async () => {
    const m = manifestOf(20)
    const b = bucketsOfRun(m)
    const s = timescaleRun(m, b.last + 10 * MIN, (js) => {
      const retention = js.find((j) => j.job_id === 1020)!
      retention.stats = {
        ...retention.stats!,
        last_run_status: 'Failed',
        last_successful_finish: new Date(NOW.getTime() - DAY),
      }
      const compression = js.find((j) => j.job_id === 1010)!
      compression.stats = { ...compression.stats!, last_run_status: 'Failed' }
      const milk = js.find((j) => j.job_id === 1011)!
      milk.stats = { ...milk.stats!, last_run_status: 'Failed' }
      delete js.find((j) => j.job_id === 1002)!.stats
    })
    s.failures = [
      {
        job_id: 1020,
        start_time: new Date(NOW.getTime() - 30 * MIN),
        sqlerrcode: '24000',
        err_message: 'cannot drop portal',
        succeeded: false,
      },
      { job_id: 1020, start_time: new Date(NOW.getTime() - 50 * MIN), sqlerrcode: null, err_message: 'worker died', succeeded: false },
      { job_id: 1020, start_time: new Date(NOW.getTime() - 2 * DAY), sqlerrcode: 'XX000', err_message: 'before the run', succeeded: false },
      { job_id: 1011, start_time: null, sqlerrcode: '53000', err_message: 'failed to start a background worker', succeeded: false },
    ]
    const old = (c: string, days: number) => ({
      schema: 'bench',
      h: 'collar_readings',
      c,
      range_start: new Date(NOW.getTime() - days * DAY - 7 * DAY),
      range_end: new Date(NOW.getTime() - days * DAY),
      is_compressed: true,
    })
    s.chunks = [...s.chunks, old('_hyper_1_0_chunk', 40), old('_hyper_1_9_chunk', 35)]
    const r = await checkDashboards(s.db, RUN_ID, m, { jobWaitMs: 300 })
    assert.equal(r.pass, false)
    const asked = NOW.toISOString()
    const parts = r.summary.split('; ')
    assert.deepEqual(parts.slice(0, 2), [
      `${b.n} aggregate buckets equal the raw rows and the oracle`,
      "9 dashboard queries return the oracle's values",
    ])
    assert.equal(
      parts.slice(2).join('; '),
      `policy jobs: job 1000 ${RELIED} on collar_1m, job 1001 ${RELIED} on milk_1m, job 1002 ${RELIED} on chiller_1m: was asked to run at ${asked} (after the drain) and had not started by ${asked}: ` +
        'the scheduler did not run it (is it running, with enough timescaledb.max_background_workers and max_worker_processes?); ' +
        'job 1010 policy_compression on collar_readings: its last run failed: no error text recorded in the job history; ' +
        'job 1011 policy_compression on milk_readings: its last run failed: failed to start a background worker (SQLSTATE 53000); ' +
        `job 1020 policy_retention on collar_readings: its last run failed: cannot drop portal (SQLSTATE 24000) at ${new Date(NOW.getTime() - 30 * MIN).toISOString()}; ` +
        `job 1020 policy_retention on collar_readings: a run failed during the bench: worker died at ${new Date(NOW.getTime() - 50 * MIN).toISOString()}; ` +
        `chunks: collar_readings chunk _hyper_1_0_chunk [${new Date(NOW.getTime() - 47 * DAY).toISOString()}, ${new Date(NOW.getTime() - 40 * DAY).toISOString()}) ` +
        `is past the retention window (drop_after 30 days before the policy's run at ${new Date(NOW.getTime() - DAY).toISOString()}) but still there (+1)`,
    )
    assert.deepEqual((r.evidence.chunks as { problems: string[] }).problems.length, 2)
    assert.deepEqual(s.altered, [1000, 1001, 1002])
    const polls = s.log.filter((q) => q.startsWith('SELECT job_id, last_run_started_at, job_status FROM')).length
    assert.ok(polls >= 1 && polls <= 3, `${polls} polls in 300 ms, a quarter second apart`)
  })

  test('skipJobs: no job is asked or judged, the chunks still are; a paused refresh job is never asked to run', async () => {
    const m = manifestOf(10)
    const b = bucketsOfRun(m)
    const s = timescaleRun(m, b.last + 10 * MIN)
    const r = await checkDashboards(s.db, RUN_ID, m, { skipJobs: true, now: NOW })
    assert.equal(r.summary.split('; ')[2], 'policy job records not read')
    assert.equal(r.evidence.jobs, 'not read')
    assert.deepEqual(r.evidence.chunks, { total: 3, compressed: 1, problems: [] })
    assert.deepEqual(s.altered, [])
    assert.equal(
      s.log.filter((q) => /job_stats|job_history|information_schema/.test(q)).length,
      1,
      'the jobs are read once (retention windows), their runs not',
    )

    const paused = timescaleRun(m, b.last + 10 * MIN, (js) => {
      const j = js.find((x) => x.job_id === 1001)!
      js.splice(js.indexOf(j), 1, { ...j, scheduled: false })
    })
    paused.onAlterJob = scheduler
    const p = await checkDashboards(paused.db, RUN_ID, m)
    assert.deepEqual(paused.altered, [1000, 1002])
    assert.match(p.summary, new RegExp(`policy jobs: job 1001 ${RELIED} on milk_1m: the job is paused`))
  })

  test('the grace for a late job: a compression job due two minutes ago fails with the default minute, not with five', async () => {
    const m = manifestOf(10)
    const b = bucketsOfRun(m)
    const late = (js: JobRow[]): void => {
      const j = js.find((x) => x.job_id === 1011)!
      j.stats = { ...j.stats!, next_start: new Date(NOW.getTime() - 2 * MIN) }
    }
    const s = timescaleRun(m, b.last + 10 * MIN, late)
    s.onAlterJob = scheduler
    const strict = await checkDashboards(s.db, RUN_ID, m)
    assert.match(strict.summary, /job 1011 policy_compression on milk_readings: was due at \S+ and has not run by \S+ \(grace 60 s\)/)
    const lenient = timescaleRun(m, b.last + 10 * MIN, late)
    lenient.onAlterJob = scheduler
    assert.equal((await checkDashboards(lenient.db, RUN_ID, m, { jobGraceMs: 5 * MIN })).pass, true)
    // Judged at a given time instead of the database's: ten minutes on, the same job is late even with five minutes' grace.
    const later = timescaleRun(m, b.last + 10 * MIN, late)
    later.onAlterJob = scheduler
    const judged = await checkDashboards(later.db, RUN_ID, m, { jobGraceMs: 5 * MIN, now: new Date(NOW.getTime() + 10 * MIN) })
    assert.match(
      judged.summary,
      new RegExp(`was due at \\S+ and has not run by ${new Date(NOW.getTime() + 10 * MIN).toISOString()} \\(grace 300 s\\)`),
    )
  })

  test('buckets at the watermark are not refreshed: 1 % of them still passes, more fails; never-acknowledged and past-retention buckets are named', async () => {
    // 100 readings a device, one a minute: 800 buckets, the last minute of each of the 8 devices above the watermark.
    const m = manifestOf(100)
    const b = bucketsOfRun(m)
    assert.equal(b.n, 800)
    const s = timescaleRun(m, b.last)
    s.onAlterJob = scheduler
    const edge = await checkDashboards(s.db, RUN_ID, m)
    assert.equal(edge.pass, true, edge.summary)
    assert.equal(edge.summary.split('; ')[0], '792 aggregate buckets equal the raw rows and the oracle (8 not refreshed yet, not compared)')
    assert.deepEqual(edge.evidence.coverage, { compared: 792, notRefreshed: 8, share: 0.99, required: 0.99 })
    // Refreshed up to the middle of the run: half the buckets.
    const half = timescaleRun(m, b.first + 50 * MIN)
    half.onAlterJob = scheduler
    const halfway = await checkDashboards(half.db, RUN_ID, m)
    assert.equal(halfway.pass, false)
    assert.match(
      halfway.summary,
      /^400 aggregate buckets equal the raw rows and the oracle \(400 not refreshed yet, not compared: only 50\.0 % of the run's buckets/,
    )

    // The collars' first minute invalidated below the watermark (stale until the next refresh): 4 more, 12 of 800.
    const first = b.perView.get('collar_1m')!.find((x) => x.bucket === b.first)!
    s.invalidations = [{ hypertable_id: 1, lo: first.bucket, hi: first.bucket }]
    const under = await checkDashboards(s.db, RUN_ID, m)
    assert.equal(under.pass, false)
    assert.equal(
      under.summary.split('; ')[0],
      "788 aggregate buckets equal the raw rows and the oracle (12 not refreshed yet, not compared: only 98.5 % of the run's buckets are visible in the aggregates (P8 needs ≥ 99 %))",
    )
    assert.equal((under.evidence.refreshed as Record<string, { pendingInvalidations: number }>).collar_1m!.pendingInvalidations, 1)

    // Never acknowledged (device 0's first five readings; its first minute is the stale one, not refreshed) and past a
    // five-day retention on the tanks (the run is six days old): neither compared with the oracle, each named.
    const unsure = manifestOf(100, { unacked: [[0, 0, 5]] })
    const t = timescaleRun(unsure, b.last + 10 * MIN, (js) => {
      js.find((x) => x.job_id === 1022)!.config.drop_after = '5 days'
    })
    t.onAlterJob = scheduler
    t.invalidations = s.invalidations
    const named = await checkDashboards(t.db, RUN_ID, unsure)
    const tanks = b.perView.get('chiller_1m')!.length
    assert.equal(
      named.summary.split('; ').slice(0, 3).join('; '),
      `${800 - 4 - 4 - tanks} aggregate buckets equal the raw rows and the oracle (4 not refreshed yet, not compared; 4 holding never-acknowledged readings, compared with the raw rows only; ${tanks} past the retention window)`,
    )
    assert.equal(named.pass, true, named.summary)
  })
})
