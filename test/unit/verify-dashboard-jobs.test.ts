/**
 * P8's policy jobs (src/verify/dashboard-jobs.ts) field by field: a job row as a server returns it,
 * timestamps of every shape, intervals, the chunk windows and the job findings on both sides of each
 * boundary (the run's start, the grace).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  chunkPoliciesOf,
  dbTime,
  intervalMs,
  jobRecordOf,
  judgeChunks,
  judgeJobs,
  POLICY_PROCS,
  type JobRecord,
} from '../../src/verify/dashboard-jobs.js'

const DAY = 86_400_000
const NOW = new Date('2026-11-23T12:00:00Z')
const SINCE = new Date('2026-11-23T11:50:00Z')
const compression = (over: Partial<JobRecord> = {}): JobRecord => ({
  jobId: 7,
  proc: 'policy_compression',
  target: 'collar_readings',
  scheduleIntervalMs: 60_000,
  scheduled: true,
  config: {},
  lastRunStartedAt: null,
  lastSuccessfulFinish: null,
  lastRunStatus: null,
  jobStatus: 'Scheduled',
  nextStart: null,
  totalRuns: 0,
  totalFailures: 0,
  ...over,
})
const problems = (jobs: JobRecord[], failures: Parameters<typeof judgeJobs>[1] = []) =>
  judgeJobs(jobs, failures, { now: NOW, since: SINCE, graceMs: 60_000 }).findings.map((f) => f.problem)

describe('job rows', () => {
  test('dbTime: a Date, epoch ms, ISO text; null, undefined, infinities and garbage are null', () => {
    const d = new Date('2026-11-23T10:00:00Z')
    assert.equal(dbTime(d), d)
    assert.equal(dbTime(d.getTime())?.toISOString(), d.toISOString())
    assert.equal(dbTime('2026-11-23T10:00:00Z')?.toISOString(), d.toISOString())
    for (const v of [null, undefined, -Infinity, Infinity, 'infinity', 'soon', {}])
      assert.equal(dbTime(v), null, JSON.stringify(v) ?? 'undefined')
  })

  test('jobRecordOf: every field, with what a missing or malformed one becomes', () => {
    const r = jobRecordOf({
      job_id: '12',
      proc_name: 'policy_retention',
      target: 'milk_readings',
      interval_ms: '3600000',
      scheduled: true,
      config: '{"drop_after": "30 days"}',
      last_run_started_at: '2026-11-23T10:00:00Z',
      last_successful_finish: '2026-11-23T10:00:01Z',
      last_run_status: 'Success',
      job_status: 'Scheduled',
      next_start: '2026-11-23T11:00:00Z',
      total_runs: '4',
      total_failures: 1,
    })
    assert.deepEqual(r, {
      jobId: 12,
      proc: 'policy_retention',
      target: 'milk_readings',
      scheduleIntervalMs: 3_600_000,
      scheduled: true,
      config: { drop_after: '30 days' },
      lastRunStartedAt: new Date('2026-11-23T10:00:00Z'),
      lastSuccessfulFinish: new Date('2026-11-23T10:00:01Z'),
      lastRunStatus: 'Success',
      jobStatus: 'Scheduled',
      nextStart: new Date('2026-11-23T11:00:00Z'),
      totalRuns: 4,
      totalFailures: 1,
    })
    const odd = jobRecordOf({ job_id: 3, proc_name: 'p', scheduled: 't', config: '{not json', interval_ms: 'x', total_runs: null })
    assert.deepEqual(
      [odd.target, odd.scheduled, odd.config, odd.scheduleIntervalMs, odd.totalRuns, odd.lastRunStatus, odd.jobStatus],
      ['unknown', false, {}, 0, 0, null, null],
    )
    assert.deepEqual(jobRecordOf({ job_id: 3, proc_name: 'p', config: { a: 1 } }).config, {}, 'only text is parsed')
    assert.deepEqual(POLICY_PROCS, ['policy_refresh_continuous_aggregate', 'policy_compression', 'policy_retention'])
  })

  test('intervalMs: days, negative days, h:mm:ss with fractions; nothing readable is 0', () => {
    assert.equal(intervalMs('7 days'), 7 * DAY)
    assert.equal(intervalMs('1 day'), DAY)
    assert.equal(intervalMs('-2 days'), -2 * DAY)
    assert.equal(intervalMs('01:02:03.5'), 3_723_500)
    assert.equal(intervalMs('1 day 00:00:10'), DAY + 10_000)
    assert.equal(intervalMs(undefined), 0)
  })

  test('chunkPoliciesOf: retention and compression with their windows and last success; other jobs none', () => {
    const asOf = new Date('2026-11-23T00:00:00Z')
    assert.deepEqual(
      chunkPoliciesOf([
        compression({ config: { compress_after: '7 days' }, lastSuccessfulFinish: asOf }),
        compression({ proc: 'policy_retention', target: 'milk_readings', config: { drop_after: '30 days' } }),
        compression({ proc: 'policy_refresh_continuous_aggregate' }),
      ]),
      [
        { hypertable: 'collar_readings', kind: 'compression', afterMs: 7 * DAY, asOf },
        { hypertable: 'milk_readings', kind: 'retention', afterMs: 30 * DAY, asOf: null },
      ],
    )
  })
})

describe('chunk windows', () => {
  const asOf = new Date('2026-11-23T00:00:00Z')
  const cutoff = asOf.getTime() - 7 * DAY
  const chunk = (endMs: number, compressed = false, hypertable = 'collar_readings') => ({
    hypertable,
    chunk: `c${endMs}`,
    rangeStart: new Date(endMs - DAY),
    rangeEnd: new Date(endMs),
    compressed,
  })

  test('a chunk ending exactly at the cutoff is judged, one a millisecond later is not; other tables and unrun policies never', () => {
    const policies = [
      { hypertable: 'collar_readings', kind: 'retention' as const, afterMs: 7 * DAY, asOf },
      { hypertable: 'milk_readings', kind: 'compression' as const, afterMs: 7 * DAY, asOf: null },
    ]
    assert.deepEqual(judgeChunks([chunk(cutoff + 1), chunk(cutoff, false, 'milk_readings')], policies), [])
    assert.deepEqual(judgeChunks([chunk(cutoff)], policies), [
      `collar_readings chunk c${cutoff} [${new Date(cutoff - DAY).toISOString()}, ${new Date(cutoff).toISOString()}) is past the retention window (drop_after 7 days before the policy's run at ${asOf.toISOString()}) but still there`,
    ])
    const compress = [{ hypertable: 'collar_readings', kind: 'compression' as const, afterMs: 7 * DAY, asOf }]
    assert.deepEqual(judgeChunks([chunk(cutoff, true)], compress), [])
    assert.deepEqual(judgeChunks([chunk(cutoff)], compress), [
      `collar_readings chunk c${cutoff} [${new Date(cutoff - DAY).toISOString()}, ${new Date(cutoff).toISOString()}) is past compress_after (7 days before the policy's run at ${asOf.toISOString()}) but not compressed`,
    ])
  })
})

describe('job findings', () => {
  test('the newest of a job’s own failures is its last run’s error; others’ failures are not its own', () => {
    const f = (jobId: number, iso: string, message: string) => ({ jobId, startTime: new Date(iso), sqlerrcode: null, message })
    assert.deepEqual(
      problems(
        [compression({ lastRunStatus: 'Failed', totalRuns: 3, lastRunStartedAt: new Date('2026-11-23T11:40:00Z') })],
        [f(7, '2026-11-23T11:00:00Z', 'older'), f(7, '2026-11-23T11:40:00Z', 'newest'), f(8, '2026-11-23T11:45:00Z', 'another job')],
      ),
      ['its last run failed (it has never succeeded): newest at 2026-11-23T11:40:00.000Z'],
    )
  })

  test('a failure exactly at the run’s start is the run’s; one a millisecond before is not', () => {
    const at = (ms: number) => [{ jobId: 7, startTime: new Date(SINCE.getTime() + ms), sqlerrcode: '40P01', message: 'deadlock' }]
    const ran = compression({
      totalRuns: 2,
      lastRunStartedAt: new Date('2026-11-23T11:59:00Z'),
      nextStart: new Date('2026-11-23T12:30:00Z'),
    })
    assert.deepEqual(problems([ran], at(0)), [`a run failed during the bench: deadlock (SQLSTATE 40P01) at ${SINCE.toISOString()}`])
    assert.deepEqual(problems([ran], at(-1)), [])
  })

  test('paused: not scheduled, or scheduled with the status Paused', () => {
    const ran = { totalRuns: 2, lastRunStartedAt: new Date('2026-11-23T11:59:00Z'), nextStart: new Date('2026-11-23T12:30:00Z') }
    const paused = 'the job is paused (scheduled = false): it never runs when due'
    assert.deepEqual(problems([compression({ ...ran, jobStatus: 'Paused' })]), [paused])
    assert.deepEqual(problems([compression({ ...ran, scheduled: false })]), [paused])
  })

  test('a job that never ran: due beyond the grace fails, inside it or later does not; an infinite next start fails', () => {
    const never = (nextStart: Date | null) => problems([compression({ nextStart })])
    const msg = (iso: string) => [
      `never ran (next start ${iso}): is the TimescaleDB scheduler running (timescaledb.max_background_workers > 0)?`,
    ]
    assert.deepEqual(never(new Date(NOW.getTime() - 60_001)), msg('2026-11-23T11:58:59.999Z'))
    assert.deepEqual(never(new Date(NOW.getTime() - 60_000)), [])
    assert.deepEqual(never(new Date(NOW.getTime() + 1)), [])
    assert.deepEqual(never(new Date(Number.NaN)), msg('unknown'))
    assert.deepEqual(problems([compression({ scheduled: false, totalRuns: 0 })]), [
      'the job is paused (scheduled = false): it never runs when due',
    ])
    // One that ran before (total runs) but has no last start recorded is judged as overdue, not as never run.
    assert.deepEqual(problems([compression({ totalRuns: 1, nextStart: new Date(NOW.getTime() + 1) })]), [])
  })

  test('an overdue job: beyond the grace fails with the grace in seconds, exactly at it does not', () => {
    const ran = { totalRuns: 2, lastRunStartedAt: new Date('2026-11-23T11:00:00Z') }
    assert.deepEqual(problems([compression({ ...ran, nextStart: new Date(NOW.getTime() - 60_001) })]), [
      `was due at 2026-11-23T11:58:59.999Z and has not run by ${NOW.toISOString()} (grace 60 s)`,
    ])
    assert.deepEqual(problems([compression({ ...ran, nextStart: new Date(NOW.getTime() - 60_000) })]), [])
  })

  test('a refresh job that did not run during the bench says when it last started', () => {
    const refresh = compression({ proc: 'policy_refresh_continuous_aggregate', target: 'collar_1m', totalRuns: 1 })
    assert.deepEqual(problems([{ ...refresh, lastRunStartedAt: new Date('2026-11-23T11:49:59Z') }]), [
      `did not run during the bench (last start 2026-11-23T11:49:59.000Z, run started ${SINCE.toISOString()})`,
    ])
    assert.deepEqual(problems([refresh]), [`did not run during the bench (last start never, run started ${SINCE.toISOString()})`])
  })
})
