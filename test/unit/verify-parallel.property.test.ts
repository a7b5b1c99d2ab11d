/**
 * P1–P3 split across threads by ranges of device ids must report exactly what a plain model of the
 * stored rows says — the model, not the checker over the whole kind, is the reference, so a bug the
 * checker shares with itself split in shares still fails here. fast-check builds stored streams with
 * drops, duplicates, corrupted values, unknown devices and out-of-order receipts; each share is checked
 * by its own SetChecker and OrderChecker (as each thread does) and merged (mergeReports), and both the
 * whole-kind report and the merged one must equal the model on every field: counts, samples (device,
 * seq), lost per device, rows, out-of-order count, worst displacement and its samples.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS, KIND_NAMES, type Kind } from '../../src/kinds.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { inRange, SetChecker, type SetReport, type StoredReading } from '../../src/verify/completeness.js'
import { OrderChecker, type OrderReport } from '../../src/verify/ordering.js'
import { mergeReports, shares } from '../../src/verify/parallel.js'
import type { RunManifest } from '../../src/verify/types.js'

const SAMPLES = 20
const byId = (a: { device: string }, b: { device: string }): number => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0)
const at = (x: { device: string; seq: number }): string => `${x.device}#${x.seq}`

/** What the stored rows say, counted directly: per (device, seq) how many copies, corrupted or not. */
function model(ids: readonly string[], perDevice: number, sorted: readonly StoredReading[], received: readonly StoredReading[], corrupt: ReadonlySet<StoredReading>) {
  const known = new Set(ids)
  const copies = new Map<string, StoredReading[]>()
  for (const r of sorted) if (known.has(r.device)) copies.set(at(r), [...(copies.get(at(r)) ?? []), r])
  const lost: Array<{ device: string; seq: number }> = []
  const lostBy = new Map<string, number>()
  const duplicated: string[] = []
  const corrupted: string[] = []
  let ok = 0
  for (const device of [...ids].sort()) {
    for (let seq = 0; seq < perDevice; seq++) {
      const c = copies.get(at({ device, seq })) ?? []
      if (c.length === 0) {
        lost.push({ device, seq })
        lostBy.set(device, (lostBy.get(device) ?? 0) + 1)
        continue
      }
      ok++
      for (let i = 1; i < c.length; i++) duplicated.push(at({ device, seq }))
      if (corrupt.has(c[0]!)) corrupted.push(at({ device, seq })) // the first copy is the one compared
    }
  }
  const unexpected = sorted.filter((r) => !known.has(r.device)).map(at)
  const set = {
    counts: { expected: ids.length * perDevice, ok, lost: lost.length, unacknowledgedLost: 0, recovered: 0, duplicated: duplicated.length, unexpected: unexpected.length, corrupted: corrupted.length },
    lost: lost.slice(0, SAMPLES).map(at), duplicated: duplicated.slice(0, SAMPLES), unexpected: unexpected.slice(0, SAMPLES), corrupted: corrupted.slice(0, SAMPLES),
    lostByDevice: [...lostBy.values()].sort((a, b) => b - a).slice(0, SAMPLES),
  }
  const highest = new Map<string, number>()
  const late: string[] = []
  let worst = 0
  for (const r of received) {
    const h = highest.get(r.device)
    if (h !== undefined && r.seq < h) {
      late.push(at(r))
      worst = Math.max(worst, h - r.seq)
    } else highest.set(r.device, r.seq)
  }
  return { set, order: { rows: received.length, outOfOrder: late.length, worstDisplacement: worst, samples: late.slice(0, SAMPLES) } }
}

/** A report in the model's terms (samples as device#seq; lost per device as its counts, most first). */
const view = (r: { set: SetReport; order: OrderReport }) => ({
  set: {
    counts: r.set.counts,
    lost: r.set.lost.map(at), duplicated: r.set.duplicated.map(at), unexpected: r.set.unexpected.map(at), corrupted: r.set.corrupted.map(at),
    lostByDevice: r.set.lostByDevice.map(([, n]) => n),
  },
  order: { rows: r.order.rows, outOfOrder: r.order.outOfOrder, worstDisplacement: r.order.worstDisplacement, samples: r.order.samples.map(at) },
})

describe('P1–P3 in shares', () => {
  test('the whole-kind report and the merged share reports both equal a model of the stored rows, field by field', () => {
    fc.assert(
      fc.property(
        fc.record({
          cows: fc.integer({ min: 1, max: 9 }), perDevice: fc.integer({ min: 1, max: 6 }), parts: fc.integer({ min: 2, max: 5 }), seed: fc.nat(),
          drop: fc.array(fc.nat(), { maxLength: 8 }), dup: fc.array(fc.nat(), { maxLength: 4 }), corrupt: fc.array(fc.nat(), { maxLength: 3 }),
          swap: fc.array(fc.nat(), { maxLength: 4 }), move: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 2, max: 5 })), { maxLength: 2 }), stranger: fc.boolean(),
        }),
        (s) => {
          const fleet: FleetShape = { farms: 2, cowsPerFarm: s.cows, stallsPerFarm: 1, tanksPerFarm: 1 }
          const ctx: GeneratorContext = { seed: s.seed, simStartMs: Date.UTC(2026, 0, 1), fleet }
          const manifest: RunManifest = { seed: s.seed, simStartMs: ctx.simStartMs, fleet, perDevice: s.perDevice, unacked: [], published: 0 }
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
            if (s.stranger) rows.push({ device: 'farm00-zzz-0001', seq: 0, ts: 0, values: [] }, { device: 'a-stranger', seq: 1, ts: 0, values: [] })
            const sorted = [...rows].sort((a, b) => byId(a, b) || a.seq - b.seq)
            // receive order: by device, seq, with some neighbours swapped and some rows moved later
            const received = [...sorted]
            for (const x of s.swap) {
              const i = x % Math.max(1, received.length - 1)
              if (received[i + 1] && received[i]!.device === received[i + 1]!.device) [received[i], received[i + 1]] = [received[i + 1]!, received[i]!]
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
            const want = model(devices.map((d) => d.id), s.perDevice, sorted, received, corrupt)
            assert.deepEqual(view(check()), want, `${kind}: the whole-kind report`)
            const merged = mergeReports(shares(devices.map((d) => d.id), Math.min(s.parts, devices.length)).map((range) => check(range)))
            assert.deepEqual(view(merged), want, `${kind}: the merged share reports`)
          }
        },
      ),
      { numRuns: 100 },
    )
  })
})
