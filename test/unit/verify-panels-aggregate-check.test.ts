/**
 * P8's aggregate check (src/verify/dashboard-aggregate-check.ts, checkAggregate) without a server: the
 * cursor it declares is served from buckets chosen by each test, built as PostgreSQL's FULL JOIN of the
 * raw rows' buckets with the aggregate's would return them (one row per device and bucket, by device in
 * code-point order, the aggregate's values shipped only where they differ). The oracle's side is the
 * independent bucket model (test/support/bucket-model.ts) over the generator's readings. The SQL itself
 * runs in dashboards-timescaledb.test.ts, too slow to rerun for every mutant.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { SqlSession } from '../../src/db/migrate.js'
import { deviceAt, fleetSize, type Device, type FleetShape } from '../../src/fleet.js'
import { oracleFor } from '../../src/sim/oracle.js'
import { checkAggregate, MISMATCH_SAMPLES } from '../../src/verify/dashboard-aggregate-check.js'
import { AGGREGATES, BUCKET_MS, type AggregateSpec, type Bucket } from '../../src/verify/dashboard-aggregates.js'
import type { RefreshState } from '../../src/verify/dashboard-refresh.js'
import type { RunManifest } from '../../src/verify/types.js'
import { modelBuckets } from '../support/bucket-model.js'

const T0 = Date.UTC(2026, 3, 1, 4, 0, 0)
const collar = AGGREGATES.find((a) => a.kind === 'collar')!
const plainView: RefreshState = { continuous: false, pending: [] }

const manifestOf = (fleet: FleetShape, perDevice: number, unacked: RunManifest['unacked'] = []): RunManifest => ({
  seed: 5,
  // Half a minute in: one reading a minute, each in a bucket of its own (seq n in the bucket T0 + n minutes).
  simStartMs: T0 + 30_000,
  fleet,
  perDevice,
  unacked,
  published: 0,
})
const devicesOf = (m: RunManifest, spec: AggregateSpec): Device[] =>
  Array.from({ length: fleetSize(m.fleet) }, (_, i) => deviceAt(m.fleet, i)).filter((d) => d.kind === spec.kind)

/** The oracle's buckets of one device, by the model (every reading, acknowledged or not). */
const oracles = new WeakMap<RunManifest, ReturnType<typeof oracleFor>>()
const oracleBuckets = (m: RunManifest, spec: AggregateSpec, d: Device): Bucket[] => {
  const o = oracles.get(m) ?? oracleFor(m)
  oracles.set(m, o)
  return modelBuckets(
    spec,
    Array.from({ length: m.perDevice }, (_, seq) => o.expected(d, seq)),
  )
}

interface Stored {
  raw: Bucket[]
  agg: Bucket[]
}

/** The cursor's rows as PostgreSQL computes them from each device's raw and aggregate buckets. */
function cursorRows(k: number, stored: ReadonlyMap<string, Stored>): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = []
  // Device ids are ASCII: JavaScript's order of code units is PostgreSQL's COLLATE "C".
  const ids = [...stored.keys()].sort((a, b) => (a < b ? -1 : 1))
  for (const device of ids) {
    const { raw, agg } = stored.get(device)!
    const times = [...new Set([...raw, ...agg].map((b) => b.t))].sort((a, b) => a - b)
    for (const t of times) {
      const r = raw.find((b) => b.t === t)
      const a = agg.find((b) => b.t === t)
      const same = r !== undefined && a !== undefined && r.values.every((v, i) => Object.is(v, a.values[i]))
      const row: Record<string, unknown> = { device, t, has_raw: r !== undefined, has_agg: a !== undefined, same }
      for (let i = 0; i < k; i++) row[`r${i}`] = r?.values[i] ?? null
      for (let i = 0; i < k; i++) row[`a${i}`] = same ? null : (a?.values[i] ?? null)
      rows.push(row)
    }
  }
  return rows
}

