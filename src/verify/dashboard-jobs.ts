import type { SqlSession } from '../db/migrate.js'
import { textOf } from '../util/text.js'

/**
 * TimescaleDB policy jobs (refresh, columnstore/compression, retention) as P8 reads them: a record per
 * job from timescaledb_information.jobs + job_stats, and the failures the job history keeps
 * (timescaledb_information.job_history in 2.15+, job_errors before). The judgement is a pure function
 * over those rows so a unit test can feed it a failed or overdue job.
 */
export interface JobRecord {
  readonly jobId: number
  readonly proc: string
  /** The hypertable or continuous aggregate the policy works on. */
  readonly target: string
  readonly scheduleIntervalMs: number
  readonly scheduled: boolean
  readonly config: Readonly<Record<string, unknown>>
  readonly lastRunStartedAt: Date | null
  readonly lastSuccessfulFinish: Date | null
  /** 'Success' | 'Failed' | null (never ran). */
  readonly lastRunStatus: string | null
  /** 'Scheduled' | 'Running' | 'Paused'. */
  readonly jobStatus: string | null
  readonly nextStart: Date | null
  readonly totalRuns: number
  readonly totalFailures: number
}

export interface JobFailure {
  readonly jobId: number
  readonly startTime: Date | null
  readonly sqlerrcode: string | null
  readonly message: string
}

export interface JobFinding {
  readonly jobId: number
  readonly target: string
  readonly proc: string
  readonly problem: string
}

export interface JobVerdict {
  readonly pass: boolean
  readonly findings: JobFinding[]
  readonly jobs: Array<Record<string, unknown>>
  /** When the bench asked the scheduler to run the refresh jobs (after the drain), if it did. */
  readonly asked: string | null
}

/** How late past its next_start a job may start before it counts as not run when due (scheduler latency). */
export const DEFAULT_JOB_GRACE_MS = 60_000

/** The jobs a run's verdict relies on: the aggregates the dashboards read are only as fresh as their refresh. */
export const RELIED_PROCS: ReadonlySet<string> = new Set(['policy_refresh_continuous_aggregate'])

/** An ISO time, or null for no time, an infinite one or one that is not a time: never a throw. */
export const iso = (d: Date | null | undefined): string | null => (d && Number.isFinite(d.getTime()) ? d.toISOString() : null)

export interface JobJudgement {
  /** The database's clock when the jobs are judged. */
  readonly now: Date
  /** The run's start: failures from then on are the run's. */
  readonly since: Date
  /** When the bench asked the scheduler to run the refresh jobs (alter_job next_start => now()). */
  readonly asked?: Date | undefined
  readonly graceMs?: number
}

/**
 * Every policy job ran when due and succeeded: fails on a job whose last run failed (with its own error
 * text), on any failure recorded since the run's start (a worker that failed to start included), on a
 * paused job, on a refresh job that did not run during the bench (after the bench asked for it, when it
 * did), on any other job that never ran once due, and on one whose next start is more than the grace in
 * the past while it is not running. Every field may be null: a job row is data, never a reason to throw.
 */
