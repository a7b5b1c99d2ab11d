// A model of the database P8 reads (src/verify/dashboards.ts and its readers), answering each of P8's
// queries from data held in memory, as the server would: the run's row, whether TimescaleDB is there, the
// policy jobs and their stats, the job history, the chunks, the continuous aggregates' watermarks and
// invalidation logs, the bucket cursor, the dashboards' panel queries and the oracle's temporary tables.
// Every server-side branch is data here. A query it does not mean to serve throws, so a test cannot pass
// on a statement P8 did not send. The aggregates are computed here from the raw rows by this model's own
// arithmetic (never by the verifier's BucketAccumulator).
import type { SqlSession } from '../../src/db/migrate.js'
import type { FieldValue } from '../../src/kinds.js'
import { AGGREGATES, BUCKET_MS, type AggregateSpec } from '../../src/verify/dashboard-aggregates.js'

export interface RawRow {
  readonly run_id: number
  readonly device: string
  readonly ts: number
  readonly values: Readonly<Record<string, FieldValue>>
}
/** A row of an aggregate (what the view shows): its values in the spec's column order. */
export interface AggRow {
  readonly run_id: number
  readonly device: string
  readonly bucket: number
  values: Array<number | null>
}
export interface JobRow {
  readonly job_id: number
  readonly proc_name: string
  readonly hypertable_schema: string
  /** The hypertable, or the continuous aggregate's materialization hypertable. */
  readonly hypertable_name: string
  readonly schedule_interval_ms: number
  readonly scheduled: boolean
  readonly config: Record<string, unknown>
  /** job_stats' row; undefined: the job has none (LEFT JOIN gives NULLs). */
  stats?: {
    last_run_started_at: Date | number | null
    last_successful_finish: Date | number | null
    last_run_status: string | null
    job_status: string | null
    next_start: Date | number | null
    total_runs: number
    total_failures: number
  }
}
export interface CaggRow {
  readonly view: string
  readonly schema: string
  readonly materialized_only: boolean
  readonly mat: number
  readonly raw: number
  /** Materialization hypertable name (for the jobs' join). */
  readonly matName: string
  /** Epoch ms (the catalog's microseconds / 1000). */
  readonly watermark: number
}
export interface FailureRow {
  readonly job_id: number
  readonly start_time: Date | null
  readonly sqlerrcode: string | null
  readonly err_message: string | null
  /** job_history only. */
  readonly succeeded?: boolean | null
}
export interface ChunkRow {
  readonly schema: string
  readonly h: string
  readonly c: string
  readonly range_start: Date | null
  readonly range_end: Date | null
  readonly is_compressed: boolean
}

export interface P8Server {
  schema: string
  timescale: boolean
  now: Date
  runs: Array<{ id: number; name: string; started_at: Date }>
  raw: Map<string, RawRow[]>
  aggs: Map<string, AggRow[]>
  caggs: CaggRow[]
  /** Invalidation log entries: of a raw hypertable (`hypertable_id`) or of a materialization (`materialization_id`). */
  invalidations: Array<{ hypertable_id?: number; materialization_id?: number; lo: number; hi: number }>
  jobs: JobRow[]
  /** The views the timescaledb_information schema has among job_history and job_errors. */
  failureViews: string[]
  failures: FailureRow[]
  chunks: ChunkRow[]
  /** What the scheduler does when alter_job moves a job's next start to now (nothing by default: no scheduler). */
  onAlterJob: (job: JobRow, now: Date) => void
  /** Answers a query P8 sends that this model does not serve itself (a panel reading another table), or undefined. */
  answer: (sql: string) => Array<Record<string, unknown>> | undefined
  /** The jobs alter_job moved to now, in order. */
  readonly altered: number[]
  /** The temporary tables of the session (name → rows). */
  readonly temp: Map<string, Array<Record<string, unknown>>>
  /** Every statement served, in order. */
  readonly log: string[]
  /** Each FETCH's row count, in order. */
  readonly fetched: number[]
  readonly db: SqlSession
}

const num = (v: FieldValue | undefined): number | null => (v === undefined ? null : typeof v === 'boolean' ? Number(v) : v)

/** One aggregate function over values, NULLs ignored, as SQL computes it. */
function fold(fn: string, values: ReadonlyArray<number | null>): number | null {
  const xs = values.filter((x): x is number => x !== null)
  if (fn === 'count') return values.length
  if (xs.length === 0) return null
  if (fn === 'max') return xs.reduce((a, b) => (b > a ? b : a))
  if (fn === 'min') return xs.reduce((a, b) => (b < a ? b : a))
  const sum = xs.reduce((a, b) => a + b, 0)
  return fn === 'sum' ? sum : sum / xs.length
}

