/**
 * P1–P3 split across threads by ranges of device ids must report exactly what one checker over the
 * whole kind reports: fast-check builds stored streams with drops, duplicates, unknown devices and
 * out-of-order receipts, splits them with `shares`, checks each share with its own SetChecker and
 * OrderChecker (as each thread does) and merges.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS, KIND_NAMES, type Kind } from '../../src/kinds.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { inRange, SetChecker, type StoredReading } from '../../src/verify/completeness.js'
import { OrderChecker } from '../../src/verify/ordering.js'
import { mergeReports, shares } from '../../src/verify/parallel.js'
import type { RunManifest } from '../../src/verify/types.js'

const byId = (a: { device: string }, b: { device: string }): number => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0)

describe('P1–P3 in shares', () => {
  test('merged share reports equal the whole-kind report', () => {
    fc.assert(
      fc.property(
        fc.record({ cows: fc.integer({ min: 1, max: 9 }), perDevice: fc.integer({ min: 1, max: 6 }), parts: fc.integer({ min: 2, max: 5 }), seed: fc.nat(), drop: fc.array(fc.nat(), { maxLength: 8 }), dup: fc.array(fc.nat(), { maxLength: 4 }), swap: fc.array(fc.nat(), { maxLength: 4 }), stranger: fc.boolean() }),
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
            for (const x of s.dup) if (rows.length) rows.push(rows[x % rows.length]!)
            if (s.stranger) rows.push({ device: 'farm00-zzz-0001', seq: 0, ts: 0, values: [] }, { device: 'a-stranger', seq: 1, ts: 0, values: [] })
            const sorted = [...rows].sort((a, b) => byId(a, b) || a.seq - b.seq)
            // receive order: by device, seq, with some neighbours swapped
            const received = [...sorted]
            for (const x of s.swap) {
              const i = x % Math.max(1, received.length - 1)
              if (received[i + 1] && received[i]!.device === received[i + 1]!.device) [received[i], received[i + 1]] = [received[i + 1]!, received[i]!]
            }
            const check = (range = {}) => {
              const set = new SetChecker(manifest, kind, range)
              for (const r of sorted) if (inRange(r.device, range)) set.add(r)
              const order = new OrderChecker()
              for (const r of received) if (inRange(r.device, range)) order.add(r.device, r.seq)
              return { set: set.finish(), order: order.report }
            }
            const whole = check()
            const merged = mergeReports(shares(devices.map((d) => d.id), Math.min(s.parts, devices.length)).map((range) => check(range)))
            assert.deepEqual(merged.set.counts, whole.set.counts)
            for (const k of ['lost', 'duplicated', 'unexpected', 'corrupted'] as const) assert.deepEqual(merged.set[k], whole.set[k], k)
            assert.deepEqual(merged.order.outOfOrder, whole.order.outOfOrder)
            assert.deepEqual(merged.order.samples, whole.order.samples)
            assert.deepEqual(new Set(merged.set.lostByDevice.map(([, n]) => n)), new Set(whole.set.lostByDevice.map(([, n]) => n)))
          }
        },
      ),
      { numRuns: 100 },
    )
  })
})