export function judgeJobs(jobs: readonly JobRecord[], failures: readonly JobFailure[], at: JobJudgement): JobVerdict {
  const { now, since, asked } = at
  const graceMs = at.graceMs ?? DEFAULT_JOB_GRACE_MS
  const findings: JobFinding[] = []
  const timeOf = (d: Date | null): number => (d && Number.isFinite(d.getTime()) ? d.getTime() : -Infinity)
  const errText = (f: JobFailure): string =>
    `${f.message}${f.sqlerrcode ? ` (SQLSTATE ${f.sqlerrcode})` : ''}${iso(f.startTime) ? ` at ${iso(f.startTime)}` : ''}`
  for (const j of jobs) {
    const at = { jobId: j.jobId, target: j.target, proc: j.proc }
    const own = failures.filter((f) => f.jobId === j.jobId).sort((a, b) => timeOf(b.startTime) - timeOf(a.startTime))
    if (!j.scheduled || j.jobStatus === 'Paused')
      findings.push({ ...at, problem: 'the job is paused (scheduled = false): it never runs when due' })
    const lastFailed = j.lastRunStatus === 'Failed'
    if (lastFailed) {
      const never = j.lastSuccessfulFinish === null ? ' (it has never succeeded)' : ''
      findings.push({
        ...at,
        problem: `its last run failed${never}: ${own[0] ? errText(own[0]) : 'no error text recorded in the job history'}`,
      })
    }
    const during = own.filter((f) => timeOf(f.startTime) >= since.getTime() && !(lastFailed && f === own[0]))
    for (const f of during) findings.push({ ...at, problem: `a run failed during the bench: ${errText(f)}` })
    const started = timeOf(j.lastRunStartedAt)
    const relied = RELIED_PROCS.has(j.proc)
    if (relied && j.scheduled) {
      const from = asked ?? since
      if (started < from.getTime()) {
        findings.push({
          ...at,
          problem: asked
            ? `was asked to run at ${asked.toISOString()} (after the drain) and had not started by ${now.toISOString()}: the scheduler did not run it (is it running, with enough timescaledb.max_background_workers and max_worker_processes?)`
            : `did not run during the bench (last start ${iso(j.lastRunStartedAt) ?? 'never'}, run started ${since.toISOString()})`,
        })
      } else if (asked && j.jobStatus === 'Running') {
        findings.push({
          ...at,
          problem: `still running at ${now.toISOString()}: its refresh was not finished when the aggregates were judged`,
        })
      }
    }
    const due = timeOf(j.nextStart)
    if (relied && started === -Infinity) {
      // named above
    } else if (j.scheduled && started === -Infinity && j.totalRuns === 0) {
      if (due === -Infinity || due === Infinity || due + graceMs < now.getTime()) {
        findings.push({
          ...at,
          problem: `never ran (next start ${iso(j.nextStart) ?? 'unknown'}): is the TimescaleDB scheduler running (timescaledb.max_background_workers > 0)?`,
        })
      }
    } else if (j.scheduled && j.jobStatus !== 'Running' && Number.isFinite(due) && due + graceMs < now.getTime()) {
      findings.push({
        ...at,
        problem: `was due at ${iso(j.nextStart)} and has not run by ${now.toISOString()} (grace ${graceMs / 1000} s)`,
      })
    }
  }
  return {
    pass: findings.length === 0,
    findings,
    asked: iso(asked),
    jobs: jobs.map((j) => ({
      jobId: j.jobId,
      proc: j.proc,
      target: j.target,
      relied: RELIED_PROCS.has(j.proc),
      scheduleIntervalMs: j.scheduleIntervalMs,
      lastRunStartedAt: iso(j.lastRunStartedAt),
      lastSuccessfulFinish: iso(j.lastSuccessfulFinish),
      lastRunStatus: j.lastRunStatus,
      jobStatus: j.jobStatus,
      nextStart: iso(j.nextStart),
      totalRuns: j.totalRuns,
      totalFailures: j.totalFailures,
    })),
  }
}

export const POLICY_PROCS = ['policy_refresh_continuous_aggregate', 'policy_compression', 'policy_retention'] as const

/**
 * A timestamptz as node-postgres or PGlite returns it, as a Date or null: null, an infinite time
 * (node-postgres returns '-infinity' as the number -Infinity; a job that never succeeded has it) and
 * anything that is not a time all become null, so no job row can make the verdict throw.
 */
export const dbTime = (v: unknown): Date | null => {
  if (v === null || v === undefined) return null
  const d = v instanceof Date ? v : typeof v === 'number' ? new Date(v) : new Date(textOf(v))
  return Number.isFinite(d.getTime()) ? d : null
}
const count = (v: unknown): number => (Number.isFinite(Number(v)) ? Number(v) : 0)