/** GROUP BY run_id, device, minute over a sensor table: the aggregate's rows as the server computes them. */
export function bucketsOf(spec: AggregateSpec, rows: readonly RawRow[]): AggRow[] {
  const groups = new Map<string, RawRow[]>()
  for (const r of rows) {
    const key = `${r.run_id}\u0000${r.device}\u0000${r.ts - (r.ts % BUCKET_MS)}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  return [...groups.values()].map((g) => ({
    run_id: g[0]!.run_id,
    device: g[0]!.device,
    bucket: g[0]!.ts - (g[0]!.ts % BUCKET_MS),
    values: spec.columns.map((c) =>
      fold(
        c.fn,
        g.map((r) => (c.fn === 'count' ? 1 : num(r.values[c.field]))),
      ),
    ),
  }))
}

const specOf = (name: string): AggregateSpec => {
  const s = AGGREGATES.find((a) => a.view === name || a.table === name)
  if (!s) throw new Error(`p8 server: no aggregate ${name}`)
  return s
}
const codeOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const ms = (v: Date | number | null | undefined): number => (v instanceof Date ? v.getTime() : typeof v === 'number' ? v : -Infinity)

export function p8Server(init: Partial<Omit<P8Server, 'db' | 'log' | 'fetched' | 'temp' | 'altered'>> = {}): P8Server {
  const s: P8Server = {
    schema: 'bench',
    timescale: false,
    now: new Date('2026-12-07T06:00:00Z'),
    runs: [],
    raw: new Map(),
    aggs: new Map(),
    caggs: [],
    invalidations: [],
    jobs: [],
    failureViews: [],
    failures: [],
    chunks: [],
    onAlterJob: () => undefined,
    answer: () => undefined,
    ...init,
    altered: [],
    temp: new Map(),
    log: [],
    fetched: [],
    db: {
      query: (sql, params) => Promise.resolve().then(() => ({ rows: serve(sql, params ?? []) })),
      exec: () => Promise.reject(new Error('p8 server: exec')),
    },
  }
  const live = `"${s.schema}"`
  let cursor: Array<Record<string, unknown>> | undefined
  let inTx = false

  /** The cursor of checkAggregate: the raw rows grouped by minute FULL JOINed with the aggregate's rows, by device (code points) and time. */
  const declare = (sql: string): Array<Record<string, unknown>> => {
    const raw = new RegExp(`FROM ${live}\\.(\\w+_readings) WHERE run_id = (\\d+) GROUP BY device, b`).exec(sql)
    const agg = new RegExp(`FROM ${live}\\.(\\w+_1m) WHERE run_id = (\\d+)\\)? a ON a\\.device = r\\.device AND a\\.b = r\\.b`).exec(sql)
    if (!raw || !agg || raw[2] !== agg[2] || specOf(raw[1]!) !== specOf(agg[1]!))
      throw new Error(`p8 server: not P8's bucket cursor: ${sql}`)
    if (!s.timescale && sql.includes('time_bucket('))
      throw new Error('p8 server: function time_bucket(interval, timestamp with time zone) does not exist')
    const spec = specOf(raw[1]!)
    const runId = Number(raw[2])
    const r = bucketsOf(
      spec,
      (s.raw.get(spec.table) ?? []).filter((x) => x.run_id === runId),
    )
    const a = (s.aggs.get(spec.view) ?? []).filter((x) => x.run_id === runId)
    const key = (x: AggRow): string => `${x.device}\u0000${x.bucket}`
    const byKey = new Map<string, { r?: AggRow; a?: AggRow }>()
    for (const x of r) byKey.set(key(x), { r: x })
    for (const x of a) byKey.set(key(x), { ...byKey.get(key(x)), a: x })
    return [...byKey.values()]
      .map(({ r: rb, a: ab }) => {
        const row: Record<string, unknown> = { device: (rb ?? ab)!.device, t: (rb ?? ab)!.bucket, has_raw: !!rb, has_agg: !!ab }
        const same = spec.columns.every((_, i) => (rb?.values[i] ?? null) === (ab?.values[i] ?? null))
        row.same = same
        spec.columns.forEach((_, i) => {
          row[`r${i}`] = rb?.values[i] ?? null
          row[`a${i}`] = same ? null : (ab?.values[i] ?? null)
        })
        return row
      })
      .sort((x, y) => codeOrder(String(x.device), String(y.device)) || Number(x.t) - Number(y.t))
  }

  /** A provisioned panel's query: per bucket and farm, one function of one column of the aggregate(s), for the named run. */
  const panel = (sql: string): Array<Record<string, unknown>> | undefined => {
    const m =
      /^SELECT a\.bucket AS "time", split_part\(a\.device, '-', 1\) AS metric, (avg|max|sum)\(a\.(\w+)\)(?: \* (\d+))? AS ("[^"]+"|\w+)\s+FROM (.+?) a\s+JOIN (\S+)\.runs r ON r\.id = a\.run_id\s+WHERE r\.name = '([^']*)' AND split_part\(a\.device, '-', 1\) IN \(([^)]*)\) AND a\.bucket BETWEEN '([^']+)'::timestamptz AND '([^']+)'::timestamptz\s+GROUP BY 1, 2 ORDER BY 1$/.exec(
        sql,
      )
    if (!m) return undefined
    const [, fn, column, scale, alias, from, runsSchema, runName, farmList, lo, hi] = m as unknown as string[]
    const sources = [...from!.matchAll(/(pg_temp|"\w+")\.(\w+_1m)/g)].map((x) => [x[1]!, x[2]!] as const)
    if (sources.length === 0 || sources.some(([sch]) => sch !== runsSchema))
      throw new Error(`p8 server: panel reads another schema: ${sql}`)
    const temp = runsSchema === 'pg_temp'
    const runs = temp ? tempRows('runs').map((r) => ({ id: Number(r.id), name: String(r.name) })) : s.runs
    const ids = new Set(runs.filter((r) => r.name === runName).map((r) => r.id))
    const farms = new Set([...farmList!.matchAll(/'([^']*)'/g)].map((x) => x[1]!))
    const [from0, to0] = [Date.parse(lo!), Date.parse(hi!)]
    const groups = new Map<string, { t: number; farm: string; xs: Array<number | null> }>()
    for (const [, view] of sources) {
      const spec = specOf(view)
      const ci = spec.columns.findIndex((c) => c.column === column)
      if (ci < 0) throw new Error(`p8 server: ${view} has no column ${column}`)
      const rows: AggRow[] = temp
        ? tempRows(view).map((r) => ({
            run_id: Number(r.run_id),
            device: String(r.device),
            bucket: Date.parse(String(r.bucket)),
            values: spec.columns.map((c) => (r[c.column] === null || r[c.column] === undefined ? null : Number(r[c.column]))),
          }))
        : (s.aggs.get(view) ?? [])
      for (const r of rows) {
        const farm = r.device.split('-')[0]!
        if (!ids.has(r.run_id) || !farms.has(farm) || r.bucket < from0 || r.bucket > to0) continue
        const k = `${r.bucket}\u0000${farm}`
        const g = groups.get(k) ?? { t: r.bucket, farm, xs: [] }
        g.xs.push(r.values[ci] ?? null)
        groups.set(k, g)
      }
    }
    const name = alias!.replace(/^"|"$/g, '')
    return [...groups.values()]
      .sort((a, b) => a.t - b.t)
      .map((g) => {
        const v = fold(fn!, g.xs)
        return { time: new Date(g.t), metric: g.farm, [name]: v === null ? null : v * Number(scale ?? 1) }
      })
  }

  const jobsOf = (procs: readonly string[], schema: string): Array<Record<string, unknown>> =>
    s.jobs
      .map((j) => ({ j, ca: s.caggs.find((c) => c.matName === j.hypertable_name && j.hypertable_schema === '_timescaledb_internal') }))
      .filter(({ j, ca }) => procs.includes(j.proc_name) && (j.hypertable_schema === schema || ca?.schema === schema))
      .sort((a, b) => a.j.job_id - b.j.job_id)
      .map(({ j, ca }) => ({
        job_id: j.job_id,
        proc_name: j.proc_name,
        target: ca?.view ?? j.hypertable_name,
        interval_ms: j.schedule_interval_ms,
        scheduled: j.scheduled,
        config: JSON.stringify(j.config),
        last_run_started_at: j.stats?.last_run_started_at ?? null,
        last_successful_finish: j.stats?.last_successful_finish ?? null,
        last_run_status: j.stats?.last_run_status ?? null,
        job_status: j.stats?.job_status ?? null,
        next_start: j.stats?.next_start ?? null,
        total_runs: j.stats?.total_runs ?? 0,
        total_failures: j.stats?.total_failures ?? 0,
      }))

  function serve(sql: string, params: unknown[]): Array<Record<string, unknown>> {
    s.log.push(sql)
    const one = (p: RegExp): boolean => p.test(sql)
    if (sql === 'SELECT current_schema() AS s') return [{ s: s.schema }]
    if (sql === `SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`) return s.timescale ? [{ '?column?': 1 }] : []
    if (sql === 'SELECT now() AS now') return [{ now: s.now }]
    if (sql === `SELECT name, started_at, now() AS now FROM ${live}.runs WHERE id = $1`)
      return s.runs.filter((r) => r.id === params[0]).map((r) => ({ name: r.name, started_at: r.started_at, now: s.now }))
    if (!s.timescale && one(/timescaledb_information|_timescaledb_|alter_job/)) throw new Error(`p8 server: no TimescaleDB here: ${sql}`)
    if (
      one(
        /^SELECT j\.job_id, j\.proc_name, coalesce\(ca\.view_name, j\.hypertable_name\)::text AS target,[\s\S]*FROM timescaledb_information\.jobs j\s+LEFT JOIN timescaledb_information\.job_stats s ON s\.job_id = j\.job_id\s+LEFT JOIN timescaledb_information\.continuous_aggregates ca[\s\S]*WHERE j\.proc_name = ANY\(\$1::text\[\]\) AND \(j\.hypertable_schema = \$2 OR ca\.view_schema = \$2\)\s+ORDER BY j\.job_id$/,
      )
    )
      return jobsOf(params[0] as string[], params[1] as string)
    if (sql === 'SELECT alter_job($1, next_start => now())') {
      const j = s.jobs.find((x) => x.job_id === params[0])
      if (!j) throw new Error(`p8 server: alter_job: no job ${String(params[0])}`)
      if (j.stats) j.stats.next_start = s.now
      s.altered.push(j.job_id)
      s.onAlterJob(j, s.now)
      return [{ alter_job: `(${j.job_id})` }]
    }
    if (sql === 'SELECT job_id, last_run_started_at, job_status FROM timescaledb_information.job_stats WHERE job_id = ANY($1::int[])')
      return s.jobs
        .filter((j) => j.stats && (params[0] as number[]).includes(j.job_id))
        .map((j) => ({ job_id: j.job_id, last_run_started_at: j.stats!.last_run_started_at, job_status: j.stats!.job_status }))
    if (
      sql ===
      `SELECT table_name FROM information_schema.views WHERE table_schema = 'timescaledb_information' AND table_name IN ('job_history', 'job_errors')`
    )
      return s.failureViews.filter((v) => v === 'job_history' || v === 'job_errors').map((table_name) => ({ table_name }))
    const failures =
      /^SELECT job_id, start_time, sqlerrcode, err_message FROM timescaledb_information\.(job_history|job_errors)\n\s+WHERE job_id = ANY\(\$1::int\[\]\)( AND succeeded IS NOT TRUE)? ORDER BY start_time DESC LIMIT 200$/.exec(
        sql,
      )
    if (failures) {
      const view = failures[1]!
      if (!s.failureViews.includes(view)) throw new Error(`p8 server: relation timescaledb_information.${view} does not exist`)
      if ((view === 'job_history') !== (failures[2] !== undefined))
        throw new Error(`p8 server: ${view} read with the other view's filter: ${sql}`)
      return (
        s.failures
          .filter((f) => (params[0] as number[]).includes(f.job_id) && (view === 'job_errors' || f.succeeded !== true))
          // ORDER BY … DESC puts NULLs first, as PostgreSQL does.
          .sort((a, b) => (a.start_time === null ? Infinity : ms(a.start_time)) - (b.start_time === null ? Infinity : ms(b.start_time)))
          .reverse()
          .slice(0, 200)
          .map(({ job_id, start_time, sqlerrcode, err_message }) => ({ job_id, start_time, sqlerrcode, err_message }))
      )
    }
    if (
      one(
        /^SELECT hypertable_name::text AS h, chunk_name::text AS c, range_start, range_end, is_compressed FROM timescaledb_information\.chunks\n\s+WHERE hypertable_schema = \$1 AND range_start IS NOT NULL ORDER BY 1, range_start$/,
      )
    )
      return s.chunks
        .filter((c) => c.schema === params[0] && c.range_start !== null)
        .sort((a, b) => codeOrder(a.h, b.h) || ms(a.range_start) - ms(b.range_start))
        .map(({ h, c, range_start, range_end, is_compressed }) => ({ h, c, range_start, range_end, is_compressed }))
    if (
      one(
        /^SELECT user_view_name::text AS view, materialized_only, mat_hypertable_id AS mat, raw_hypertable_id AS raw,\s+\(_timescaledb_functions\.cagg_watermark\(mat_hypertable_id\)::float8 \/ 1000\) AS watermark\s+FROM _timescaledb_catalog\.continuous_agg WHERE user_view_schema = \$1$/,
      )
    )
      return s.caggs
        .filter((c) => c.schema === params[0])
        .map(({ view, materialized_only, mat, raw, watermark }) => ({ view, materialized_only, mat, raw, watermark }))
    if (
      one(
        /^SELECT \(lowest_modified_value::float8 \/ 1000\) AS lo, \(greatest_modified_value::float8 \/ 1000\) AS hi FROM _timescaledb_catalog\.continuous_aggs_hypertable_invalidation_log WHERE hypertable_id = \$1\s+UNION ALL\s+SELECT \(lowest_modified_value::float8 \/ 1000\), \(greatest_modified_value::float8 \/ 1000\) FROM _timescaledb_catalog\.continuous_aggs_materialization_invalidation_log WHERE materialization_id = \$2$/,
      )
    )
      return s.invalidations
        .filter(
          (i) =>
            (i.hypertable_id !== undefined && i.hypertable_id === params[0]) ||
            (i.materialization_id !== undefined && i.materialization_id === params[1]),
        )
        .map(({ lo, hi }) => ({ lo, hi }))
    if (sql === 'BEGIN ISOLATION LEVEL REPEATABLE READ') {
      if (inTx) throw new Error('p8 server: BEGIN inside a transaction')
      inTx = true
      return []
    }
    if (one(/^DECLARE p8_buckets NO SCROLL CURSOR FOR\s/)) {
      if (!inTx) throw new Error('p8 server: DECLARE CURSOR can only be used in transaction blocks')
      cursor = declare(sql)
      return []
    }
    const fetch = /^FETCH (\d+) FROM p8_buckets$/.exec(sql)
    if (fetch) {
      if (!cursor) throw new Error('p8 server: cursor "p8_buckets" does not exist')
      const rows = cursor.splice(0, Number(fetch[1]))
      s.fetched.push(rows.length)
      return rows
    }
    if (sql === 'COMMIT' || sql === 'ROLLBACK') {
      inTx = false
      cursor = undefined
      return []
    }
    if (sql === 'CREATE TEMP TABLE runs (id int, name text, profile text, started_at timestamptz)') return createTemp('runs')
    if (sql === `INSERT INTO pg_temp.runs VALUES ($1, $2, '', $3)`) {
      tempRows('runs').push({ id: params[0], name: params[1], profile: '', started_at: params[2] })
      return []
    }
    const create = /^CREATE TEMP TABLE (\w+_1m) \(run_id int, device text, bucket timestamptz, (.*)\)$/.exec(sql)
    if (create) {
      const spec = specOf(create[1]!)
      const want = spec.columns.map((c) => `${c.column} ${c.fn === 'count' ? 'bigint' : 'float8'}`).join(', ')
      if (create[2] !== want) throw new Error(`p8 server: ${create[1]} created with columns ${create[2]}, not ${want}`)
      return createTemp(create[1]!)
    }
    const insert = /^INSERT INTO pg_temp\.(\w+) SELECT \* FROM json_populate_recordset\(NULL::pg_temp\.(\w+), \$1::json\)$/.exec(sql)
    if (insert && insert[1] === insert[2]) {
      tempRows(insert[1]!).push(...(JSON.parse(String(params[0])) as Array<Record<string, unknown>>))
      return []
    }
    const drop = /^DROP TABLE IF EXISTS pg_temp\.(\w+)$/.exec(sql)
    if (drop) {
      s.temp.delete(drop[1]!)
      return []
    }
    const rows = panel(sql) ?? s.answer(sql)
    if (rows) return rows
    throw new Error(`p8 server: unexpected query ${sql}`)
  }
  const createTemp = (name: string): [] => {
    if (s.temp.has(name)) throw new Error(`p8 server: relation "${name}" already exists`)
    s.temp.set(name, [])
    return []
  }
  const tempRows = (name: string): Array<Record<string, unknown>> => {
    const t = s.temp.get(name)
    if (!t) throw new Error(`p8 server: relation "pg_temp.${name}" does not exist`)
    return t
  }
  return s
}
