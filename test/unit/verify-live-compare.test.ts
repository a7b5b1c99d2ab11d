/**
 * P9's comparison of the clients' records with the database (src/verify/live-feed-check.ts,
 * compareClients), case by case with the counts and samples written out: records partly or wholly
 * outside the stored range, gaps at the range's edges, stored seqs with holes, repeats, devices the
 * database does not know, alerts off by count, digest or order, failed clients, and the 20-sample bound.
 * live-feed.property.test.ts checks the same function against a model over generated records.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type pg from 'pg'
import { alertHash, type AlertRecord, type ClientReport, type DeviceRecord } from '../../src/live/client-record.js'
import { checkLive, compareClients, type StoredAlerts, type StoredDevice } from '../../src/verify/live-feed-check.js'
import { deviceRecord } from '../support/live-records.js'

const rec = deviceRecord
const report = (over: Partial<ClientReport> = {}): ClientReport => ({
  client: 0,
  cls: 'steady',
  farms: ['farm01'],
  connects: 1,
  closes: {},
  events: 0,
  cursors: { farm01: 3 },
  ended: true,
  error: null,
  positionFaults: [],
  devices: {},
  alerts: {},
  ...over,
})
const db = (count: number, min: number, max: number): StoredDevice => ({ count, min, max })
const D = 'farm01-collar-0001'
/** One device stored as `stored`, received as `got`. */
const one = (stored: StoredDevice, got: DeviceRecord) =>
  compareClients([report({ devices: { [D]: got } })], new Map([[D, stored]]), new Map())

describe('compareClients: readings', () => {
  test('a record wholly below the stored seqs holds none of them: all missing, all its own unexpected', () => {
    const out = one(db(5, 5, 9), rec(0, 3))
    assert.deepEqual([out.classes.steady.missing, out.classes.steady.unexpected, out.classes.steady.readingsExpected], [5, 4, 5])
    assert.deepEqual(out.missing, [{ client: 0, device: D, seq: 4, detail: '5 of 5 missing' }])
    assert.deepEqual(out.unexpected, [{ client: 0, device: D, seq: 0, detail: '4 readings the database does not hold' }])
  })

  test('a gap inside the stored seqs: missing from its first seq', () => {
    const out = one(db(10, 0, 9), rec(0, 9, { count: 8, gaps: [[3, 4]] }))
    assert.deepEqual(out.missing, [{ client: 0, device: D, seq: 3, detail: '2 of 10 missing' }])
    assert.deepEqual([out.classes.steady.readingsReceived, out.unexpected], [8, []])
  })

  test('a gap wholly below the stored seqs is not where the missing ones start', () => {
    const out = one(db(5, 5, 9), rec(0, 7, { count: 6, gaps: [[1, 2]] }))
    assert.deepEqual(out.missing, [{ client: 0, device: D, seq: 8, detail: '2 of 5 missing' }])
  })

  test('a gap that ends at the lowest stored seq, or starts at the highest, names that seq', () => {
    assert.deepEqual(one(db(5, 5, 9), rec(0, 9, { count: 7, gaps: [[3, 5]] })).missing, [
      { client: 0, device: D, seq: 5, detail: '1 of 5 missing' },
    ])
    const high = one(db(5, 5, 9), rec(5, 12, { count: 5, gaps: [[9, 11]] }))
    assert.deepEqual(high.missing, [{ client: 0, device: D, seq: 9, detail: '1 of 5 missing' }])
    assert.deepEqual(high.unexpected, [{ client: 0, device: D, seq: 10, detail: '1 readings the database does not hold' }])
  })

  test('a record that starts early and ends at the highest stored seq: unexpected from its first seq', () => {
    assert.deepEqual(one(db(5, 5, 9), rec(3, 9)).unexpected, [
      { client: 0, device: D, seq: 3, detail: '2 readings the database does not hold' },
    ])
  })

  test('a record that starts late: missing from the lowest stored seq', () => {
    assert.deepEqual(one(db(5, 5, 9), rec(7, 9)).missing, [{ client: 0, device: D, seq: 5, detail: '2 of 5 missing' }])
  })

  test('stored seqs with holes of their own: compared by count, no seq named', () => {
    const out = one(db(4, 2, 6), rec(2, 6, { count: 3, gaps: [[3, 4]] }))
    assert.deepEqual(out.missing, [{ client: 0, device: D, seq: null, detail: '1 of 4 missing (the stored seqs have holes of their own)' }])
  })

  test('repeats: received again, counted as received and as duplicated, from the first repeat', () => {
    const out = one(db(5, 0, 4), rec(0, 4, { repeats: 2, firstRepeat: 3 }))
    assert.deepEqual([out.classes.steady.readingsReceived, out.classes.steady.duplicated], [7, 2])
    assert.deepEqual(out.duplicated, [{ client: 0, device: D, seq: 3, detail: '2 received again or out of seq order' }])
    assert.deepEqual([out.missing, out.unexpected], [[], []])
  })

  test('a device the database has no reading of, and one it has only alerts of', () => {
    const out = compareClients(
      [report({ devices: { [D]: rec(0, 2) } })],
      new Map(),
      new Map([['farm01-collar-0002', { count: 0, digest: 0, seqs: [] }]]),
    )
    // Only devices the database knows are looked at: the alerts-only device has no readings to expect, and D is unknown.
    assert.deepEqual([out.classes.steady.unexpected, out.classes.steady.readingsExpected], [0, 0])
    const known = compareClients(
      [report({ devices: { [D]: rec(0, 2) } })],
      new Map([['farm01-collar-0002', db(1, 0, 0)]]),
      new Map([[D, { count: 0, digest: 0, seqs: [] }]]),
    )
    assert.deepEqual(known.unexpected, [{ client: 0, device: D, seq: 0, detail: 'a device the database has no readings of' }])
    assert.deepEqual(known.missing, [{ client: 0, device: 'farm01-collar-0002', seq: 0, detail: 'none of 1 readings' }])
    assert.deepEqual([known.classes.steady.unexpected, known.classes.steady.missing], [3, 1])
  })

  test('only the farms a client follows, each device of them once', () => {
    const stored = new Map([
      ['farm01-collar-0001', db(2, 0, 1)],
      ['farm01-collar-0002', db(2, 0, 1)],
      ['farm02-collar-0001', db(2, 0, 1)],
    ])
    const out = compareClients(
      [report({ devices: { 'farm01-collar-0001': rec(0, 1), 'farm01-collar-0002': rec(0, 1) } })],
      stored,
      new Map(),
    )
    assert.deepEqual([out.classes.steady.readingsExpected, out.classes.steady.readingsReceived, out.missing], [4, 4, []])
  })
})