/** One row of the jobs query below as a JobRecord: pure, so a test feeds it what a server returns. */
export function jobRecordOf(x: Record<string, unknown>): JobRecord {
  let config: Record<string, unknown>
  try {
    config = typeof x.config === 'string' ? (JSON.parse(x.config) as Record<string, unknown>) : {}
  } catch {
    config = {}
  }
  return {
    jobId: Number(x.job_id),
    proc: String(x.proc_name),
    target: textOf(x.target ?? 'unknown'),
    scheduleIntervalMs: count(x.interval_ms),
    scheduled: x.scheduled === true,
    config,
    lastRunStartedAt: dbTime(x.last_run_started_at),
    lastSuccessfulFinish: dbTime(x.last_successful_finish),
    lastRunStatus: (x.last_run_status as string | null) ?? null,
    jobStatus: (x.job_status as string | null) ?? null,
    nextStart: dbTime(x.next_start),
    totalRuns: count(x.total_runs),
    totalFailures: count(x.total_failures),
  }
}

/** The policy jobs of the hypertables and continuous aggregates in `schema`, with their stats. */
export async function readJobs(db: SqlSession, schema: string): Promise<JobRecord[]> {
  // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const r = await db.query(
    `SELECT j.job_id, j.proc_name, coalesce(ca.view_name, j.hypertable_name)::text AS target,
            (extract(epoch FROM j.schedule_interval) * 1000)::float8 AS interval_ms, j.scheduled, j.config::text AS config,
            s.last_run_started_at, s.last_successful_finish, s.last_run_status, s.job_status, s.next_start,
            coalesce(s.total_runs, 0)::int AS total_runs, coalesce(s.total_failures, 0)::int AS total_failures
     FROM timescaledb_information.jobs j
     LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
     LEFT JOIN timescaledb_information.continuous_aggregates ca
       ON ca.materialization_hypertable_schema = j.hypertable_schema AND ca.materialization_hypertable_name = j.hypertable_name
     WHERE j.proc_name = ANY($1::text[]) AND (j.hypertable_schema = $2 OR ca.view_schema = $2)
     ORDER BY j.job_id`,
    [POLICY_PROCS, schema],
  )
  // Stryker restore StringLiteral
  return r.rows.map(jobRecordOf)
}

/**
 * Asks TimescaleDB's own scheduler to run these jobs now (alter_job next_start => now(), as its docs
 * restart a job) and waits, polling, until each has started since and is no longer running, or the
 * deadline passes. Returns the database's time of the request; the judgement reads what happened.
 */
export async function runJobsNow(
  db: SqlSession,
  jobIds: readonly number[],
  deadlineMs: number,
  sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
): Promise<Date> {
  // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const asked = dbTime((await db.query('SELECT now() AS now')).rows[0]?.now) ?? new Date()
  // Stryker disable next-line StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  for (const id of jobIds) await db.query('SELECT alter_job($1, next_start => now())', [id])
  const until = Date.now() + deadlineMs
  while (jobIds.length > 0 && Date.now() < until) {
    // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
    const r = await db.query(
      `SELECT job_id, last_run_started_at, job_status FROM timescaledb_information.job_stats WHERE job_id = ANY($1::int[])`,
      [jobIds],
    )
    // Stryker restore StringLiteral
    const done = (r.rows as Array<Record<string, unknown>>).filter(
      (x) => (dbTime(x.last_run_started_at)?.getTime() ?? -Infinity) >= asked.getTime() && x.job_status !== 'Running',
    )
    if (done.length >= jobIds.length) break
    await sleep(250)
  }
  return asked
}

/** Failed runs of these jobs: job_history (2.15+) or job_errors (2.9+), whichever the server has. */
export async function readJobFailures(db: SqlSession, jobIds: readonly number[]): Promise<JobFailure[]> {
  if (jobIds.length === 0) return []
  // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const has = await db.query(
    `SELECT table_name FROM information_schema.views WHERE table_schema = 'timescaledb_information' AND table_name IN ('job_history', 'job_errors')`,
  )
  // Stryker restore StringLiteral
  const views = new Set(has.rows.map((x: { table_name: string }) => x.table_name))
  const view = views.has('job_history') ? 'job_history' : views.has('job_errors') ? 'job_errors' : undefined
  if (!view) return []
  // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const r = await db.query(
    `SELECT job_id, start_time, sqlerrcode, err_message FROM timescaledb_information.${view}
     WHERE job_id = ANY($1::int[])${view === 'job_history' ? ' AND succeeded IS NOT TRUE' : ''} ORDER BY start_time DESC LIMIT 200`,
    [jobIds],
  )
  // Stryker restore StringLiteral
  return r.rows.map((x: Record<string, unknown>) => ({
    jobId: Number(x.job_id),
    startTime: dbTime(x.start_time),
    sqlerrcode: (x.sqlerrcode as string | null) ?? null,
    message: textOf(x.err_message ?? 'no error text'),
  }))
}

