import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { deviceAt } from '../../src/fleet.js'
import { AGGREGATES, BucketAccumulator, compareBuckets } from '../../src/verify/dashboard-aggregates.js'
import { chunkPoliciesOf, intervalMs, jobRecordOf, judgeChunks, judgeJobs, type JobRecord } from '../../src/verify/dashboard-jobs.js'
import { comparePanelRows, fillPanelSql, loadSqlPanels, PANEL_MEANINGS } from '../../src/verify/dashboard-panels.js'
import { isRefreshed } from '../../src/verify/dashboards.js'

const NOW = new Date('2026-11-23T12:00:00Z')
const RUN_START = new Date('2026-11-23T11:50:00Z')
const job = (over: Partial<JobRecord> = {}): JobRecord => ({
  jobId: 1001,
  proc: 'policy_refresh_continuous_aggregate',
  target: 'collar_1m',
  scheduleIntervalMs: 60_000,
  scheduled: true,
  config: {},
  lastRunStartedAt: new Date('2026-11-23T11:59:30Z'),
  lastSuccessfulFinish: new Date('2026-11-23T11:59:31Z'),
  lastRunStatus: 'Success',
  jobStatus: 'Scheduled',
  nextStart: new Date('2026-11-23T12:00:30Z'),
  totalRuns: 12,
  totalFailures: 0,
  ...over,
})