describe('compareClients: alerts', () => {
  const A = (list: Array<[string, string, number]>): StoredAlerts => ({
    count: list.length,
    digest: list.reduce((d, [r, e, s]) => (d + alertHash(r, e, s)) >>> 0, 0),
    seqs: list.map(([, , s]) => s),
  })
  const got = (s: StoredAlerts, over: Partial<AlertRecord> = {}): AlertRecord => ({
    count: s.count,
    digest: s.digest,
    lastSeq: Math.max(-1, ...s.seqs),
    outOfOrder: 0,
    ...over,
  })
  const stored = A([
    ['fever', 'raise', 2],
    ['fever', 'clear', 6],
  ])
  const check = (g: AlertRecord | undefined) =>
    compareClients([report({ alerts: g ? { [D]: g } : {} })], new Map([[D, db(1, 0, 0)]]), new Map([[D, stored]]))

  test('the same alerts: counted on both sides, no mismatch', () => {
    const out = check(got(stored))
    assert.deepEqual([out.classes.steady.alertsExpected, out.classes.steady.alertsReceived, out.classes.steady.alertMismatches], [2, 2, 0])
    assert.deepEqual(out.alertMismatches, [])
  })

  test('a count, a digest or an order off alone is a mismatch, sampled at the first stored alert after the last received', () => {
    const fewer = check(got(stored, { count: 1, digest: alertHash('fever', 'raise', 2), lastSeq: 2 }))
    assert.deepEqual(fewer.alertMismatches, [
      { client: 0, device: D, seq: 6, detail: 'received 1 alert rows (0 out of order), the database has 2' },
    ])
    assert.deepEqual([fewer.classes.steady.alertsReceived, fewer.classes.steady.alertMismatches], [1, 1])
    assert.equal(check(got(stored, { digest: stored.digest + 1 })).classes.steady.alertMismatches, 1)
    assert.equal(check(got(stored, { count: 3 })).classes.steady.alertMismatches, 1, 'the same digest from another count')
    const reordered = check(got(stored, { outOfOrder: 1 }))
    assert.deepEqual(reordered.alertMismatches, [
      { client: 0, device: D, seq: null, detail: 'received 2 alert rows (1 out of order), the database has 2' },
    ])
  })

  test('none received: a mismatch from the first stored alert', () => {
    const out = check(undefined)
    assert.deepEqual(out.alertMismatches, [
      { client: 0, device: D, seq: 2, detail: 'received 0 alert rows (0 out of order), the database has 2' },
    ])
    assert.deepEqual([out.classes.steady.alertsExpected, out.classes.steady.alertsReceived], [2, 0])
  })

  test('alerts the database does not hold are a mismatch too', () => {
    const out = compareClients([report({ alerts: { [D]: got(stored) } })], new Map([[D, db(1, 0, 0)]]), new Map())
    assert.deepEqual([out.classes.steady.alertsExpected, out.classes.steady.alertsReceived, out.classes.steady.alertMismatches], [0, 2, 1])
  })
})

