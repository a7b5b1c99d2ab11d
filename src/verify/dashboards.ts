import { farmId } from '../fleet.js'
import { quoteIdent } from '../db/connect.js'
import { detectStorage, type SqlSession } from '../db/migrate.js'
import { AGGREGATES, BUCKET_MS, TOLERANCE_NOTE, type BucketMismatch } from './dashboard-aggregates.js'
import {
  RELIED_PROCS,
  chunkPoliciesOf,
  dbTime,
  intervalMs,
  iso,
  judgeChunks,
  judgeJobs,
  readChunks,
  readJobFailures,
  readJobs,
  runJobsNow,
  type JobFinding,
  type JobVerdict,
} from './dashboard-jobs.js'
import {
  type FarmSeries,
  PANEL_MEANINGS,
  comparePanelRows,
  fillPanelSql,
  loadSqlPanels,
  tablesRead,
  type PanelDifference,
} from './dashboard-panels.js'
import type { PropertyResult, RunManifest } from './types.js'
import { readRefreshStates } from './dashboard-refresh.js'
import { OracleTables } from './dashboard-oracle-tables.js'
import { MISMATCH_SAMPLES, checkAggregate, type AggregateReport } from './dashboard-aggregate-check.js'

export { isRefreshed, readRefreshStates, type RefreshState } from './dashboard-refresh.js'
export type { OracleSink } from './dashboard-oracle-tables.js'
export { checkAggregate, type AggregateReport } from './dashboard-aggregate-check.js'

/**
 * P8 dashboard data: what the dashboards read equals the oracle.
 * - every 1-minute aggregate bucket of the run (continuous aggregate on TimescaleDB, view on PostgreSQL)
 *   equals the same bucket computed over the raw rows, and the oracle's, in the range the aggregate
 *   has refreshed;
 * - every SQL panel of the provisioned Grafana dashboards, filled in for the run, returns what the same
 *   query returns over the oracle's aggregates;
 * - on TimescaleDB every refresh, compression and retention job ran when due and succeeded, and the
 *   chunks are what those policies leave.
 * Streamed: one cursor per side, one device's buckets at a time.
 */
export interface DashboardCheckOptions {
  /** Folder of Grafana dashboard JSON files (default: the provisioned ones). */
  readonly dashboardsDir?: string | undefined
  /** The clock jobs are judged at (default: the database's now()). */
  readonly now?: Date
  readonly jobGraceMs?: number
  /** How long to wait for the refresh jobs the bench asks the scheduler to run before judging (default 120 s). */
  readonly jobWaitMs?: number
  /** Skip the policy-job records (a TimescaleDB without a scheduler, such as the PGlite build in tests). */
  readonly skipJobs?: boolean
}

export const DEFAULT_JOB_WAIT_MS = 120_000
/** P8 fails when fewer of the run's buckets than this share could be compared: what Grafana shows is then unproven. */
export const MIN_BUCKET_COVERAGE = 0.99

export interface PanelReport {
  readonly dashboard: string
  readonly panel: string
  readonly refId: string
  readonly rows: number
  readonly pass: boolean
  readonly detail: string
  readonly differences?: PanelDifference[]
}

const ORACLE_TABLES = new Set(['runs', ...AGGREGATES.map((a) => a.view)])

