import { deviceAt, farmId, fleetSize } from '../fleet.js'
import { KINDS } from '../kinds.js'
import { quoteIdent } from '../db/connect.js'
import { detectStorage, type SqlSession } from '../db/migrate.js'
import { oracleFor } from '../sim/oracle.js'
import {
  AGGREGATES,
  BUCKET_MS,
  BucketAccumulator,
  TOLERANCE_NOTE,
  columnSql,
  compareBuckets,
  type AggregateSpec,
  type Bucket,
  type BucketMismatch,
} from './dashboard-aggregates.js'
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
  FarmSeries,
  PANEL_MEANINGS,
  comparePanelRows,
  fillPanelSql,
  loadSqlPanels,
  tablesRead,
  type PanelDifference,
} from './dashboard-panels.js'
import type { PropertyResult, RunManifest } from './types.js'
import { UnackedIndex } from './unacked.js'
import { isRefreshed, readRefreshStates, type RefreshState } from './dashboard-refresh.js'
import { OracleTables, type OracleSink } from './dashboard-oracle-tables.js'

export { isRefreshed, readRefreshStates, type RefreshState } from './dashboard-refresh.js'
export type { OracleSink } from './dashboard-oracle-tables.js'

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

const SAMPLES = 20
/** Buckets a cursor round trip brings (a row is ~20 numbers). */
const CURSOR_FETCH = 20_000

/**
 * Reads the P8 cursor a batch at a time (works on node-postgres and PGlite alike): one row per
 * (device, bucket) of the raw rows FULL JOINed with the aggregate, sorted by device. Columns: device,
 * t, has_raw, has_agg, same (the aggregate's bucket equals the raw one bit for bit), r0…rk (the raw
 * bucket), a0…ak (the aggregate's bucket, NULL when same: most buckets cross the wire once).
 */
class BucketCursor {
  private rows: Array<Record<string, unknown>> = []
  private i = 0
  private done = false
  private readonly raw: string[]
  private readonly agg: string[]
  constructor(
    private readonly db: SqlSession,
    private readonly name: string,
    columns: number,
  ) {
    this.raw = Array.from({ length: columns }, (_, k) => `r${k}`)
    this.agg = Array.from({ length: columns }, (_, k) => `a${k}`)
  }
  async peek(): Promise<Record<string, unknown> | undefined> {
    if (this.i < this.rows.length) return this.rows[this.i]
    if (this.done) return undefined
    // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    this.rows = (await this.db.query(`FETCH ${CURSOR_FETCH} FROM ${this.name}`)).rows
    this.i = 0
    if (this.rows.length < CURSOR_FETCH) this.done = true
    return this.rows[0]
  }
  /** The buckets of one device (the cursor is sorted by device): the raw rows' and the aggregate's. */
  async take(device: string): Promise<{ raw: Bucket[]; agg: Bucket[] }> {
    const raw: Bucket[] = []
    const agg: Bucket[] = []
    const num = (x: unknown): number | null => (x === null ? null : Number(x))
    for (let r = await this.peek(); r && r.device === device; r = await this.peek()) {
      const t = Number(r.t)
      const rawBucket = r.has_raw ? { t, values: this.raw.map((k) => num(r[k])) } : undefined
      if (rawBucket) raw.push(rawBucket)
      if (r.has_agg) agg.push(r.same && rawBucket ? rawBucket : { t, values: this.agg.map((k) => num(r[k])) })
      this.i++
    }
    return { raw, agg }
  }
  async skipBefore(device: string): Promise<string[]> {
    const skipped: string[] = []
    for (let r = await this.peek(); r && String(r.device) < device; r = await this.peek()) {
      if (skipped[skipped.length - 1] !== r.device) skipped.push(String(r.device))
      this.i++
    }
    return skipped
  }
}

export interface AggregateReport {
  readonly aggregate: string
  readonly continuous: boolean
  readonly oracleBuckets: number
  readonly aggregateBuckets: number
  /** Buckets compared three ways (aggregate, raw, oracle). */
  readonly checked: number
  readonly notRefreshed: number
  /** Buckets holding a reading the source never saw acknowledged (may or may not be stored). */
  readonly uncertain: number
  /** Buckets older than the retention window (the policy may already have dropped them). */
  readonly pastRetention: number
  readonly mismatchCount: number
  readonly mismatches: BucketMismatch[]
  readonly firstBucket?: string
  readonly lastBucket?: string
}

/**
 * One aggregate of one run: a cursor over the aggregate and one over the raw rows grouped by the same
 * bucket, both sorted by device, merged device by device with the oracle's buckets for that device.
 */