describe('P8 policy-job records (pure)', () => {
  test('jobs that ran when due and succeeded pass', () => {
    const v = judgeJobs(
      [job(), job({ jobId: 1000, proc: 'policy_compression', target: 'collar_readings', scheduleIntervalMs: 43_200_000 })],
      [],
      { now: NOW, since: RUN_START },
    )
    assert.equal(v.pass, true)
    assert.equal(v.jobs.length, 2)
  })

  test('a failed job fails P8 with its own error text', () => {
    const v = judgeJobs(
      [job({ lastRunStatus: 'Failed', totalFailures: 1 })],
      [
        {
          jobId: 1001,
          startTime: new Date('2026-11-23T11:59:30Z'),
          sqlerrcode: '53100',
          message: 'could not extend file "base/16384/12345": No space left on device',
        },
        { jobId: 1001, startTime: new Date('2026-11-20T00:00:00Z'), sqlerrcode: null, message: 'an older failure' },
      ],
      { now: NOW, since: RUN_START },
    )
    assert.equal(v.pass, false)
    assert.equal(v.findings.length, 1, 'the older failure, before the run, is not reported again')
    assert.match(
      v.findings[0]!.problem,
      /^its last run failed: could not extend file "base\/16384\/12345": No space left on device \(SQLSTATE 53100\) at 2026-11-23T11:59:30\.000Z$/,
    )
    assert.equal(v.findings[0]!.target, 'collar_1m')
  })

  test('a failure during the run fails even when a later run succeeded', () => {
    const v = judgeJobs(
      [job()],
      [{ jobId: 1001, startTime: new Date('2026-11-23T11:55:00Z'), sqlerrcode: '40P01', message: 'deadlock detected' }],
      { now: NOW, since: RUN_START },
    )
    assert.equal(v.pass, false)
    assert.match(v.findings[0]!.problem, /a run failed during the bench: deadlock detected \(SQLSTATE 40P01\)/)
  })

  test('a job that never ran, is overdue or paused fails; one that is running or inside its grace does not', () => {
    const compression = { jobId: 1000, proc: 'policy_compression', target: 'collar_readings' }
    assert.match(
      judgeJobs(
        [job({ ...compression, totalRuns: 0, lastRunStartedAt: null, lastSuccessfulFinish: null, lastRunStatus: null, nextStart: null })],
        [],
        { now: NOW, since: RUN_START },
      ).findings[0]!.problem,
      /^never ran/,
    )
    assert.equal(
      judgeJobs(
        [
          job({
            ...compression,
            totalRuns: 0,
            lastRunStartedAt: null,
            lastSuccessfulFinish: null,
            lastRunStatus: null,
            nextStart: new Date('2026-11-24T00:00:00Z'),
          }),
        ],
        [],
        { now: NOW, since: RUN_START },
      ).pass,
      true,
      'not due yet',
    )
    assert.match(
      judgeJobs([job({ nextStart: new Date('2026-11-23T11:55:00Z') })], [], { now: NOW, since: RUN_START }).findings[0]!.problem,
      /was due at 2026-11-23T11:55:00\.000Z and has not run/,
    )
    assert.equal(
      judgeJobs([job({ nextStart: new Date('2026-11-23T11:55:00Z'), jobStatus: 'Running' })], [], { now: NOW, since: RUN_START }).pass,
      true,
    )
    assert.equal(
      judgeJobs([job({ nextStart: new Date('2026-11-23T11:59:30Z') })], [], { now: NOW, since: RUN_START }).pass,
      true,
      'inside the 60 s grace',
    )
    assert.match(
      judgeJobs([job({ scheduled: false, jobStatus: 'Paused' })], [], { now: NOW, since: RUN_START }).findings[0]!.problem,
      /paused/,
    )
  })

  test('job rows as servers return them never throw: -infinity, NULL, never run, failed and never succeeded, failed to start', () => {
    // node-postgres returns a timestamptz '-infinity' as the number -Infinity; PGlite returns NULL; a job
    // that never succeeded has last_successful_finish = '-infinity' (TimescaleDB 2.28.3 on PostgreSQL 15.20).
    const row = (over: Record<string, unknown>): Record<string, unknown> => ({
      job_id: 1003,
      proc_name: 'policy_refresh_continuous_aggregate',
      target: 'collar_1m',
      interval_ms: 10_000,
      scheduled: true,
      config: '{"end_offset": "00:01:00"}',
      last_run_started_at: new Date('2026-11-23T11:59:50Z'),
      last_successful_finish: -Infinity,
      last_run_status: 'Failed',
      job_status: 'Scheduled',
      next_start: new Date('2026-11-23T12:00:05Z'),
      total_runs: 4,
      total_failures: 4,
      ...over,
    })
    const failedNeverSucceeded = jobRecordOf(row({}))
    assert.equal(failedNeverSucceeded.lastSuccessfulFinish, null)
    const portal = {
      jobId: 1003,
      startTime: new Date('2026-11-23T11:59:50Z'),
      sqlerrcode: '24000',
      message: 'cannot drop portal "" while it is being set up',
    }
    const v = judgeJobs([failedNeverSucceeded], [portal], { now: NOW, since: RUN_START, asked: new Date('2026-11-23T11:59:45Z') })
    assert.equal(v.pass, false)
    assert.equal(
      v.findings[0]!.problem,
      'its last run failed (it has never succeeded): cannot drop portal "" while it is being set up (SQLSTATE 24000) at 2026-11-23T11:59:50.000Z',
    )
    assert.equal(v.jobs[0]!.lastSuccessfulFinish, null)
    assert.doesNotThrow(() => JSON.stringify(v))

    const odd = [
      row({
        last_run_started_at: -Infinity,
        last_successful_finish: Infinity,
        next_start: 'infinity',
        last_run_status: null,
        total_runs: null,
        total_failures: null,
        config: 'not json',
      }),
      row({
        last_run_started_at: null,
        last_successful_finish: null,
        next_start: null,
        last_run_status: null,
        job_status: null,
        target: null,
        interval_ms: null,
      }),
      row({
        last_run_started_at: 'not a time',
        next_start: Number.NaN,
        proc_name: 'policy_retention',
        last_run_status: null,
        total_runs: 0,
      }),
    ].map(jobRecordOf)
    for (const j of odd) assert.equal(j.lastRunStartedAt, null)
    const w = judgeJobs(odd, [], { now: NOW, since: RUN_START })
    assert.equal(w.pass, false)
    assert.equal(
      w.findings.filter((f) => /did not run during the bench/.test(f.problem)).length,
      2,
      'refresh jobs that never ran are named',
    )
    assert.match(w.findings.find((f) => f.proc === 'policy_retention')!.problem, /never ran \(next start unknown\)/)

    // A worker that could not be started shows only in the job's error history.
    const noWorker = {
      jobId: 1001,
      startTime: new Date('2026-11-23T11:59:40Z'),
      sqlerrcode: null,
      message: 'failed to start a background worker',
    }
    const x = judgeJobs([job({ lastRunStartedAt: new Date('2026-11-23T11:49:00Z') })], [noWorker], { now: NOW, since: RUN_START })
    assert.deepEqual(
      x.findings.map((f) => f.problem),
      [
        'a run failed during the bench: failed to start a background worker at 2026-11-23T11:59:40.000Z',
        'did not run during the bench (last start 2026-11-23T11:49:00.000Z, run started 2026-11-23T11:50:00.000Z)',
      ],
    )
  })

  test('refresh jobs are judged on the run the bench asked the scheduler for after the drain', () => {
    const asked = new Date('2026-11-23T11:59:40Z')
    assert.equal(judgeJobs([job()], [], { now: NOW, since: RUN_START }).pass, true, 'ran during the bench')
    assert.equal(
      judgeJobs([job()], [], { now: NOW, since: RUN_START, asked }).pass,
      false,
      'its last start (11:59:30) is before the bench asked',
    )
    const stale = judgeJobs([job({ lastRunStartedAt: new Date('2026-11-23T11:59:39Z') })], [], { now: NOW, since: RUN_START, asked })
    assert.match(stale.findings[0]!.problem, /^was asked to run at 2026-11-23T11:59:40\.000Z \(after the drain\) and had not started/)
    assert.equal(judgeJobs([job({ lastRunStartedAt: asked })], [], { now: NOW, since: RUN_START, asked }).pass, true)
    assert.match(
      judgeJobs([job({ lastRunStartedAt: asked, jobStatus: 'Running' })], [], { now: NOW, since: RUN_START, asked }).findings[0]!.problem,
      /^still running/,
    )
  })

  test('chunks past a policy window: retention must have dropped them, compression compressed them', () => {
    const day = 86_400_000
    const chunk = (daysAgo: number, compressed: boolean) => ({
      hypertable: 'collar_readings',
      chunk: `c${daysAgo}`,
      rangeStart: new Date(NOW.getTime() - daysAgo * day),
      rangeEnd: new Date(NOW.getTime() - (daysAgo - 1) * day),
      compressed,
    })
    const jobs = [
      job({
        jobId: 1002,
        proc: 'policy_retention',
        target: 'collar_readings',
        config: { drop_after: '30 days' },
        lastSuccessfulFinish: NOW,
      }),
      job({
        jobId: 1000,
        proc: 'policy_compression',
        target: 'collar_readings',
        config: { compress_after: '7 days' },
        lastSuccessfulFinish: NOW,
      }),
    ]
    const policies = chunkPoliciesOf(jobs)
    assert.deepEqual(judgeChunks([chunk(3, false), chunk(9, true), chunk(20, true)], policies), [])
    const bad = judgeChunks([chunk(9, false), chunk(40, true)], policies)
    assert.equal(bad.length, 2)
    assert.match(bad[0]!, /chunk c40 .* past the retention window/)
    assert.match(bad[1]!, /chunk c9 .* not compressed/)
    assert.equal(intervalMs('1 day 02:00:00'), 26 * 3_600_000)
    assert.equal(intervalMs('12:00:00'), 12 * 3_600_000)
  })
})