/** A session that serves the declared cursor by FETCH, logs each statement's first word, and fails where asked. */
function cursorSession(rows: ReadonlyArray<Record<string, unknown>>, fail: { on?: string; rollback?: boolean } = {}) {
  const log: string[] = []
  let declared: string | undefined
  let at = 0
  const db: SqlSession = {
    query: (sql: string) => {
      const s = sql.trim()
      const word = s.split(/\s/)[0]!
      log.push(word)
      if (word === fail.on || (word === 'ROLLBACK' && fail.rollback)) return Promise.reject(new Error(`${word} broke on purpose`))
      const fetch = /^FETCH (\d+) FROM (\w+)$/.exec(s)
      if (fetch) {
        assert.equal(fetch[2], declared, 'FETCH reads the declared cursor')
        const out = rows.slice(at, at + Number(fetch[1]))
        at += out.length
        return Promise.resolve({ rows: out })
      }
      const declare = /^DECLARE (\w+) NO SCROLL CURSOR FOR/.exec(s)
      if (declare) declared = declare[1]
      else if (!/^(BEGIN|COMMIT|ROLLBACK)\b/.test(s)) throw new Error(`fake: unexpected ${s}`)
      return Promise.resolve({ rows: [] })
    },
    exec: () => Promise.reject(new Error('fake: exec is not used')),
  }
  return { db, log }
}

/** A sink that records what it is given. */
const recordingSink = () => {
  const added: Array<[string, string, number, ReadonlyArray<number | null>]> = []
  const unchecked: number[] = []
  return {
    added,
    unchecked,
    sink: {
      add: (spec: AggregateSpec, d: Device, b: Bucket) => {
        added.push([spec.view, d.id, b.t, b.values])
        return Promise.resolve()
      },
      unchecked: (t: number) => void unchecked.push(t),
    },
  }
}

const whole = (m: RunManifest, spec: AggregateSpec): Map<string, Stored> =>
  new Map(
    devicesOf(m, spec).map((d) => {
      const b = oracleBuckets(m, spec, d)
      return [d.id, { raw: b, agg: [...b] }]
    }),
  )
const at = (minute: number): string => new Date(T0 + minute * BUCKET_MS).toISOString()
const change = (b: Bucket, column: number, by: number): Bucket => ({
  t: b.t,
  values: b.values.map((v, i) => (i === column ? (v as number) + by : v)),
})

/** checkAggregate of the collar aggregate over `stored`, its session's log aside. */
const checkCollars = (m: RunManifest, stored: ReadonlyMap<string, Stored>, refresh = plainView, cutoffMs?: number) =>
  checkAggregate(cursorSession(cursorRows(collar.columns.length, stored)).db, '"s"', 1, m, collar, refresh, cutoffMs)