/** A chunk of a hypertable as timescaledb_information.chunks lists it. */
export interface ChunkRecord {
  readonly hypertable: string
  readonly chunk: string
  readonly rangeStart: Date
  readonly rangeEnd: Date
  readonly compressed: boolean
}
/** A compression or retention policy: its window and when it last finished successfully (the moment its window is judged at). */
export interface ChunkPolicy {
  readonly hypertable: string
  readonly kind: 'compression' | 'retention'
  readonly afterMs: number
  readonly asOf: Date | null
}

/**
 * The chunks a policy has judged: retention must have dropped every chunk that ended before its last
 * successful run minus drop_after; compression must have compressed every chunk that ended before its last
 * run minus compress_after. Chunks inside the windows must stay (the bucket check against the oracle
 * finds rows a policy took too early).
 */
export function judgeChunks(chunks: readonly ChunkRecord[], policies: readonly ChunkPolicy[]): string[] {
  const out: string[] = []
  for (const p of policies) {
    if (!p.asOf) continue
    const cutoff = p.asOf.getTime() - p.afterMs
    for (const c of chunks) {
      if (c.hypertable !== p.hypertable || c.rangeEnd.getTime() > cutoff) continue
      const range = `[${c.rangeStart.toISOString()}, ${c.rangeEnd.toISOString()})`
      if (p.kind === 'retention')
        out.push(
          `${c.hypertable} chunk ${c.chunk} ${range} is past the retention window (drop_after ${p.afterMs / 86_400_000} days before the policy's run at ${p.asOf.toISOString()}) but still there`,
        )
      else if (!c.compressed)
        out.push(
          `${c.hypertable} chunk ${c.chunk} ${range} is past compress_after (${p.afterMs / 86_400_000} days before the policy's run at ${p.asOf.toISOString()}) but not compressed`,
        )
    }
  }
  return out
}

export async function readChunks(db: SqlSession, schema: string): Promise<ChunkRecord[]> {
  // Stryker disable StringLiteral: SQL text run only by a test slower than 3 s (docs/testing.md, SQL text)
  const r = await db.query(
    `SELECT hypertable_name::text AS h, chunk_name::text AS c, range_start, range_end, is_compressed FROM timescaledb_information.chunks
     WHERE hypertable_schema = $1 AND range_start IS NOT NULL ORDER BY 1, range_start`,
    [schema],
  )
  // Stryker restore StringLiteral
  return r.rows.map((x: Record<string, unknown>) => ({
    hypertable: String(x.h),
    chunk: String(x.c),
    rangeStart: dbTime(x.range_start) ?? new Date(0),
    rangeEnd: dbTime(x.range_end) ?? new Date(8.64e15),
    compressed: x.is_compressed === true,
  }))
}

/** Parses a policy interval from a job's config ("7 days", "30 days", "12:00:00", "1 day 02:00:00") to ms. */
export function intervalMs(text: unknown): number {
  const s = textOf(text ?? '')
  let ms = 0
  const days = /(-?\d+) days?/.exec(s)
  if (days) ms += Number(days[1]) * 86_400_000
  const hms = /(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(s)
  if (hms) ms += (Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3])) * 1000
  return ms
}

/** The compression and retention policies of the jobs, judged at their last successful finish. */
export const chunkPoliciesOf = (jobs: readonly JobRecord[]): ChunkPolicy[] =>
  jobs.flatMap((j): ChunkPolicy[] => {
    if (j.proc === 'policy_retention')
      return [{ hypertable: j.target, kind: 'retention', afterMs: intervalMs(j.config['drop_after']), asOf: j.lastSuccessfulFinish }]
    if (j.proc === 'policy_compression')
      return [{ hypertable: j.target, kind: 'compression', afterMs: intervalMs(j.config['compress_after']), asOf: j.lastSuccessfulFinish }]
    return []
  })