describe('compareClients: clients', () => {
  test('clients and connects per class; a failed, an unfinished and an out-of-position client each named', () => {
    const out = compareClients(
      [
        report({ client: 0 }),
        report({ client: 1, cls: 'reconnecting', connects: 3, error: 'socket hang up' }),
        report({ client: 2, cls: 'reconnecting', connects: 2, ended: false }),
        report({ client: 3, positionFaults: [{ farm: 'farm01', expected: 4, got: 5 }] }),
      ],
      new Map(),
      new Map(),
    )
    assert.deepEqual(
      [out.classes.steady.clients, out.classes.steady.connects, out.classes.reconnecting.clients, out.classes.reconnecting.connects],
      [2, 2, 2, 5],
    )
    assert.deepEqual(out.failedClients, [
      { client: 1, problem: 'socket hang up' },
      { client: 2, problem: 'had not received every event when the run ended (cursors {"farm01":3})' },
      { client: 3, problem: 'farm farm01: a frame started at position 5, expected 4' },
    ])
    assert.deepEqual([out.missing, out.duplicated, out.unexpected, out.alertMismatches], [[], [], [], []])
  })

  test('at most 20 samples of each kind, every one counted', () => {
    const ids = Array.from({ length: 25 }, (_, i) => `farm01-collar-${String(i + 1).padStart(4, '0')}`)
    const stored = new Map(ids.map((d) => [d, db(5, 0, 4)]))
    const none = compareClients([report()], stored, new Map())
    assert.deepEqual([none.classes.steady.missing, none.missing.length], [125, 20])
    const holes = compareClients(
      [report({ devices: Object.fromEntries(ids.map((d) => [d, rec(0, 4, { count: 4, gaps: [[2, 2]] })])) })],
      stored,
      new Map(),
    )
    assert.deepEqual([holes.classes.steady.missing, holes.missing.length], [25, 20])
    const twice = compareClients(
      [report({ devices: Object.fromEntries(ids.map((d) => [d, rec(0, 4, { repeats: 1, firstRepeat: 0 })])) })],
      stored,
      new Map(),
    )
    assert.deepEqual([twice.classes.steady.duplicated, twice.duplicated.length], [25, 20])
    const past = compareClients([report({ devices: Object.fromEntries(ids.map((d) => [d, rec(0, 5)])) })], stored, new Map())
    assert.deepEqual([past.classes.steady.unexpected, past.unexpected.length], [25, 20])
    const unknown = compareClients(
      [report({ devices: Object.fromEntries(ids.map((d) => [d, rec(0, 4)])) })],
      new Map(),
      new Map(ids.map((d) => [d, { count: 0, digest: 0, seqs: [] }])),
    )
    assert.deepEqual([unknown.classes.steady.unexpected, unknown.unexpected.length], [125, 20])
    const alerts = new Map(ids.map((d) => [d, { count: 1, digest: 1, seqs: [0] }]))
    const quiet = compareClients([report({ devices: Object.fromEntries(ids.map((d) => [d, rec(0, 4)])) })], stored, alerts)
    assert.deepEqual([quiet.classes.steady.alertMismatches, quiet.alertMismatches.length], [25, 20])
  })
})

test('checkLive without live clients: P9 not applicable, with the reason', async () => {
  const noDatabase = {} as pg.Client
  for (const live of [undefined, { reports: [] }]) {
    const p = await checkLive(noDatabase, 1, live as never, 1000)
    assert.deepEqual(
      [p.id, p.name, p.pass, p.summary],
      ['P9', 'live feed', true, 'not applicable: no simulated live clients in this run (--live-clients 0), or their records file is gone'],
    )
  }
})
