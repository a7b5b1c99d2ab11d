/**
 * P8's database readers (src/verify/dashboard-jobs.ts, dashboard-refresh.ts, dashboard-oracle-tables.ts)
 * against the P8 server model (test/support/p8-server.ts): each server-side branch as data — TimescaleDB
 * present or not, job stats present or not, job_history, job_errors or neither, chunks, invalidation logs.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { deviceAt } from '../../src/fleet.js'
import { AGGREGATES } from '../../src/verify/dashboard-aggregates.js'
import { POLICY_PROCS, readChunks, readJobFailures, readJobs, runJobsNow } from '../../src/verify/dashboard-jobs.js'
import { OracleTables } from '../../src/verify/dashboard-oracle-tables.js'
import { PANEL_MEANINGS } from '../../src/verify/dashboard-panels.js'
import { isRefreshed, readRefreshStates } from '../../src/verify/dashboard-refresh.js'
import { p8Server, type JobRow } from '../support/p8-server.js'
import { FLEET } from '../support/p8-run.js'

const T = (iso: string): Date => new Date(iso)
const MINUTE = 60_000
const NOW = T('2026-12-07T06:00:00Z')
const job = (job_id: number, proc_name: string, hypertable_name: string, over: Partial<JobRow> = {}): JobRow => ({
  job_id,
  proc_name,
  hypertable_schema: 'bench',
  hypertable_name,
  schedule_interval_ms: 3_600_000,
  scheduled: true,
  config: {},
  ...over,
})
const stats = (over: Partial<NonNullable<JobRow['stats']>> = {}): NonNullable<JobRow['stats']> => ({
  last_run_started_at: T('2026-12-07T05:30:00Z'),
  last_successful_finish: T('2026-12-07T05:30:01Z'),
  last_run_status: 'Success',
  job_status: 'Scheduled',
  next_start: T('2026-12-07T06:30:00Z'),
  total_runs: 4,
  total_failures: 1,
  ...over,
})
const timescale = (over: Parameters<typeof p8Server>[0] = {}) => p8Server({ timescale: true, now: NOW, ...over })

describe('readJobs', () => {
  test('the policy jobs of the schema, by id, with their stats; a refresh job named by its aggregate; other schemas and procs left out', async () => {
    const s = timescale({
      caggs: [
        {
          view: 'collar_1m',
          schema: 'bench',
          materialized_only: true,
          mat: 4,
          raw: 1,
          matName: '_materialized_hypertable_4',
          watermark: 0,
        },
      ],
      jobs: [
        job(1002, 'policy_retention', 'collar_readings', { config: { drop_after: '30 days' }, stats: stats() }),
        job(1001, 'policy_refresh_continuous_aggregate', '_materialized_hypertable_4', {
          hypertable_schema: '_timescaledb_internal',
          schedule_interval_ms: 60_000,
          config: { end_offset: '00:01:00' },
        }),
        job(1003, 'policy_compression', 'milk_readings', { scheduled: false, stats: stats({ last_run_status: 'Failed', total_runs: 9 }) }),
        job(1004, 'policy_retention', 'collar_readings', { hypertable_schema: 'other' }),
        job(1005, 'custom_proc', 'collar_readings'),
      ],
    })
    const jobs = await readJobs(s.db, 'bench')
    assert.deepEqual(
      jobs.map((j) => [j.jobId, j.proc, j.target, j.scheduleIntervalMs, j.scheduled, j.config]),
      [
        [1001, 'policy_refresh_continuous_aggregate', 'collar_1m', 60_000, true, { end_offset: '00:01:00' }],
        [1002, 'policy_retention', 'collar_readings', 3_600_000, true, { drop_after: '30 days' }],
        [1003, 'policy_compression', 'milk_readings', 3_600_000, false, {}],
      ],
    )
    // A job without stats: every stat NULL, the counts 0 (coalesce).
    assert.deepEqual(
      [
        jobs[0]!.lastRunStartedAt,
        jobs[0]!.lastSuccessfulFinish,
        jobs[0]!.lastRunStatus,
        jobs[0]!.jobStatus,
        jobs[0]!.nextStart,
        jobs[0]!.totalRuns,
      ],
      [null, null, null, null, null, 0],
    )
    assert.deepEqual(
      [jobs[1]!.lastRunStartedAt, jobs[1]!.lastSuccessfulFinish, jobs[1]!.lastRunStatus, jobs[1]!.jobStatus, jobs[1]!.nextStart],
      [T('2026-12-07T05:30:00Z'), T('2026-12-07T05:30:01Z'), 'Success', 'Scheduled', T('2026-12-07T06:30:00Z')],
    )
    assert.deepEqual([jobs[2]!.lastRunStatus, jobs[2]!.totalRuns, jobs[2]!.totalFailures], ['Failed', 9, 1])
    assert.deepEqual(
      (await readJobs(s.db, 'other')).map((j) => j.jobId),
      [1004],
    )
    assert.deepEqual([...POLICY_PROCS].sort(), ['policy_compression', 'policy_refresh_continuous_aggregate', 'policy_retention'])
  })
})

describe('runJobsNow', () => {
  test('moves each job to now, then polls until every one has started since and is not running', async () => {
    const a = job(1, 'policy_refresh_continuous_aggregate', 'm1', { stats: stats({ last_run_started_at: T('2026-12-07T05:00:00Z') }) })
    const b = job(2, 'policy_refresh_continuous_aggregate', 'm2', { stats: stats({ last_run_started_at: null }) })
    const s = timescale({ jobs: [a, b] })
    let polls = 0
    // Job 2 starts after the first poll; job 1 starts then too but is still running at the second, done at the third.
    const asked = await runJobsNow(s.db, [1, 2], 2_000, async () => {
      polls++
      if (polls === 1) {
        a.stats = { ...a.stats!, last_run_started_at: NOW, job_status: 'Running' }
        b.stats = { ...b.stats!, last_run_started_at: T('2026-12-07T06:00:00.001Z') }
      }
      if (polls === 2) a.stats = { ...a.stats!, job_status: 'Scheduled' }
    })
    assert.deepEqual(asked, NOW)
    assert.equal(polls, 2, 'polled until both had run and neither was running')
    assert.deepEqual(
      s.log.filter((q) => /alter_job/.test(q)),
      ['SELECT alter_job($1, next_start => now())', 'SELECT alter_job($1, next_start => now())'],
    )
    assert.deepEqual([a.stats?.next_start, b.stats?.next_start], [NOW, NOW])
  })

  test('a job that started before it was asked is not done; the deadline ends the wait; no jobs, no poll', async () => {
    const a = job(1, 'policy_refresh_continuous_aggregate', 'm1', { stats: stats({ last_run_started_at: T('2026-12-07T05:59:59.999Z') }) })
    const s = timescale({ jobs: [a] })
    let polls = 0
    const started = Date.now()
    await runJobsNow(s.db, [1], 120, () => {
      polls++
      return new Promise((r) => setTimeout(r, 50))
    })
    assert.ok(polls >= 2 && polls <= 4, `${polls} polls in 120 ms of 50 ms sleeps`)
    assert.ok(Date.now() - started < 1000)
    const quiet = timescale({ jobs: [a] })
    let none = 0
    const asked = await runJobsNow(quiet.db, [], 60_000, () => {
      none++
      return Promise.resolve()
    })
    assert.equal(none, 0)
    assert.deepEqual(asked, NOW)
    assert.deepEqual(quiet.log, ['SELECT now() AS now'])
    // A job with stats but no start yet is not done either: the wait goes on to the deadline.
    const never = job(2, 'policy_refresh_continuous_aggregate', 'm2', { stats: stats({ last_run_started_at: null }) })
    let waits = 0
    await runJobsNow(timescale({ jobs: [never] }).db, [2], 60, () => {
      waits++
      return new Promise((r) => setTimeout(r, 20))
    })
    assert.ok(waits >= 1, 'waited for a job that never started')
  })

  test("the request's time is the database's now(); an unreadable one falls back to this machine's clock", async () => {
    const s = timescale({ now: new Date(Number.NaN) })
    const before = Date.now()
    const asked = await runJobsNow(s.db, [], 10)
    assert.ok(asked.getTime() >= before && asked.getTime() <= Date.now())
  })
})

describe('readJobFailures', () => {
  const failures = [
    { job_id: 1, start_time: T('2026-12-07T05:10:00Z'), sqlerrcode: '24000', err_message: 'cannot drop portal', succeeded: false },
    { job_id: 1, start_time: T('2026-12-07T05:20:00Z'), sqlerrcode: null, err_message: null, succeeded: null },
    { job_id: 1, start_time: T('2026-12-07T05:30:00Z'), sqlerrcode: null, err_message: 'ok', succeeded: true },
    { job_id: 2, start_time: null, sqlerrcode: '53000', err_message: 'failed to start a background worker' },
    { job_id: 3, start_time: T('2026-12-07T05:40:00Z'), sqlerrcode: 'XX000', err_message: 'not asked for' },
  ]
  test('job_history (2.15+): the failed runs of these jobs, newest first, a missing message named', async () => {
    const s = timescale({ failureViews: ['job_history', 'job_errors'], failures })
    assert.deepEqual(await readJobFailures(s.db, [1, 2]), [
      { jobId: 2, startTime: null, sqlerrcode: '53000', message: 'failed to start a background worker' },
      { jobId: 1, startTime: T('2026-12-07T05:20:00Z'), sqlerrcode: null, message: 'no error text' },
      { jobId: 1, startTime: T('2026-12-07T05:10:00Z'), sqlerrcode: '24000', message: 'cannot drop portal' },
    ])
  })
  test('job_errors (before 2.15) holds failures only: no succeeded column to filter on', async () => {
    const s = timescale({ failureViews: ['job_errors'], failures: failures.filter((f) => f.succeeded !== true) })
    assert.deepEqual(
      (await readJobFailures(s.db, [1, 3])).map((f) => [f.jobId, f.message]),
      [
        [3, 'not asked for'],
        [1, 'no error text'],
        [1, 'cannot drop portal'],
      ],
    )
  })
  test('neither view, or no jobs: no failures, and no query for them', async () => {
    const s = timescale({ failureViews: [], failures })
    assert.deepEqual(await readJobFailures(s.db, [1]), [])
    assert.equal(s.log.length, 1)
    const none = timescale({ failureViews: ['job_history'], failures })
    assert.deepEqual(await readJobFailures(none.db, []), [])
    assert.deepEqual(none.log, [])
  })
})

describe('readChunks', () => {
  test("the schema's chunks by hypertable and start; an open range end is the end of time, a missing start never listed", async () => {
    const chunk = (h: string, c: string, from: string | null, to: string | null, is_compressed: boolean, schema = 'bench') => ({
      schema,
      h,
      c,
      range_start: from === null ? null : T(from),
      range_end: to === null ? null : T(to),
      is_compressed,
    })
    const s = timescale({
      chunks: [
        chunk('milk_readings', '_hyper_2_9_chunk', '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z', false),
        chunk('collar_readings', '_hyper_1_5_chunk', '2026-12-02T00:00:00Z', null, true),
        chunk('collar_readings', '_hyper_1_4_chunk', '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z', false),
        chunk('collar_readings', '_hyper_1_6_chunk', null, '2026-12-02T00:00:00Z', false),
        chunk('collar_readings', '_hyper_7_1_chunk', '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z', false, 'other'),
      ],
    })
    assert.deepEqual(await readChunks(s.db, 'bench'), [
      {
        hypertable: 'collar_readings',
        chunk: '_hyper_1_4_chunk',
        rangeStart: T('2026-12-01T00:00:00Z'),
        rangeEnd: T('2026-12-02T00:00:00Z'),
        compressed: false,
      },
      {
        hypertable: 'collar_readings',
        chunk: '_hyper_1_5_chunk',
        rangeStart: T('2026-12-02T00:00:00Z'),
        rangeEnd: new Date(8.64e15),
        compressed: true,
      },
      {
        hypertable: 'milk_readings',
        chunk: '_hyper_2_9_chunk',
        rangeStart: T('2026-12-01T00:00:00Z'),
        rangeEnd: T('2026-12-02T00:00:00Z'),
        compressed: false,
      },
    ])
  })
  test('a range start the driver cannot read is the epoch', async () => {
    const s = timescale({
      chunks: [
        {
          schema: 'bench',
          h: 'collar_readings',
          c: 'x',
          range_start: new Date(Number.NaN),
          range_end: T('2026-12-02T00:00:00Z'),
          is_compressed: false,
        },
      ],
    })
    assert.deepEqual((await readChunks(s.db, 'bench'))[0]!.rangeStart, new Date(0))
  })
})

describe('readRefreshStates', () => {
  test('plain PostgreSQL: no continuous aggregate, and no catalog query', async () => {
    const s = p8Server({ timescale: false })
    assert.deepEqual(await readRefreshStates(s.db, 'bench'), new Map())
    assert.equal(s.log.length, 1)
  })
  test('each continuous aggregate of the schema: its watermark, real-time or not, and the invalidations below the watermark (its own logs only)', async () => {
    const W = Date.parse('2026-12-07T05:00:00Z')
    const s = timescale({
      caggs: [
        { view: 'collar_1m', schema: 'bench', materialized_only: true, mat: 4, raw: 1, matName: 'm4', watermark: W },
        { view: 'milk_1m', schema: 'bench', materialized_only: false, mat: 5, raw: 2, matName: 'm5', watermark: W + 60_000 },
        { view: 'chiller_1m', schema: 'other', materialized_only: true, mat: 6, raw: 3, matName: 'm6', watermark: 0 },
      ],
      invalidations: [
        { hypertable_id: 1, lo: W - 120_000, hi: W - 60_001 },
        { materialization_id: 4, lo: W - 1, hi: W + 5 },
        { hypertable_id: 1, lo: W, hi: 9.2e15 }, // at the watermark: the unmaterialized range itself
        { hypertable_id: 4, lo: 0, hi: 1 }, // another aggregate's raw hypertable id, equal to this one's materialization id
        { materialization_id: 1, lo: 0, hi: 1 },
        { hypertable_id: 2, lo: -9.2e15, hi: W }, // -infinity as the catalog stores it
      ],
    })
    const states = await readRefreshStates(s.db, 'bench')
    assert.deepEqual(
      states,
      new Map([
        [
          'collar_1m',
          {
            continuous: true,
            realtime: false,
            watermarkMs: W,
            pending: [
              [W - 120_000, W - 60_001],
              [W - 1, W + 5],
            ],
          },
        ],
        ['milk_1m', { continuous: true, realtime: true, watermarkMs: W + 60_000, pending: [[-9.2e15, W]] }],
      ]),
    )
  })
  test('a watermark or bound read as text (numeric) is a number', async () => {
    const s = timescale({
      caggs: [
        {
          view: 'collar_1m',
          schema: 'bench',
          materialized_only: true,
          mat: 4,
          raw: 1,
          matName: 'm4',
          watermark: '120000' as unknown as number,
        },
      ],
      invalidations: [{ hypertable_id: 1, lo: '0' as unknown as number, hi: '59999' as unknown as number }],
    })
    assert.deepEqual((await readRefreshStates(s.db, 'bench')).get('collar_1m'), {
      continuous: true,
      realtime: false,
      watermarkMs: 120_000,
      pending: [[0, 59_999]],
    })
  })
})

describe('isRefreshed', () => {
  test('an invalidated range makes stale exactly the buckets it touches: a range from the next bucket on leaves this one', () => {
    const t = 600_000
    const at = (lo: number, hi: number): boolean => isRefreshed({ continuous: true, watermarkMs: 10 * t, pending: [[lo, hi]] }, t)
    assert.equal(at(t + MINUTE, t + MINUTE), true)
    assert.equal(at(t + MINUTE - 1, t + MINUTE), false)
    assert.equal(at(t - MINUTE, t - 1), true)
    assert.equal(at(t - MINUTE, t), false)
  })
})

describe('OracleTables', () => {
  const collar = AGGREGATES.find((a) => a.view === 'collar_1m')!
  const milk = AGGREGATES.find((a) => a.view === 'milk_1m')!
  const cow = deviceAt(FLEET, 0)
  const meter = deviceAt(FLEET, 2)
  test('with tables: temporary runs and aggregate tables, the buckets written on flush, all dropped after', async () => {
    const s = p8Server()
    const t = new OracleTables(s.db, 7, true)
    await t.create('run-a', T('2026-12-07T05:00:00Z'))
    assert.deepEqual([...s.temp.keys()], ['runs', 'collar_1m', 'milk_1m', 'chiller_1m'])
    assert.deepEqual(s.temp.get('runs'), [{ id: 7, name: 'run-a', profile: '', started_at: T('2026-12-07T05:00:00Z') }])
    await t.add(collar, cow, { t: 60_000, values: [3, 1, 2, 3, 38.5, 38.9, 97] })
    await t.add(milk, meter, { t: 120_000, values: [1, 12.5, null, 4.1, 3.3] })
    assert.deepEqual(s.temp.get('collar_1m'), [], 'nothing written before flush')
    await t.flush('milk_1m')
    assert.deepEqual(s.temp.get('collar_1m'), [])
    assert.deepEqual(s.temp.get('milk_1m'), [
      {
        run_id: 7,
        device: meter.id,
        bucket: '1970-01-01T00:02:00.000Z',
        readings: 1,
        yield_kg: 12.5,
        conductivity_ms_cm: null,
        fat_pct: 4.1,
        protein_pct: 3.3,
      },
    ])
    await t.flush()
    assert.deepEqual(s.temp.get('collar_1m'), [
      {
        run_id: 7,
        device: cow.id,
        bucket: '1970-01-01T00:01:00.000Z',
        readings: 3,
        activity: 1,
        rumination_min: 2,
        eating_min: 3,
        neck_temp_c: 38.5,
        neck_temp_max_c: 38.9,
        battery_pct: 97,
      },
    ])
    const inserts = s.log.filter((q) => q.startsWith('INSERT INTO pg_temp.') && !q.includes('runs'))
    assert.equal(inserts.length, 2, 'each table written once: flushed rows are not written again')
    await t.flush()
    assert.equal(s.log.filter((q) => q.startsWith('INSERT INTO pg_temp.') && !q.includes('runs')).length, 2)
    // A second create (a retry) starts from empty tables.
    await t.create('run-a', T('2026-12-07T05:00:00Z'))
    assert.deepEqual(s.temp.get('collar_1m'), [])
    await t.drop()
    assert.deepEqual([...s.temp.keys()], [])
  })

  test('5,000 pending buckets of an aggregate are written at once, without waiting for flush', async () => {
    const s = p8Server()
    const t = new OracleTables(s.db, 7, true)
    await t.create('run-a', T('2026-12-07T05:00:00Z'))
    for (let i = 0; i < 4999; i++) await t.add(collar, cow, { t: i * 60_000, values: [1, 1, 1, 1, 1, 1, 1] })
    assert.equal(s.temp.get('collar_1m')!.length, 0)
    await t.add(collar, cow, { t: 4999 * 60_000, values: [1, 1, 1, 1, 1, 1, 1] })
    assert.equal(s.temp.get('collar_1m')!.length, 5000)
    await t.add(collar, cow, { t: 5000 * 60_000, values: [1, 1, 1, 1, 1, 1, 1] })
    assert.equal(s.temp.get('collar_1m')!.length, 5000)
  })

  test('without tables: no SQL at all; the series of every declared panel meaning still get each bucket', async () => {
    const s = p8Server()
    const t = new OracleTables(s.db, 7, false)
    await t.create('run-a', T('2026-12-07T05:00:00Z'))
    await t.add(collar, cow, { t: 60_000, values: [3, 1, 2, 3, 38.5, 38.9, 97] })
    await t.add(collar, deviceAt(FLEET, 1), { t: 60_000, values: [2, 5, 2, 3, 38.1, 39.5, 90] })
    await t.flush()
    await t.drop()
    assert.deepEqual(s.log, [])
    t.unchecked(120_000)
    assert.deepEqual([...t.uncheckedTimes], [120_000])
    assert.deepEqual(
      [...t.series.keys()],
      PANEL_MEANINGS.map((m) => m.title),
    )
    const rows = (title: string) => t.series.get(title)!.rows()
    assert.deepEqual(rows('Hottest cow per farm (°C)'), [{ time: new Date(60_000), metric: cow.farm, value: 39.5 }])
    assert.deepEqual(rows('Activity index, herd mean per farm'), [{ time: new Date(60_000), metric: cow.farm, value: 3 }])
    assert.deepEqual(rows('Readings per minute per farm'), [{ time: new Date(60_000), metric: cow.farm, value: 5 }])
    assert.deepEqual(rows('Milk yield per farm (kg/min)'), [])
  })
})
