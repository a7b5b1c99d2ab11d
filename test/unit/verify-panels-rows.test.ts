/**
 * P8's panel comparison (src/verify/dashboard-panels.ts) case by case: which result columns are keys and
 * which are numbers, how rows pair up, the tolerance on both sides of its boundary, what a difference
 * shows; FarmSeries (a panel's meaning, accumulated per farm and minute) against a plain model; and
 * which of the dashboards' tables a filled query reads.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { REL_TOLERANCE } from '../../src/verify/dashboard-aggregates.js'
import { comparePanelRows, FarmSeries, tablesRead, type PanelMeaning } from '../../src/verify/dashboard-panels.js'

type Row = Record<string, unknown>
const never = (): boolean => false
const t1 = new Date('2026-11-23T04:30:00Z')
const t2 = new Date('2026-11-23T04:31:00Z')
const diffs = (found: Row[], expected: Row[], skip: (t: number) => boolean = never) =>
  comparePanelRows(found, expected, skip).differences.map((d) => [d.row, d.expected, d.found])

describe('comparePanelRows: keys and numbers', () => {
  test('numbers, bigints and numeric text are numbers, compared within the tolerance', () => {
    assert.deepEqual(diffs([{ metric: 'a', v: '12.000000000001', n: 7n }], [{ metric: 'a', v: 12, n: '7' }]), [])
    assert.deepEqual(diffs([{ metric: 'a', v: ' 12 ' }], [{ metric: 'a', v: 13 }]), [['a', '13', '12']])
  })

  test('a column is numbers only if every row of its side has a number there; otherwise it is a key', () => {
    assert.deepEqual(
      diffs(
        [
          { metric: 'a', v: '1.0' },
          { metric: 'b', v: 'x' },
        ],
        [
          { metric: 'a', v: '1' },
          { metric: 'b', v: 'x' },
        ],
      ),
      [
        ['a | 1', '', 'no row'],
        ['a | 1.0', 'no row', ''],
      ],
    )
  })

  test('blank text, Infinity, NaN and booleans are text, not numbers', () => {
    assert.deepEqual(diffs([{ metric: 'a', v: ' ' }], [{ metric: 'a', v: '0' }]), [
      ['a', '0', 'no row'],
      ['a |  ', 'no row', ''],
    ])
    assert.deepEqual(diffs([{ metric: 'a', v: 'Infinity', w: 'NaN' }], [{ metric: 'a', v: 'Infinity', w: 'NaN' }]), [])
    assert.deepEqual(diffs([{ metric: 'a', v: true }], [{ metric: 'a', v: 1 }]), [
      ['a', '1', 'no row'],
      ['a | true', 'no row', ''],
    ])
  })

  test('time and metric columns are keys even when they hold numbers', () => {
    assert.deepEqual(diffs([{ time: 60, metric: '1', v: 5 }], [{ time: 60, metric: '1.0', v: 5 }]), [
      ['60 | 1', 'no row', '5'],
      ['60 | 1.0', '5', 'no row'],
    ])
    assert.deepEqual(diffs([{ time: '60', metric: 'a', v: 5 }], [{ time: '60.0', metric: 'a', v: 5 }]), [
      ['60 | a', 'no row', '5'],
      ['60.0 | a', '5', 'no row'],
    ])
  })

  test('a NULL key is shown as NULL and differs from empty text; a NULL number equals only NULL', () => {
    assert.deepEqual(diffs([{ metric: null, v: 1 }], [{ metric: '', v: 1 }]), [
      ['', '1', 'no row'],
      ['NULL', 'no row', '1'],
    ])
    assert.deepEqual(
      diffs(
        [
          { metric: 'a', v: null, w: 1 },
          { metric: 'b', v: 0, w: null },
          { metric: 'c', v: null, w: 2 },
        ],
        [
          { metric: 'a', v: 0, w: 1 },
          { metric: 'b', v: null, w: null },
          { metric: 'c', v: null, w: 2 },
        ],
      ),
      [
        ['a', '0, 1', 'null, 1'],
        ['b', 'null, null', '0, null'],
      ],
    )
  })

  test('rows with more or fewer numbers than their pair differ', () => {
    assert.deepEqual(diffs([{ metric: 'a', v: 1, w: 2 }], [{ metric: 'a', v: 1 }]), [['a', '1', '1, 2']])
    assert.deepEqual(diffs([{ metric: 'a', v: 1 }], [{ metric: 'a', v: 1, w: 2 }]), [['a', '1, 2', '1']])
  })
})

describe('comparePanelRows: pairing, skipping, tolerance, limits', () => {
  test('rows pair up by their keys whatever their order on each side', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.constantFrom('farm01', 'farm02', 'farm10', 'Farm', 'f'), fc.integer({ min: 0, max: 5 })), {
          selector: ([m, k]) => `${m}/${k}`,
          minLength: 1,
        }),
        fc.nat(),
        (keys, seed) => {
          const rows = keys.map(([metric, k]) => ({ time: new Date(k * 60_000), metric, value: k * 10 + metric.length }))
          const shuffled = [...rows].sort((a, b) => ((a.value * 7919 + seed) % 13) - ((b.value * 7919 + seed) % 13) || 1)
          const r = comparePanelRows(shuffled, rows, never)
          assert.deepEqual([r.differing, r.compared], [0, rows.length])
          const changed = rows.map((x, i) => (i === seed % rows.length ? { ...x, value: x.value + 1 } : x))
          assert.equal(comparePanelRows(shuffled, changed, never).differing, 1)
        },
      ),
    )
  })

  test('the first Date column is the row time that skipTime judges; rows without one are always compared', () => {
    const found = [{ time: t1, at: t2, metric: 'a', v: 1 }]
    assert.equal(comparePanelRows(found, [], (t) => t === t1.getTime()).differing, 0)
    assert.equal(comparePanelRows(found, [], (t) => t === t2.getTime()).differing, 1)
    assert.deepEqual(diffs(found, []), [['2026-11-23T04:30:00.000Z | 2026-11-23T04:31:00.000Z | a', 'no row', '1']])
    assert.equal(comparePanelRows([], found, (t) => t === t1.getTime()).differing, 0, 'on the expected side as well')
    const r = comparePanelRows([{ metric: 'a', v: 1 }], [{ metric: 'b', v: 1 }], () => true)
    assert.deepEqual([r.differing, r.compared], [2, 1])
  })

  test('compared counts the larger side, after the skipped rows are left out', () => {
    const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ time: new Date((from + i) * 60_000), metric: 'a', v: 1 }))
    assert.equal(comparePanelRows(rows(3), rows(5), never).compared, 5)
    assert.equal(comparePanelRows(rows(6), rows(2), never).compared, 6)
    assert.equal(comparePanelRows(rows(6), rows(2), (t) => t >= 3 * 60_000).compared, 3)
  })

  test('numbers within |a − b| ≤ 1e-9 × max(1, |a|, |b|) match, on both sides of the boundary', () => {
    const same = (x: number, y: number) => comparePanelRows([{ metric: 'a', v: y }], [{ metric: 'a', v: x }], never).differing === 0
    assert.equal(same(1000, 1000 + 0.9e-6), true)
    assert.equal(same(1000, 1000 + 1.1e-6), false)
    assert.equal(same(1000 + 1.1e-6, 1000), false)
    assert.equal(same(-1000, -1000 - 0.9e-6), true)
    assert.equal(same(-1000, -1000 - 1.1e-6), false)
    assert.equal(same(-1000 - 0.9e-6, -1000), true)
    assert.equal(same(0.001, 0.001 + 0.9 * REL_TOLERANCE), true)
    assert.equal(same(0.001, 0.001 + 1.1 * REL_TOLERANCE), false)
    assert.equal(same(0.001 + 1.1 * REL_TOLERANCE, 0.001), false)
    assert.equal(same(0, REL_TOLERANCE), true, 'exactly at the boundary')
  })

  test('every difference is counted; the first `limit` (5 unless given) are listed in key order', () => {
    const rows = (v: number) => Array.from({ length: 7 }, (_, i) => ({ metric: `m${i}`, v }))
    const r = comparePanelRows(rows(1), rows(2), never)
    assert.equal(r.differing, 7)
    assert.deepEqual(
      r.differences.map((d) => d.row),
      ['m0', 'm1', 'm2', 'm3', 'm4'],
    )
    const two = comparePanelRows(rows(1), rows(2), never, 2)
    assert.deepEqual([two.differing, two.differences.length], [7, 2])
  })
})

describe('FarmSeries', () => {
  const meaning = (across: PanelMeaning['across'], scale?: number): PanelMeaning => ({
    title: 't',
    sources: [
      { view: 'collar_1m', column: 'readings' },
      { view: 'milk_1m', column: 'yield_kg' },
    ],
    across,
    ...(scale !== undefined && { scale }),
  })

  test('reads exactly the (view, column) pairs of its sources', () => {
    const s = new FarmSeries(meaning('sum'))
    assert.deepEqual(
      [
        s.reads('collar_1m', 'readings'),
        s.reads('milk_1m', 'yield_kg'),
        s.reads('collar_1m', 'yield_kg'),
        s.reads('milk_1m', 'readings'),
        s.reads('chiller_1m', 'readings'),
      ],
      [true, true, false, false, false],
    )
  })

  test('per farm and minute: the mean, sum or maximum of the devices’ values (NULLs left out), times the scale', () => {
    const value = fc.oneof(fc.constant(null), fc.integer({ min: -1000, max: 1000 }))
    const add = fc.record({ farm: fc.constantFrom('farm01', 'farm02', 'farm03'), minute: fc.integer({ min: 0, max: 3 }), value })
    fc.assert(
      fc.property(
        fc.array(add, { maxLength: 40 }),
        fc.constantFrom('avg', 'sum', 'max'),
        fc.constantFrom(undefined, 60),
        (adds, across, scale) => {
          const s = new FarmSeries(meaning(across, scale))
          for (const a of adds) s.add(a.farm, a.minute * 60_000, a.value)
          const groups = [...new Set(adds.map((a) => `${a.farm}/${a.minute}`))]
          const model = groups.map((g) => {
            const [farm, minute] = g.split('/') as [string, string]
            const xs = adds.filter((a) => `${a.farm}/${a.minute}` === g && a.value !== null).map((a) => a.value as number)
            const sum = xs.reduce((p, x) => p + x, 0)
            const v = xs.length === 0 ? null : { avg: sum / xs.length, sum, max: Math.max(...xs) }[across]
            return { time: new Date(Number(minute) * 60_000), metric: farm, value: v === null ? null : v * (scale ?? 1) }
          })
          const order = (rows: Row[]) => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
          assert.deepEqual(order(s.rows()), order(model))
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('tablesRead', () => {
  test('the schema’s tables a query reads, each once, in order of appearance; the schema matched as text', () => {
    const sql = 'SELECT * FROM "s.1".collar_1m a JOIN "s.1".runs r ON true JOIN "sx1".milk_1m m ON true JOIN "s.1".runs q ON true, s.1.x'
    assert.deepEqual(tablesRead(sql, '"s.1"'), ['collar_1m', 'runs'])
    assert.deepEqual(tablesRead('SELECT 1 FROM pg_temp.collar_1m, pg_temp.chiller_1m', 'pg_temp'), ['collar_1m', 'chiller_1m'])
    assert.deepEqual(tablesRead('SELECT 1 FROM "$x".t', '"$x"'), ['t'])
    assert.deepEqual(tablesRead('SELECT 1 FROM "a.bxc".u, "a.b.c".t', '"a.b.c"'), ['t'])
    assert.deepEqual(tablesRead('SELECT 1', 'pg_temp'), [])
  })
})
