/**
 * P1–P3 split across threads by ranges of device ids must report exactly what a plain model of the
 * stored rows says — the model, not the checker over the whole kind, is the reference, so a bug the
 * checker shares with itself split in shares still fails here. fast-check builds stored streams with
 * drops, duplicates, corrupted values, unknown devices and out-of-order receipts; each share is checked
 * by its own SetChecker and OrderChecker (as each thread does) and merged (mergeReports), and both the
 * whole-kind report and the merged one must equal the model on every field: counts (never-acknowledged
 * readings lost or recovered included), samples with their details, lost per device (ids and counts),
 * rows, out-of-order count, worst displacement and its samples.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { deviceAt, fleetSize, type Device, type FleetShape } from '../../src/fleet.js'
import { KINDS, KIND_NAMES, type Kind } from '../../src/kinds.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { inRange, SetChecker, type SetReport, type StoredReading } from '../../src/verify/completeness.js'
import { OrderChecker, type OrderReport } from '../../src/verify/ordering.js'
import { mergeReports, shares } from '../../src/verify/parallel.js'
import type { RunManifest, Sample } from '../../src/verify/types.js'
import type { UnackedRange } from '../../src/sim/messages.js'

const SAMPLES = 20
const byId = (a: { device: string }, b: { device: string }): number => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0)
const at = (x: { device: string; seq: number }): string => `${x.device}#${x.seq}`

/**
 * What the stored rows say, counted directly: per (device, seq) how many copies, corrupted or not, and
 * whether the seq was ever acknowledged (a never-acknowledged reading missing is not lost; stored, it
 * is recovered). Corruption here is always ts + 1.
 */
function model(
  devices: readonly Device[],
  perDevice: number,
  unacked: readonly UnackedRange[],
  sorted: readonly StoredReading[],
  received: readonly StoredReading[],
  corrupt: ReadonlySet<StoredReading>,
) {
  const known = new Set(devices.map((d) => d.id))
  const copies = new Map<string, StoredReading[]>()
  for (const r of sorted) if (known.has(r.device) && r.seq < perDevice) copies.set(at(r), [...(copies.get(at(r)) ?? []), r])
  const neverAcked = (d: Device, seq: number): boolean => unacked.some(([i, from, to]) => i === d.index && from <= seq && seq < to)
  const lost: Sample[] = []
  const lostBy = new Map<string, number>()
  const duplicated: Sample[] = []
  const corrupted: Sample[] = []
  let ok = 0
  let recovered = 0
  let unacknowledgedLost = 0
  for (const d of [...devices].sort((a, b) => byId({ device: a.id }, { device: b.id }))) {
    const device = d.id
    for (let seq = 0; seq < perDevice; seq++) {
      const c = copies.get(at({ device, seq })) ?? []
      if (c.length === 0) {
        if (neverAcked(d, seq)) unacknowledgedLost++
        else {
          lost.push({ device, seq })
          lostBy.set(device, (lostBy.get(device) ?? 0) + 1)
        }
        continue
      }
      if (neverAcked(d, seq)) recovered++
      else ok++
      for (let i = 1; i < c.length; i++) duplicated.push({ device, seq })
      // the first copy is the one compared
      if (corrupt.has(c[0]!)) corrupted.push({ device, seq, detail: `ts ${c[0]!.ts} ≠ expected ${c[0]!.ts - 1}` })
    }
  }
  const unexpected: Sample[] = sorted
    .filter((r) => !known.has(r.device) || r.seq >= perDevice)
    .map((r) => ({
      device: r.device,
      seq: r.seq,
      detail: known.has(r.device) ? `seq beyond the ${perDevice} published` : 'not a device of this run',
    }))
  const set: SetReport = {
    counts: {
      expected: devices.length * perDevice,
      ok,
      lost: lost.length,
      unacknowledgedLost,
      recovered,
      duplicated: duplicated.length,
      unexpected: unexpected.length,
      corrupted: corrupted.length,
    },
    lost: lost.slice(0, SAMPLES),
    duplicated: duplicated.slice(0, SAMPLES),
    unexpected: unexpected.slice(0, SAMPLES),
    corrupted: corrupted.slice(0, SAMPLES),
    // most first; among equals, in device order
    lostByDevice: [...lostBy.entries()].sort((a, b) => b[1] - a[1]).slice(0, SAMPLES),
  }
  const highest = new Map<string, number>()
  const late: Sample[] = []
  let worst = 0
  for (const r of received) {
    const h = highest.get(r.device)
    if (h !== undefined && r.seq < h) {
      late.push({ device: r.device, seq: r.seq, detail: `received after seq ${h}` })
      worst = Math.max(worst, h - r.seq)
    } else highest.set(r.device, r.seq)
  }
  const order: OrderReport = { rows: received.length, outOfOrder: late.length, worstDisplacement: worst, samples: late.slice(0, SAMPLES) }
  return { set, order }
}