describe('P8 aggregates and panels (pure)', () => {
  test('the oracle’s buckets match themselves and a changed value is named by device, bucket and column', () => {
    const spec = AGGREGATES.find((a) => a.view === 'collar_1m')!
    const device = deviceAt({ farms: 1, cowsPerFarm: 2, stallsPerFarm: 0, tanksPerFarm: 1 }, 1)
    fc.assert(
      fc.property(
        fc.array(fc.record({ ts: fc.integer({ min: 0, max: 3_600_000 }), a: fc.double({ min: 0, max: 100, noNaN: true }) }), {
          minLength: 1,
          maxLength: 50,
        }),
        fc.nat(),
        (rows, pick) => {
          const acc = new BucketAccumulator(spec)
          for (const r of rows)
            acc.add(
              {
                ts: r.ts,
                values: { activity: r.a, rumination_min: 0.5, eating_min: 0.2, neck_temp_c: 38.6, battery_pct: 90, rssi_dbm: -70 },
              },
              false,
            )
          const b = acc.buckets()
          assert.deepEqual(
            compareBuckets(spec, device, 'oracle', b, b, () => false),
            [],
          )
          const i = pick % b.length
          const changed = b.map((x, k) => (k === i ? { t: x.t, values: x.values.map((v, c) => (c === 1 ? (v as number) + 1 : v)) } : x))
          const diff = compareBuckets(spec, device, 'raw rows', b, changed, () => false)
          assert.equal(diff.length, 1)
          assert.deepEqual(
            [diff[0]!.device, diff[0]!.farm, diff[0]!.bucket, diff[0]!.column],
            [device.id, 'farm01', new Date(b[i]!.t).toISOString(), 'activity'],
          )
          assert.deepEqual(
            compareBuckets(spec, device, 'raw rows', b, changed, (t) => t === b[i]!.t),
            [],
            'a skipped bucket is not compared',
          )
          const missing = compareBuckets(
            spec,
            device,
            'oracle',
            b,
            b.filter((_, k) => k !== i),
            () => false,
          )
          assert.deepEqual(
            missing.map((m) => m.found),
            ['no bucket'],
          )
        },
      ),
    )
  })

  test('a refreshed range: below the watermark and outside pending invalidations', () => {
    const s = { continuous: true, watermarkMs: 600_000, pending: [[120_000, 150_000]] as const }
    assert.equal(isRefreshed(s, 0), true)
    assert.equal(isRefreshed(s, 120_000), false)
    assert.equal(isRefreshed(s, 540_000), true)
    assert.equal(isRefreshed(s, 600_000), false)
    assert.equal(isRefreshed({ continuous: false, pending: [] }, 1e12), true)
    // Real-time aggregation: the tail above the watermark is computed from the raw rows, invalidations or not;
    // below it, a pending invalidation is stale until the next refresh.
    const realtime = {
      ...s,
      realtime: true,
      pending: [
        [120_000, 150_000],
        [-9e15, 9e15],
      ] as const,
    }
    assert.equal(isRefreshed(realtime, 600_000), true)
    assert.equal(isRefreshed(realtime, 1e12), true)
    assert.equal(isRefreshed(realtime, 540_000), false)
    assert.equal(isRefreshed({ ...s, realtime: true }, 540_000), true)
  })

  test('macros and variables are filled as Grafana fills them; an unknown one is an error', () => {
    const ctx = {
      schemaSql: '"s1"',
      values: new Map([
        ['run', ['r1']],
        ['farm', ['farm01', 'farm02']],
      ]),
      variables: new Map([['farm', { name: 'farm', multi: true, includeAll: true }]]),
      fromMs: 0,
      toMs: 60_000,
    }
    assert.equal(
      fillPanelSql(
        `SELECT 1 FROM iotbench.collar_1m a WHERE r.name = '\${run}' AND f IN (\${farm:sqlstring}) AND g IN ($farm) AND $__timeFilter(a.bucket)`,
        ctx,
      ),
      `SELECT 1 FROM "s1".collar_1m a WHERE r.name = 'r1' AND f IN ('farm01','farm02') AND g IN ('farm01','farm02') AND a.bucket BETWEEN '1970-01-01T00:00:00.000Z'::timestamptz AND '1970-01-01T00:01:00.000Z'::timestamptz`,
    )
    assert.match(fillPanelSql('SELECT $__timeGroupAlias(ts, 5m)', ctx), /floor\(extract\(epoch FROM ts\) \/ 300\) \* 300\) AS "time"/)
    assert.throws(() => fillPanelSql('SELECT $__somethingNew(x)', ctx), /macro \$__somethingNew is not supported/)
    assert.throws(() => fillPanelSql('SELECT 1 WHERE x = $tank', ctx), /variable \$tank has no value/)
  })

  test('panel rows match by time and metric, values within the tolerance; differences are listed', () => {
    const t = new Date('2026-11-23T04:30:00Z')
    const rows = [
      { time: t, metric: 'farm01', v: 38.5 },
      { time: t, metric: 'farm02', v: '12' },
    ]
    assert.equal(
      comparePanelRows(
        rows,
        [
          { time: t, metric: 'farm02', value: 12 },
          { time: t, metric: 'farm01', value: 38.5 + 1e-12 },
        ],
        () => false,
      ).differing,
      0,
    )
    const d = comparePanelRows(
      rows,
      [
        { time: t, metric: 'farm01', value: 38.6 },
        { time: t, metric: 'farm03', value: 1 },
      ],
      () => false,
    )
    assert.equal(d.differing, 3)
    assert.deepEqual(
      d.differences.map((x) => [x.row, x.expected, x.found]),
      [
        ['2026-11-23T04:30:00.000Z | farm01', '38.6', '38.5'],
        ['2026-11-23T04:30:00.000Z | farm02', 'no row', '12'],
        ['2026-11-23T04:30:00.000Z | farm03', '1', 'no row'],
      ],
    )
    assert.equal(comparePanelRows(rows, [], (x) => x === t.getTime()).differing, 0, 'rows at a skipped time are left out')
  })

  test('every SQL panel of the provisioned dashboards has a declared meaning', () => {
    const { panels } = loadSqlPanels()
    assert.equal(panels.length, 9)
    assert.deepEqual(panels.map((p) => p.panel).sort(), PANEL_MEANINGS.map((m) => m.title).sort())
  })
})