describe('checkAggregate', () => {
  test('a run stored whole, every aggregate refreshed: every bucket checked, none differs, each given to the sink', async () => {
    const m = manifestOf({ farms: 2, cowsPerFarm: 2, stallsPerFarm: 1, tanksPerFarm: 1 }, 5)
    for (const spec of AGGREGATES) {
      const stored = whole(m, spec)
      const { db, log } = cursorSession(cursorRows(spec.columns.length, stored))
      const rec = recordingSink()
      const report = await checkAggregate(db, '"s"', 1, m, spec, plainView, undefined, rec.sink)
      const n = devicesOf(m, spec).length * 5
      assert.deepEqual(report, {
        aggregate: spec.view,
        continuous: false,
        oracleBuckets: n,
        aggregateBuckets: n,
        checked: n,
        notRefreshed: 0,
        uncertain: 0,
        pastRetention: 0,
        mismatchCount: 0,
        mismatches: [],
        firstBucket: at(0),
        lastBucket: at(4),
      })
      assert.deepEqual(log, ['BEGIN', 'DECLARE', 'FETCH', 'COMMIT'], 'fewer rows than a batch: one FETCH')
      assert.deepEqual(
        rec.added,
        devicesOf(m, spec).flatMap((d) => oracleBuckets(m, spec, d).map((b) => [spec.view, d.id, b.t, b.values])),
      )
      assert.deepEqual(rec.unchecked, [])
    }
  })

  test('a kind the fleet has none of: nothing to check, and no first or last bucket', async () => {
    const m = manifestOf({ farms: 1, cowsPerFarm: 2, stallsPerFarm: 0, tanksPerFarm: 0 }, 3)
    const milk = AGGREGATES.find((a) => a.kind === 'milk')!
    const report = await checkAggregate(cursorSession([]).db, '"s"', 1, m, milk, plainView, undefined)
    assert.deepEqual(report, {
      aggregate: 'milk_1m',
      continuous: false,
      oracleBuckets: 0,
      aggregateBuckets: 0,
      checked: 0,
      notRefreshed: 0,
      uncertain: 0,
      pastRetention: 0,
      mismatchCount: 0,
      mismatches: [],
    })
  })

  test('an aggregate within the tolerance of the raw rows matches; a count or a maximum must be exact', async () => {
    const m = manifestOf({ farms: 1, cowsPerFarm: 1, stallsPerFarm: 0, tanksPerFarm: 0 }, 3)
    const stored = whole(m, collar)
    const s = stored.get('farm01-collar-0001')!
    const avg = collar.columns.findIndex((c) => c.fn === 'avg')
    const max = collar.columns.findIndex((c) => c.fn === 'max')
    const v = s.raw[1]!.values[avg] as number
    s.agg[1] = change(s.agg[1]!, avg, v * 1e-12)
    s.agg[2] = change(s.agg[2]!, max, 1e-9)
    const report = await checkCollars(m, stored)
    assert.deepEqual(
      report.mismatches.map((x) => [x.against, x.bucket, x.column]),
      [
        ['raw rows', at(2), collar.columns[max]!.column],
        ['oracle', at(2), collar.columns[max]!.column],
      ],
    )
  })

  test('each difference named: a changed or missing aggregate bucket, a lost reading, devices outside the fleet', async () => {
    const m = manifestOf({ farms: 2, cowsPerFarm: 2, stallsPerFarm: 0, tanksPerFarm: 0 }, 4)
    const stored = whole(m, collar)
    const activity = collar.columns.findIndex((c) => c.column === 'activity')
    const a = stored.get('farm01-collar-0001')!
    a.agg[2] = change(a.agg[2]!, activity, 1)
    // And a bucket after the last raw one: the aggregate shows a minute nothing was stored in.
    a.agg.push({ t: T0 + 7 * BUCKET_MS, values: a.agg[0]!.values })
    // A lost reading: no raw bucket, while the aggregate kept it (say, from before the loss).
    const b = stored.get('farm01-collar-0002')!
    b.raw.splice(1, 1)
    const c = stored.get('farm02-collar-0001')!
    c.agg.splice(3, 1)
    // A reading stored with a NULL where the oracle has a value: the raw bucket and the aggregate read NULL.
    const d = stored.get('farm02-collar-0002')!
    const expectedActivity = d.raw[0]!.values[activity]
    const nulled = { t: d.raw[0]!.t, values: d.raw[0]!.values.map((v, i) => (i === activity ? null : v)) }
    d.raw[0] = nulled
    d.agg[0] = nulled
    const foreign = (minutes: number[]) => ({
      raw: [],
      agg: oracleBuckets(m, collar, deviceAt(m.fleet, 0)).filter((x) => minutes.includes((x.t - T0) / BUCKET_MS)),
    })
    stored.set('farm01-collar-0000', foreign([0, 1]))
    stored.set('farm02-collar-0001x', foreign([2]))
    stored.set('farm09-collar-0001', foreign([3]))
    const { db, log } = cursorSession(cursorRows(collar.columns.length, stored))
    const report = await checkAggregate(db, '"s"', 7, m, collar, plainView, undefined)
    const activityOf = (x: Bucket) => x.values[activity]
    /** One mismatch as checkAggregate names it; the farm is the id's first part. */
    const named = (
      aggregate: string,
      device: string,
      against: string,
      bucket: string,
      column: string,
      expected: unknown,
      found: unknown,
    ) => ({
      aggregate,
      device,
      farm: device.split('-')[0],
      against,
      bucket,
      column,
      expected,
      found,
    })
    const outside = (device: string) => named('collar_1m', device, 'oracle', '*', '*', 'no bucket', 1)
    const expected = [
      outside('farm01-collar-0000'),
      named('collar_1m', 'farm01-collar-0001', 'raw rows', at(2), 'activity', activityOf(a.raw[2]!), activityOf(a.agg[2]!)),
      named('collar_1m', 'farm01-collar-0001', 'raw rows', at(7), '*', 'no bucket', 1),
      named('collar_1m', 'farm01-collar-0001', 'oracle', at(2), 'activity', activityOf(a.raw[2]!), activityOf(a.agg[2]!)),
      named('collar_1m', 'farm01-collar-0001', 'oracle', at(7), '*', 'no bucket', 1),
      named('collar_readings', 'farm01-collar-0002', 'oracle', at(1), '*', 1, 'no bucket'),
      named('collar_1m', 'farm01-collar-0002', 'raw rows', at(1), '*', 'no bucket', 1),
      named('collar_1m', 'farm02-collar-0001', 'raw rows', at(3), '*', 1, 'no bucket'),
      named('collar_1m', 'farm02-collar-0001', 'oracle', at(3), '*', 1, 'no bucket'),
      outside('farm02-collar-0001x'),
      named('collar_readings', 'farm02-collar-0002', 'oracle', at(0), 'activity', expectedActivity, null),
      named('collar_1m', 'farm02-collar-0002', 'oracle', at(0), 'activity', expectedActivity, null),
      outside('farm09-collar-0001'),
    ]
    assert.deepEqual(report.mismatches, expected)
    assert.equal(report.mismatchCount, expected.length)
    assert.deepEqual([report.oracleBuckets, report.aggregateBuckets, report.checked], [16, 16, 16])
    assert.deepEqual(log, ['BEGIN', 'DECLARE', 'FETCH', 'COMMIT'])
  })

  test(`more than ${MISMATCH_SAMPLES} differences: the first ${MISMATCH_SAMPLES} named, every one counted`, async () => {
    const m = manifestOf({ farms: 1, cowsPerFarm: 3, stallsPerFarm: 0, tanksPerFarm: 0 }, 6)
    const stored = whole(m, collar)
    for (const s of stored.values()) s.agg = s.agg.map((b) => change(b, 0, 1))
    const report = await checkCollars(m, stored)
    // Every aggregate bucket's count differs from the raw rows' and the oracle's.
    assert.equal(report.mismatchCount, 3 * 6 * 2)
    assert.equal(report.mismatches.length, MISMATCH_SAMPLES)
    assert.deepEqual(
      report.mismatches.slice(0, 3).map((x) => [x.device, x.bucket, x.against, x.expected, x.found]),
      [
        ['farm01-collar-0001', at(0), 'raw rows', 1, 2],
        ['farm01-collar-0001', at(1), 'raw rows', 1, 2],
        ['farm01-collar-0001', at(2), 'raw rows', 1, 2],
      ],
    )
    assert.equal(report.mismatches[MISMATCH_SAMPLES - 1]!.device, 'farm01-collar-0002')
  })

  test('buckets not refreshed, past the retention window or holding an unacknowledged reading: counted apart, left out where they cannot be compared', async () => {
    const fleet = { farms: 1, cowsPerFarm: 4, stallsPerFarm: 0, tanksPerFarm: 0 }
    // Device 1's seqs 2 and 3 were published but never acknowledged, and not stored.
    const m = manifestOf(fleet, 6, [[1, 2, 4]])
    const stored = whole(m, collar)
    for (const [id, s] of stored) {
      // Retention dropped minute 0 from both; minute 2 changed after the last refresh (pending), minutes 4 and 5
      // lie past the watermark: the aggregate shows old values or nothing there.
      const kept = s.raw.filter((b) => b.t !== T0)
      const lost = (t: number) => id === 'farm01-collar-0002' && (t === T0 + 2 * BUCKET_MS || t === T0 + 3 * BUCKET_MS)
      // Device 1's aggregate still shows minute 2 from before (stale: pending), not minute 3.
      s.agg = kept
        .filter((b) => b.t < T0 + 4 * BUCKET_MS && !(lost(b.t) && b.t === T0 + 3 * BUCKET_MS))
        .map((b) => (b.t === T0 + 2 * BUCKET_MS ? change(b, 0, 5) : b))
      s.raw = kept.filter((b) => !lost(b.t))
    }
    const refresh: RefreshState = { continuous: true, watermarkMs: T0 + 4 * BUCKET_MS, pending: [[T0 + 2 * BUCKET_MS, T0 + 2 * BUCKET_MS]] }
    const rec = recordingSink()
    const { db } = cursorSession(cursorRows(collar.columns.length, stored))
    // The cutoff at the end of minute 0: that bucket is wholly past it, minute 1 is not.
    const report = await checkAggregate(db, '"s"', 1, m, collar, refresh, T0 + BUCKET_MS, rec.sink)
    assert.deepEqual(report.mismatches, [])
    assert.deepEqual(
      {
        continuous: report.continuous,
        checked: report.checked,
        notRefreshed: report.notRefreshed,
        pastRetention: report.pastRetention,
        uncertain: report.uncertain,
      },
      { continuous: true, checked: 4 + 3, notRefreshed: 4 * 3, pastRetention: 4, uncertain: 1 },
    )
    assert.deepEqual(
      rec.added.map(([, d, t]) => [d, (t - T0) / BUCKET_MS]),
      [
        ['farm01-collar-0001', 1],
        ['farm01-collar-0001', 3],
        ['farm01-collar-0002', 1],
        ['farm01-collar-0003', 1],
        ['farm01-collar-0003', 3],
        ['farm01-collar-0004', 1],
        ['farm01-collar-0004', 3],
      ],
    )
    assert.deepEqual(
      rec.unchecked.map((t) => (t - T0) / BUCKET_MS),
      [0, 2, 4, 5, 0, 2, 3, 4, 5, 0, 2, 4, 5, 0, 2, 4, 5],
    )
    // The same buckets, a minute of raw rows lost in a checked bucket: found.
    stored.get('farm01-collar-0004')!.raw.splice(0, 1)
    const lost = await checkCollars(m, stored, refresh, T0 + BUCKET_MS)
    assert.deepEqual(
      lost.mismatches.map((x) => [x.device, x.against, x.bucket, x.found]),
      [
        ['farm01-collar-0004', 'oracle', at(1), 'no bucket'],
        ['farm01-collar-0004', 'raw rows', at(1), 1],
      ],
    )
  })

  test('a fleet of 10,000 cows: devices in code-point order (…-10000 before …-1001), rows across two FETCHes', async () => {
    const m = manifestOf({ farms: 1, cowsPerFarm: 10_000, stallsPerFarm: 0, tanksPerFarm: 0 }, 1)
    const stored = whole(m, collar)
    // 10,500 buckets of a device outside the fleet first: the first FETCH (20,000 rows) ends among the fleet's.
    const one = stored.get('farm01-collar-0001')!.raw[0]!
    const outside = Array.from({ length: 10_500 }, (_, i) => ({ t: one.t + i * BUCKET_MS, values: one.values }))
    stored.set('farm01-collar-0000', { raw: [], agg: outside })
    const { db, log } = cursorSession(cursorRows(collar.columns.length, stored))
    const report = await checkAggregate(db, '"s"', 1, m, collar, plainView, undefined)
    assert.deepEqual(
      [report.mismatchCount, report.mismatches[0]?.device, report.checked, report.aggregateBuckets],
      [1, 'farm01-collar-0000', 10_000, 10_000],
    )
    assert.deepEqual(log, ['BEGIN', 'DECLARE', 'FETCH', 'FETCH', 'COMMIT'])
  })

  test('an error inside the check rolls the transaction back and is the one rethrown', async () => {
    const m = manifestOf({ farms: 1, cowsPerFarm: 2, stallsPerFarm: 0, tanksPerFarm: 0 }, 2)
    const rows = cursorRows(collar.columns.length, whole(m, collar))
    const broken = cursorSession(rows, { on: 'FETCH' })
    await assert.rejects(checkAggregate(broken.db, '"s"', 1, m, collar, plainView, undefined), /^Error: FETCH broke on purpose$/)
    assert.deepEqual(broken.log, ['BEGIN', 'DECLARE', 'FETCH', 'ROLLBACK'])
    const both = cursorSession(rows, { on: 'FETCH', rollback: true })
    await assert.rejects(checkAggregate(both.db, '"s"', 1, m, collar, plainView, undefined), /^Error: FETCH broke on purpose$/)
  })
})