export async function checkPanels(
  db: SqlSession,
  schemaSql: string,
  dir: string | undefined,
  ctx: {
    runName: string
    farms: string[]
    fromMs: number
    toMs: number
    skipTime: (t: number) => boolean
    meanings?: ReadonlyMap<string, FarmSeries>
  },
): Promise<{ dashboards: number; panels: PanelReport[] }> {
  const { panels, variables, dashboards } = loadSqlPanels(dir)
  const values = new Map<string, readonly string[]>([
    ['run', [ctx.runName]],
    ['farm', ctx.farms],
  ])
  const out: PanelReport[] = []
  for (const p of panels) {
    const at = { dashboard: p.dashboard, panel: p.panel, refId: p.refId }
    let live: string
    let oracleSql: string
    try {
      live = fillPanelSql(p.rawSql, { schemaSql, values, variables, fromMs: ctx.fromMs, toMs: ctx.toMs })
      oracleSql = fillPanelSql(p.rawSql, { schemaSql: 'pg_temp', values, variables, fromMs: ctx.fromMs, toMs: ctx.toMs })
    } catch (err) {
      out.push({ ...at, rows: 0, pass: false, detail: `cannot fill in the query: ${(err as Error).message}` })
      continue
    }
    const found = await db.query(live).then(
      (r) => r.rows as Array<Record<string, unknown>>,
      (err: Error) => err,
    )
    if (found instanceof Error) {
      out.push({ ...at, rows: 0, pass: false, detail: `the query fails: ${found.message}` })
      continue
    }
    if (found.length === 0) {
      out.push({ ...at, rows: 0, pass: false, detail: 'no data for this run' })
      continue
    }
    const unmodelled = tablesRead(live, schemaSql).filter((t) => !ORACLE_TABLES.has(t))
    if (unmodelled.length) {
      out.push({
        ...at,
        rows: found.length,
        pass: true,
        detail: `returns data; not compared with the oracle (reads ${unmodelled.join(', ')}, which the oracle does not model)`,
      })
      continue
    }
    // A declared meaning is computed by the oracle itself; otherwise the same query over the oracle's aggregates.
    const meaning = ctx.meanings?.get(p.panel)
    const expected = meaning ? meaning.rows() : ((await db.query(oracleSql)).rows as Array<Record<string, unknown>>)
    const how = meaning ? `the oracle's ${meaning.meaning.across} per farm and minute` : "the same query over the oracle's aggregates"
    const cmp = comparePanelRows(found, expected, ctx.skipTime)
    out.push(
      cmp.differing === 0
        ? { ...at, rows: found.length, pass: true, detail: `${cmp.compared} rows equal the oracle's (${how})` }
        : {
            ...at,
            rows: found.length,
            pass: false,
            detail: `${cmp.differing} of ${cmp.compared} rows differ from the oracle's (${how})`,
            differences: cmp.differences,
          },
    )
  }
  return { dashboards, panels: out }
}