export async function checkAggregate(
  db: SqlSession,
  schemaSql: string,
  runId: number,
  manifest: RunManifest,
  spec: AggregateSpec,
  refresh: RefreshState,
  retentionCutoffMs: number | undefined,
  sink?: OracleSink,
): Promise<AggregateReport> {
  const kind = KINDS[spec.kind]
  const typeOf = (f: string): string => kind.fields.find((x) => x.name === f)?.type ?? 'float8'
  const bucketExpr = refresh.continuous ? `time_bucket(INTERVAL '1 minute', ts)` : `date_trunc('minute', ts)`
  const rid = Number(runId)
  const devices = Array.from({ length: fleetSize(manifest.fleet) }, (_, i) => deviceAt(manifest.fleet, i))
    .filter((d) => d.kind === spec.kind)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const oracle = oracleFor(manifest)
  const unacked = new UnackedIndex(manifest.unacked)
  const mismatches: BucketMismatch[] = []
  let mismatchCount = 0
  const note = (list: BucketMismatch[]): void => {
    mismatchCount += list.length
    for (const m of list) if (mismatches.length < SAMPLES) mismatches.push(m)
  }
  let oracleBuckets = 0,
    aggregateBuckets = 0,
    checked = 0,
    notRefreshed = 0,
    uncertain = 0,
    pastRetention = 0
  let first = Infinity,
    last = -Infinity

  const k = spec.columns.length
  const each = (f: (i: number) => string): string => Array.from({ length: k }, (_, i) => f(i)).join(', ')
  // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const rawSql = `SELECT device, ${bucketExpr} AS b, ${each((i) => `(${columnSql(spec.columns[i]!, typeOf)})::float8 AS v${i}`)}
    FROM ${schemaSql}.${spec.table} WHERE run_id = ${rid} GROUP BY device, b`
  const aggSql = `SELECT device, bucket AS b, ${each((i) => `(${spec.columns[i]!.column})::float8 AS v${i}`)} FROM ${schemaSql}.${spec.view} WHERE run_id = ${rid}`
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
  try {
    // One pass: the raw rows grouped by bucket, FULL JOINed with the aggregate. The aggregate's values
    // are shipped only where they differ from the raw ones by a bit (the comparison below then applies
    // the tolerance), so a run's buckets are read and parsed once, not twice.
    await db.query(`DECLARE p8_buckets NO SCROLL CURSOR FOR
      SELECT device, t, has_raw, has_agg, same, ${each((i) => `r${i}`)}, ${each((i) => `CASE WHEN same THEN NULL ELSE a${i} END AS a${i}`)}
      FROM (SELECT coalesce(r.device, a.device) AS device, (extract(epoch FROM coalesce(r.b, a.b)) * 1000)::float8 AS t,
              r.device IS NOT NULL AS has_raw, a.device IS NOT NULL AS has_agg,
              ROW(${each((i) => `r.v${i}`)}) IS NOT DISTINCT FROM ROW(${each((i) => `a.v${i}`)}) AS same,
              ${each((i) => `r.v${i} AS r${i}`)}, ${each((i) => `a.v${i} AS a${i}`)}
            FROM (${rawSql}) r FULL JOIN (${aggSql}) a ON a.device = r.device AND a.b = r.b) x
      ORDER BY device COLLATE "C", t`)
    // Stryker restore StringLiteral
    const cursor = new BucketCursor(db, 'p8_buckets', k)
    const foreign = async (device: string): Promise<void> => {
      for (const d of await cursor.skipBefore(device)) {
        note([
          {
            aggregate: spec.view,
            device: d,
            farm: d.split('-')[0] ?? '',
            bucket: '*',
            against: 'oracle',
            column: '*',
            expected: 'no bucket',
            found: 1,
          },
        ])
      }
    }
    for (const device of devices) {
      await foreign(device.id)
      const acc = new BucketAccumulator(spec)
      for (let seq = 0; seq < manifest.perDevice; seq++) acc.add(oracle.expected(device, seq), unacked.has(device.index, seq))
      const expected = acc.buckets()
      const { raw: rawBuckets, agg: found } = await cursor.take(device.id)
      const past = (t: number): boolean => retentionCutoffMs !== undefined && t + BUCKET_MS <= retentionCutoffMs
      const fresh = (t: number): boolean => isRefreshed(refresh, t)
      const unsure = (t: number): boolean => acc.uncertain.has(t) || past(t)
      note(compareBuckets(spec, device, 'oracle', expected, rawBuckets, unsure).map((m) => ({ ...m, aggregate: spec.table })))
      note(compareBuckets(spec, device, 'raw rows', rawBuckets, found, (t) => !fresh(t)))
      note(compareBuckets(spec, device, 'oracle', expected, found, (t) => !fresh(t) || unsure(t)))
      oracleBuckets += expected.length
      aggregateBuckets += found.length
      for (const b of expected) {
        first = Math.min(first, b.t)
        last = Math.max(last, b.t)
        const ok = fresh(b.t) && !unsure(b.t)
        if (ok) {
          checked++
          await sink?.add(spec, device, b)
        } else {
          sink?.unchecked(b.t)
          if (!fresh(b.t)) notRefreshed++
          else if (past(b.t)) pastRetention++
          else uncertain++
        }
      }
    }
    await foreign('\u{10FFFF}')
    // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    await db.query('COMMIT')
  } catch (err) {
    // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    await db.query('ROLLBACK').catch(() => undefined)
    throw err
  }
  return {
    aggregate: spec.view,
    continuous: refresh.continuous,
    oracleBuckets,
    aggregateBuckets,
    checked,
    notRefreshed,
    uncertain,
    pastRetention,
    mismatchCount,
    mismatches,
    ...(Number.isFinite(first) && { firstBucket: new Date(first).toISOString(), lastBucket: new Date(last).toISOString() }),
  }
}

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
      : `${mismatchCount} aggregate values differ (first: ${describe(aggregates.flatMap((a) => a.mismatches)[0]!)})`,
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
      mismatches: aggregates.flatMap((a) => a.mismatches).slice(0, SAMPLES),
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
