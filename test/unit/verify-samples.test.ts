/**
 * Evidence stays bounded and ordered: every checker keeps at most 20 samples of each class (the
 * counts go on), merged shares keep the first 20 in device order, and lost-per-device lists the worst
 * devices first. The properties never produce more than 20 of a class, so the caps are tested here.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { SetChecker, type StoredReading } from '../../src/verify/completeness.js'
import { OrderChecker } from '../../src/verify/ordering.js'
import { mergeReports, shares } from '../../src/verify/parallel.js'
import type { RunManifest } from '../../src/verify/types.js'
import { UnackedIndex } from '../../src/verify/unacked.js'

const fleet: FleetShape = { farms: 1, cowsPerFarm: 3, stallsPerFarm: 0, tanksPerFarm: 0 }
const PER_DEVICE = 30
const ctx: GeneratorContext = { seed: 7, simStartMs: Date.UTC(2026, 3, 1), fleet }
const manifest: RunManifest = { seed: ctx.seed, simStartMs: ctx.simStartMs, fleet, perDevice: PER_DEVICE, unacked: [], published: 0 }
const devices = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))
const row = (i: number, seq: number, tsShift = 0): StoredReading => {
  const r = generateReading(ctx, devices[i]!, seq)
  return { device: devices[i]!.id, seq, ts: r.ts + tsShift, values: KINDS.collar.fields.map((f) => r.values[f.name]!) }
}

function setReport(rows: readonly StoredReading[], m: RunManifest = manifest) {
  const c = new SetChecker(m, 'collar')
  for (const r of rows) c.add(r)
  return c.finish()
}

describe('evidence caps and order', () => {
  test('25 of each class: counted in full, 20 samples kept, the first ones', () => {
    const rows: StoredReading[] = []
    for (let seq = 0; seq < 25; seq++) rows.push(row(0, seq), row(0, seq)) // 25 duplicates
    for (let seq = 0; seq < 25; seq++) rows.push(row(1, seq, 1)) // 25 corrupted; device 1 loses 25..29
    for (let seq = PER_DEVICE; seq < PER_DEVICE + 25; seq++) rows.push(row(2, seq)) // seqs beyond what was published; device 2 loses all
    rows.push(
      ...Array.from({ length: 25 }, (_, i) => ({ device: `farm99-collar-${String(i).padStart(4, '0')}`, seq: 0, ts: 0, values: [] })),
    )
    rows.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0) || a.seq - b.seq)
    const r = setReport(rows)
    assert.deepEqual([r.counts.duplicated, r.counts.corrupted, r.counts.unexpected, r.counts.lost], [25, 25, 50, 5 + 5 + PER_DEVICE])
    for (const k of ['duplicated', 'corrupted', 'unexpected', 'lost'] as const) assert.equal(r[k].length, 20, k)
    assert.deepEqual(r.duplicated.slice(0, 2), [
      { device: devices[0]!.id, seq: 0 },
      { device: devices[0]!.id, seq: 1 },
    ])
    assert.equal(r.corrupted[19]!.seq, 19)
    assert.equal(r.unexpected[0]!.detail, `seq beyond the ${PER_DEVICE} published`)
    assert.equal(r.unexpected[19]!.seq, PER_DEVICE + 19)
    const strangers = setReport(rows.filter((x) => x.device.startsWith('farm99')))
    assert.deepEqual(
      [strangers.counts.unexpected, strangers.unexpected.length, strangers.unexpected[0]!.detail],
      [25, 20, 'not a device of this run'],
    )
  })

  test('lost per device: worst first', () => {
    // device 0 loses 1, device 1 loses 3, device 2 loses 2
    const keep = (i: number, lost: number) => Array.from({ length: PER_DEVICE - lost }, (_, seq) => row(i, seq))
    const r = setReport([...keep(0, 1), ...keep(1, 3), ...keep(2, 2)])
    assert.deepEqual(r.lostByDevice, [
      [devices[1]!.id, 3],
      [devices[2]!.id, 2],
      [devices[0]!.id, 1],
    ])
  })

  test('OrderChecker: 25 late rows counted, 20 samples, the worst displacement kept', () => {
    const o = new OrderChecker()
    o.add('d', 100)
    for (let seq = 0; seq < 25; seq++) o.add('d', 75 + seq) // all after seq 100
    assert.deepEqual([o.report.rows, o.report.outOfOrder, o.report.worstDisplacement, o.report.samples.length], [26, 25, 25, 20])
    assert.deepEqual(o.report.samples[0], { device: 'd', seq: 75, detail: 'received after seq 100' })
  })

  test('merged shares keep the first 20 samples of each class, in share order', () => {
    const share = (i: number) => {
      const rows: StoredReading[] = []
      for (let seq = 0; seq < 15; seq++) rows.push(row(i, seq), row(i, seq))
      for (let seq = 15; seq < PER_DEVICE; seq++) rows.push(row(i, seq, 1))
      const order = new OrderChecker()
      order.add(devices[i]!.id, 99)
      for (let seq = 0; seq < 15; seq++) order.add(devices[i]!.id, seq)
      return { set: setReport(rows, manifest), order: order.report }
    }
    const m = mergeReports([share(0), share(1)])
    assert.deepEqual(
      [m.set.counts.duplicated, m.set.duplicated.length, m.set.corrupted.length, m.order.outOfOrder, m.order.samples.length],
      [30, 20, 20, 30, 20],
    )
    assert.deepEqual([m.set.duplicated[14]!.device, m.set.duplicated[15]!.device], [devices[0]!.id, devices[1]!.id])
    assert.deepEqual([m.order.samples[14]!.device, m.order.samples[15]!.device], [devices[0]!.id, devices[1]!.id])
  })

  test('unacknowledged ranges: looked up per device, half-open, and totalled', () => {
    const u = new UnackedIndex([
      [0, 3, 5],
      [0, 10, 11],
      [2, 0, 2],
    ])
    assert.equal(u.total, 5)
    assert.deepEqual(
      [2, 3, 4, 5, 9, 10, 11].map((s) => u.has(0, s)),
      [false, true, true, false, false, true, false],
    )
    assert.deepEqual([u.has(1, 3), u.has(2, 0), u.has(2, 2)], [false, true, false])
  })
})

describe('device order and shares', () => {
  test('ids past 9999 cows a farm sort as text, not as the fleet lists them: the checker follows the rows’ order', () => {
    const big: FleetShape = { farms: 1, cowsPerFarm: 10_000, stallsPerFarm: 0, tanksPerFarm: 0 }
    const m: RunManifest = { seed: 1, simStartMs: Date.UTC(2026, 3, 1), fleet: big, perDevice: 1, unacked: [], published: 0 }
    const g: GeneratorContext = { seed: 1, simStartMs: m.simStartMs, fleet: big }
    const stored = [9_999, 9_998].map((i) => deviceAt(big, i)) // farm01-collar-10000 sorts before farm01-collar-9999
    const rows = stored.map((d) => ({
      device: d.id,
      seq: 0,
      ts: generateReading(g, d, 0).ts,
      values: KINDS.collar.fields.map((f) => generateReading(g, d, 0).values[f.name]!),
    }))
    rows.sort((a, b) => (a.device < b.device ? -1 : 1))
    assert.deepEqual(
      rows.map((r) => r.device),
      ['farm01-collar-10000', 'farm01-collar-9999'],
    )
    const c = new SetChecker(m, 'collar')
    for (const r of rows) c.add(r)
    const r = c.finish()
    assert.deepEqual([r.counts.ok, r.counts.lost, r.counts.unexpected], [2, 9_998, 0])
  })

  test('lost per device keeps the 20 worst of 25', () => {
    const wide: FleetShape = { farms: 1, cowsPerFarm: 25, stallsPerFarm: 0, tanksPerFarm: 0 }
    const r = setReport([], { ...manifest, fleet: wide })
    assert.deepEqual([r.counts.lost, r.lostByDevice.length], [25 * PER_DEVICE, 20])
  })

  test('shares cut the sorted ids into contiguous ranges of about equal size, whatever order they come in', () => {
    const ids = ['j', 'c', 'a', 'h', 'b', 'e', 'g', 'd', 'i', 'f']
    assert.deepEqual(shares(ids, 3), [{ hi: 'd' }, { lo: 'd', hi: 'g' }, { lo: 'g' }])
    assert.deepEqual(shares(ids, 2), [{ hi: 'f' }, { lo: 'f' }])
    assert.deepEqual(ids[0], 'j', 'the caller’s list is left as it was')
  })
})