/** P8 for one run. */
export async function checkDashboards(
  db: SqlSession,
  runId: number,
  manifest: RunManifest,
  opts: DashboardCheckOptions = {},
): Promise<PropertyResult> {
  // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const schema = String((await db.query('SELECT current_schema() AS s')).rows[0]?.s)
  const schemaSql = quoteIdent(schema)
  // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const run = (await db.query(`SELECT name, started_at, now() AS now FROM ${schemaSql}.runs WHERE id = $1`, [runId])).rows[0] as
    { name: string; started_at: Date; now: Date } | undefined
  if (!run) throw new Error(`no run with id ${runId} in schema ${schema}`)
  const timescale = (await detectStorage(db)) === 'timescaledb'
  let jobs = timescale ? await readJobs(db, schema) : []
  // The aggregates are judged after one more refresh that TimescaleDB's own scheduler runs, so the
  // verdict covers the scheduler too: a refresh job that fails or never starts fails P8, naming it.
  let asked: Date | undefined
  if (timescale && !opts.skipJobs) {
    asked = await runJobsNow(
      db,
      jobs.filter((j) => RELIED_PROCS.has(j.proc) && j.scheduled).map((j) => j.jobId),
      opts.jobWaitMs ?? DEFAULT_JOB_WAIT_MS,
    )
    jobs = await readJobs(db, schema)
  }
  // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const now = opts.now ?? dbTime((await db.query('SELECT now() AS now')).rows[0]?.now) ?? new Date(run.now)
  const refresh = await readRefreshStates(db, schema)
  const retentionCutoff = (table: string): number | undefined => {
    const j = jobs.find((x) => x.proc === 'policy_retention' && x.target === table)
    return j ? now.getTime() - intervalMs(j.config['drop_after']) : undefined
  }

  // The oracle's buckets go into temporary tables only when a panel has no declared meaning.
  const undeclared = loadSqlPanels(opts.dashboardsDir).panels.some((p) => !PANEL_MEANINGS.some((m) => m.title === p.panel))
  const oracleTables = new OracleTables(db, runId, undeclared)
  const aggregates: AggregateReport[] = []
  let panels: { dashboards: number; panels: PanelReport[] }
  try {
    await oracleTables.create(run.name, new Date(run.started_at))
    for (const spec of AGGREGATES) {
      const state = refresh.get(spec.view) ?? { continuous: false, pending: [] }
      aggregates.push(await checkAggregate(db, schemaSql, runId, manifest, spec, state, retentionCutoff(spec.table), oracleTables))
    }
    await oracleTables.flush()
    const firsts = aggregates.flatMap((a) => (a.firstBucket ? [Date.parse(a.firstBucket)] : []))
    const lasts = aggregates.flatMap((a) => (a.lastBucket ? [Date.parse(a.lastBucket)] : []))
    const farms = Array.from({ length: manifest.fleet.farms }, (_, i) => farmId(manifest.fleet, i))
    panels = await checkPanels(db, schemaSql, opts.dashboardsDir, {
      runName: run.name,
      farms,
      // A run without a bucket (no readings) still gets a range: the panels then must show nothing and fail.
      fromMs: firsts.length ? Math.min(...firsts) : manifest.simStartMs,
      toMs: lasts.length ? Math.max(...lasts) + BUCKET_MS : manifest.simStartMs + BUCKET_MS,
      skipTime: (t) => oracleTables.uncheckedTimes.has(t),
      meanings: oracleTables.series,
    })
  } finally {
    await oracleTables.drop()
  }

  let jobVerdict: JobVerdict | undefined
  let chunkProblems: string[] = []
  let chunksEvidence: Record<string, unknown> | undefined
  if (timescale && !opts.skipJobs) {
    jobVerdict = judgeJobs(
      jobs,
      await readJobFailures(
        db,
        jobs.map((j) => j.jobId),
      ),
      { now, since: new Date(run.started_at), asked, ...(opts.jobGraceMs !== undefined && { graceMs: opts.jobGraceMs }) },
    )
  }
  if (timescale) {
    const chunks = await readChunks(db, schema)
    chunkProblems = judgeChunks(chunks, chunkPoliciesOf(jobs))
    chunksEvidence = { total: chunks.length, compressed: chunks.filter((c) => c.compressed).length, problems: chunkProblems }
  }

  const mismatchCount = aggregates.reduce((n, a) => n + a.mismatchCount, 0)
  const badPanels = panels.panels.filter((p) => !p.pass)
  const checked = aggregates.reduce((n, a) => n + a.checked, 0)
  const notRefreshed = aggregates.reduce((n, a) => n + a.notRefreshed, 0)
  // Buckets the aggregates do not show yet are not compared; past a 1 % share P8 cannot vouch for the dashboards.
  const coverage = checked + notRefreshed === 0 ? 1 : checked / (checked + notRefreshed)
  const covered = coverage >= MIN_BUCKET_COVERAGE
  const pass = mismatchCount === 0 && covered && badPanels.length === 0 && (jobVerdict?.pass ?? true) && chunkProblems.length === 0
  const uncertain = aggregates.reduce((n, a) => n + a.uncertain, 0)
  const pastRetention = aggregates.reduce((n, a) => n + a.pastRetention, 0)
  const parts = [
    mismatchCount === 0
      ? `${checked} aggregate buckets equal the raw rows and the oracle${[
          notRefreshed
            ? `${notRefreshed} not refreshed yet, not compared${covered ? '' : `: only ${(coverage * 100).toFixed(1)} % of the run's buckets are visible in the aggregates (P8 needs ≥ ${MIN_BUCKET_COVERAGE * 100} %)`}`
            : '',
          uncertain ? `${uncertain} holding never-acknowledged readings, compared with the raw rows only` : '',
          pastRetention ? `${pastRetention} past the retention window` : '',
        ]
          .filter(Boolean)
          .map((x, i, all) => `${i === 0 ? ' (' : ''}${x}${i === all.length - 1 ? ')' : ''}`)
          .join('; ')}`
      : `${mismatchCount} aggregate values differ (first: ${describe(aggregates.flatMap((a) => a.mismatches)[0])})`,
    badPanels.length === 0
      ? `${panels.panels.length} dashboard queries return the oracle's values`
      : `${badPanels.length} of ${panels.panels.length} dashboard queries wrong: ${badPanels
          .slice(0, 3)
          .map((p) => `"${p.panel}" (${p.detail})`)
          .join('; ')}`,
    !timescale
      ? 'policy jobs not applicable (plain PostgreSQL: views, no jobs)'
      : !jobVerdict
        ? 'policy job records not read'
        : jobVerdict.pass
          ? `${jobs.length} policy jobs ran when due and succeeded (${jobs.filter((j) => RELIED_PROCS.has(j.proc)).length} refresh jobs run by the scheduler after the drain)`
          : `policy jobs: ${namedFindings(jobVerdict.findings)}`,
    ...(chunkProblems.length ? [`chunks: ${chunkProblems[0]}${chunkProblems.length > 1 ? ` (+${chunkProblems.length - 1})` : ''}`] : []),
  ]
  return {
    id: 'P8',
    name: 'dashboard data',
    pass,
    summary: parts.join('; '),
    evidence: {
      storage: timescale
        ? 'timescaledb (continuous aggregates)'
        : 'postgresql (views computed on read: equal to the raw rows by construction, checked anyway)',
      tolerance: TOLERANCE_NOTE,
      aggregates: aggregates.map(({ mismatches: _m, ...rest }) => rest),
      mismatches: aggregates.flatMap((a) => a.mismatches).slice(0, MISMATCH_SAMPLES),
      coverage: { compared: checked, notRefreshed, share: Math.round(coverage * 10_000) / 10_000, required: MIN_BUCKET_COVERAGE },
      refreshed: timescale
        ? Object.fromEntries(
            [...refresh].map(([v, s]) => [
              v,
              {
                watermark: iso(s.watermarkMs === undefined ? null : new Date(s.watermarkMs)) ?? 'none (nothing materialized yet)',
                realtime: s.realtime === true,
                pendingInvalidations: s.pending.length,
              },
            ]),
          )
        : 'views: always current',
      dashboards: { files: panels.dashboards, dir: opts.dashboardsDir ?? 'dashboards/grafana/dashboards', panels: panels.panels },
      jobs: !timescale
        ? 'not applicable: plain PostgreSQL has no policy jobs (aggregates are views computed on read; old runs are dropped with iotbench runs drop)'
        : (jobVerdict ?? 'not read'),
      ...(chunksEvidence && { chunks: chunksEvidence }),
      reproduce: `iotbench verify <run-id>; a bucket by hand: SELECT * FROM ${schema}.collar_1m WHERE run_id = ${runId} AND device = '…' AND bucket = '…'`,
    },
  }
}

/** Every finding, jobs with the same problem named together: "job 1009 … on collar_1m, job 1010 … on milk_1m: its last run failed: …". */
export const namedFindings = (findings: readonly JobFinding[]): string => {
  const byProblem = new Map<string, string[]>()
  for (const f of findings) byProblem.set(f.problem, [...(byProblem.get(f.problem) ?? []), `job ${f.jobId} ${f.proc} on ${f.target}`])
  return [...byProblem].map(([problem, jobs]) => `${jobs.join(', ')}: ${problem}`).join('; ')
}

export const describe = (m: BucketMismatch): string =>
  `${m.aggregate} ${m.device} (${m.farm}) bucket ${m.bucket}${m.column === '*' ? '' : ` ${m.column}`}: expected ${String(m.expected)} (${m.against}), found ${String(m.found)}`