describe('P1–P3 in shares', () => {
  test('the whole-kind report and the merged share reports both equal a model of the stored rows, field by field', () => {
    fc.assert(
      fc.property(
        fc.record({
          cows: fc.integer({ min: 1, max: 9 }),
          perDevice: fc.integer({ min: 1, max: 6 }),
          parts: fc.integer({ min: 2, max: 5 }),
          seed: fc.nat(),
          drop: fc.array(fc.nat(), { maxLength: 8 }),
          dup: fc.array(fc.nat(), { maxLength: 4 }),
          corrupt: fc.array(fc.nat(), { maxLength: 3 }),
          swap: fc.array(fc.nat(), { maxLength: 4 }),
          move: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 2, max: 5 })), { maxLength: 2 }),
          stranger: fc.boolean(),
          beyond: fc.boolean(),
          unacked: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 3 })), { maxLength: 3 }),
        }),
        (s) => {
          const fleet: FleetShape = { farms: 2, cowsPerFarm: s.cows, stallsPerFarm: 1, tanksPerFarm: 1 }
          const ctx: GeneratorContext = { seed: s.seed, simStartMs: Date.UTC(2026, 0, 1), fleet }
          const unacked: UnackedRange[] = s.unacked.map(([d, from, n]) => [
            d % fleetSize(fleet),
            from % s.perDevice,
            (from % s.perDevice) + n,
          ])
          const manifest: RunManifest = { seed: s.seed, simStartMs: ctx.simStartMs, fleet, perDevice: s.perDevice, unacked, published: 0 }
          for (const kind of KIND_NAMES as readonly Kind[]) {
            const devices = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i)).filter((d) => d.kind === kind)
            let rows: StoredReading[] = []
            for (const d of devices) {
              for (let seq = 0; seq < s.perDevice; seq++) {
                const r = generateReading(ctx, d, seq)
                rows.push({ device: d.id, seq, ts: r.ts, values: KINDS[kind].fields.map((f) => r.values[f.name]!) })
              }
            }
            const drop = new Set(s.drop.map((x) => x % rows.length))
            rows = rows.filter((_, i) => !drop.has(i))
            const corrupt = new Set<StoredReading>()
            for (const x of s.corrupt) {
              if (!rows.length) break
              const i = x % rows.length
              if (corrupt.has(rows[i]!)) continue
              rows[i] = { ...rows[i]!, ts: rows[i]!.ts + 1 }
              corrupt.add(rows[i]!)
            }
            for (const x of s.dup) if (rows.length) rows.push(rows[x % rows.length]!)
            if (s.beyond && rows.length) rows.push({ ...rows[0]!, seq: s.perDevice })
            if (s.stranger)
              rows.push({ device: 'farm00-zzz-0001', seq: 0, ts: 0, values: [] }, { device: 'a-stranger', seq: 1, ts: 0, values: [] })
            const sorted = [...rows].sort((a, b) => byId(a, b) || a.seq - b.seq)
            // receive order: by device, seq, with some neighbours swapped and some rows moved later
            const received = [...sorted]
            for (const x of s.swap) {
              const i = x % Math.max(1, received.length - 1)
              if (received[i + 1] && received[i]!.device === received[i + 1]!.device)
                [received[i], received[i + 1]] = [received[i + 1]!, received[i]!]
            }
            for (const [x, by] of s.move) {
              const i = x % Math.max(1, received.length)
              const j = Math.min(received.length - 1, i + by)
              if (received[i] && received[j]?.device === received[i]!.device) received.splice(j, 0, ...received.splice(i, 1))
            }
            const check = (range = {}) => {
              const set = new SetChecker(manifest, kind, range)
              for (const r of sorted) if (inRange(r.device, range)) set.add(r)
              const order = new OrderChecker()
              for (const r of received) if (inRange(r.device, range)) order.add(r.device, r.seq)
              return { set: set.finish(), order: order.report }
            }
            const want = model(devices, s.perDevice, unacked, sorted, received, corrupt)
            assert.deepEqual(check(), want, `${kind}: the whole-kind report`)
            const merged = mergeReports(
              shares(
                devices.map((d) => d.id),
                Math.min(s.parts, devices.length),
              ).map((range) => check(range)),
            )
            assert.deepEqual(merged, want, `${kind}: the merged share reports`)
          }
        },
      ),
      { numRuns: 100 },
    )
  })
})
