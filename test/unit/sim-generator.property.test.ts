/**
 * The sensor models: determinism across worker splits and generation order (byte-identical payloads),
 * ground-truth anomaly windows that are deterministic and inside the run, and anomalies that visibly
 * change the values in their windows.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { deviceAt, fleetSize, type Device, type FleetShape } from '../../src/fleet.js'
import { anomaliesAt, anomalyWindows, offlineIntervals } from '../../src/sim/anomalies.js'
import { nominalTime, SEQS_PER_DAY, type GeneratorContext } from '../../src/sim/context.js'
import { healthy } from '../../src/sim/farm-day.js'
import { cowTraits, encodePayload, generateReading, milkingAt, STUCK_FIELD } from '../../src/sim/generator.js'
import { ANOMALIES, deepMerge, loadSensorModels, type SensorModels } from '../../src/sim/models.js'
import { splitRange } from '../../src/util/shares.js'

/** The shipped models with every anomaly frequent, so short streams hit them. */
function frequent(perDay: number): SensorModels {
  const on = (kind: keyof SensorModels): Record<string, { perDay: number }> =>
    Object.fromEntries((ANOMALIES[kind] as readonly string[]).map((a) => [a, { perDay }]))
  return loadSensorModels({ collar: { anomalies: on('collar') }, milk: { anomalies: on('milk') }, chiller: { anomalies: on('chiller') } })
}
const NOISY = frequent(6)
const HEALTHY = healthy(NOISY)

const fleetArb: fc.Arbitrary<FleetShape> = fc.record({
  farms: fc.integer({ min: 1, max: 3 }),
  cowsPerFarm: fc.integer({ min: 1, max: 8 }),
  stallsPerFarm: fc.integer({ min: 1, max: 3 }),
  tanksPerFarm: fc.integer({ min: 1, max: 2 }),
})
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 })
const startArb = fc.integer({ min: 0, max: 3650 }).map((d) => Date.UTC(2020, 0, 1) + d * 86_400_000)
const hourArb = fc.constantFrom(0, 4.5, 15.75)
const devicesOf = (fleet: FleetShape): Device[] => Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))

describe('sensor models: same seed, byte-identical payloads', () => {
  test('whatever the worker split and generation order', () => {
    fc.assert(
      fc.property(
        fleetArb,
        seedArb,
        startArb,
        hourArb,
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 5000 }),
        (fleet, seed, simStartMs, startHour, perDevice, parts, offset) => {
          const ctx: GeneratorContext = {
            seed,
            simStartMs,
            fleet,
            models: NOISY,
            startHour,
            outages: [{ fromSeq: 3, toSeq: 9, share: 0.5 }],
          }
          const n = fleetSize(fleet)
          const bytes = (c: GeneratorContext, i: number, seq: number): string =>
            encodePayload(generateReading(c, deviceAt(fleet, i), seq + offset), 1)
          const forward: string[] = []
          for (let i = 0; i < n; i++) for (let seq = 0; seq < perDevice; seq++) forward.push(bytes(ctx, i, seq))
          // Each share in its own fresh context (as a worker thread gets a structured clone), seq-major as the worker publishes.
          for (const [from, to] of splitRange(n, parts).reverse()) {
            const clone = structuredClone(ctx)
            for (let seq = perDevice - 1; seq >= 0; seq--) {
              for (let i = to - 1; i >= from; i--)
                assert.equal(bytes(clone, i, seq), forward[i * perDevice + seq], `device ${i} seq ${seq}`)
            }
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  test('models from the files and the same models passed in give the same stream; another seed does not', () => {
    const fleet: FleetShape = { farms: 1, cowsPerFarm: 4, stallsPerFarm: 1, tanksPerFarm: 1 }
    const a: GeneratorContext = { seed: 5, simStartMs: Date.UTC(2026, 0, 1), fleet }
    const b: GeneratorContext = { ...a, models: loadSensorModels() }
    const c: GeneratorContext = { ...a, seed: 6 }
    for (const d of devicesOf(fleet)) {
      const s = (x: GeneratorContext): string => Array.from({ length: 30 }, (_, seq) => encodePayload(generateReading(x, d, seq), 0)).join()
      assert.equal(s(a), s(b))
      assert.notEqual(s(a), s(c))
    }
  })
})

describe('anomaly ground truth', () => {
  test('windows are deterministic, of the device’s kinds, inside [0, perDevice), and are what anomaliesAt sees', () => {
    fc.assert(
      fc.property(fleetArb, seedArb, fc.integer({ min: 1, max: 3 * SEQS_PER_DAY }), fc.nat(), (fleet, seed, perDevice, pick) => {
        const ctx: GeneratorContext = { seed, simStartMs: 0, fleet, models: NOISY, outages: [{ fromSeq: 10, toSeq: 50, share: 0.3 }] }
        const d = deviceAt(fleet, pick % fleetSize(fleet))
        const w = anomalyWindows(ctx, d, perDevice)
        assert.deepEqual(anomalyWindows({ ...ctx }, deviceAt(fleet, d.index), perDevice), w, 'a fresh context gives the same windows')
        for (const x of w) {
          assert.ok((ANOMALIES[d.kind] as readonly string[]).includes(x.kind), `${x.kind} is not a ${d.kind} anomaly`)
          assert.ok(
            x.fromSeq >= 0 && x.fromSeq < x.toSeq && x.toSeq <= perDevice,
            `window [${x.fromSeq}, ${x.toSeq}) outside [0, ${perDevice})`,
          )
          if (x.source === 'model' && x.toSeq < perDevice) {
            const spec = (NOISY[d.kind].anomalies as Record<string, { minutes: readonly [number, number] }>)[x.kind]!
            assert.ok(
              x.toSeq - x.fromSeq >= Math.round(spec.minutes[0]) && x.toSeq - x.fromSeq <= Math.round(spec.minutes[1]),
              `${x.kind} lasts ${x.toSeq - x.fromSeq} min`,
            )
          }
        }
        // anomaliesAt agrees with the windows at a sample of seqs.
        for (let seq = 0; seq < perDevice; seq += Math.max(1, Math.floor(perDevice / 50))) {
          const at = anomaliesAt(ctx, d, seq)
            .map((x) => `${x.kind}@${x.fromSeq}`)
            .sort()
          const expected = w
            .filter((x) => x.fromSeq <= seq && seq < x.toSeq)
            .map((x) => `${x.kind}@${x.fromSeq}`)
            .sort()
          assert.deepEqual(at, expected, `seq ${seq}`)
        }
      }),
      { numRuns: 150 },
    )
  })

  test('rates come from the models: none when every rate is 0, about perDay × days otherwise', () => {
    const fleet: FleetShape = { farms: 1, cowsPerFarm: 50, stallsPerFarm: 5, tanksPerFarm: 5 }
    const days = 20
    const quiet: GeneratorContext = { seed: 1, simStartMs: 0, fleet, models: HEALTHY }
    const busy: GeneratorContext = { seed: 1, simStartMs: 0, fleet, models: frequent(2) }
    let total = 0
    let kinds = 0
    for (const d of devicesOf(fleet)) {
      assert.equal(anomalyWindows(quiet, d, days * SEQS_PER_DAY).length, 0)
      // stuck windows that would hide a fever or a chiller failure are dropped: count the others
      total += anomalyWindows(busy, d, days * SEQS_PER_DAY).filter((w) => w.kind !== 'stuck').length
      kinds += ANOMALIES[d.kind].length - 1
    }
    const expected = kinds * 2 * days
    assert.ok(Math.abs(total - expected) < expected * 0.05, `${total} windows, expected about ${expected}`)
  })

  test('a fleet outage takes about its share of the devices offline for exactly its seqs', () => {
    const fleet: FleetShape = { farms: 10, cowsPerFarm: 60, stallsPerFarm: 4, tanksPerFarm: 1 }
    const ctx: GeneratorContext = { seed: 3, simStartMs: 0, fleet, models: HEALTHY, outages: [{ fromSeq: 100, toSeq: 160, share: 0.25 }] }
    const offline = devicesOf(fleet).filter((d) => {
      const i = offlineIntervals(ctx, d, 500)
      if (i.length) assert.deepEqual(i, [[100, 160]])
      return i.length > 0
    }).length
    assert.ok(Math.abs(offline / fleetSize(fleet) - 0.25) < 0.05, `${offline} of ${fleetSize(fleet)} offline`)
  })
})

describe('each anomaly visibly changes the values in its window', () => {
  const fleet: FleetShape = { farms: 1, cowsPerFarm: 6, stallsPerFarm: 2, tanksPerFarm: 1 }
  const perDevice = 2 * SEQS_PER_DAY
  const ctx: GeneratorContext = { seed: 77, simStartMs: Date.UTC(2026, 3, 1), fleet, models: NOISY }
  const calm: GeneratorContext = { ...ctx, models: HEALTHY }
  const seen = new Map<string, number>()

  for (const kind of ['collar', 'milk', 'chiller'] as const) {
    test(`${kind}`, () => {
      for (const d of devicesOf(fleet).filter((x) => x.kind === kind)) {
        for (const w of anomalyWindows(ctx, d, perDevice)) {
          let changed = 0
          for (let seq = w.fromSeq; seq < w.toSeq; seq++) {
            // where windows of one kind overlap, the earliest-starting one applies
            const eff = anomaliesAt(ctx, d, seq).find((x) => x.kind === w.kind)!
            const r = generateReading(ctx, d, seq)
            const v = r.values as Record<string, number>
            const base = generateReading(calm, d, seq).values as Record<string, number>
            const at = `${d.id} ${w.kind} [${eff.fromSeq}, ${eff.toSeq}) seq ${seq}`
            switch (w.kind) {
              case 'fever':
                assert.ok(v.neck_temp_c! >= 39.5, `${at}: neck ${v.neck_temp_c} °C`)
                changed++
                break
              case 'heat':
                assert.ok(
                  v.activity! >= base.activity! * eff.magnitude - 0.03,
                  `${at}: activity ${v.activity} vs ${base.activity} × ${eff.magnitude}`,
                )
                if (v.activity! > base.activity!) changed++
                break
              case 'ruminationDrop':
                assert.ok(v.rumination_min! <= base.rumination_min! * (1 - eff.magnitude) + 0.02, `${at}: rumination ${v.rumination_min}`)
                if (v.rumination_min! < base.rumination_min!) changed++
                break
              case 'mastitis': {
                if (v.yield_kg === 0) break // no milk in the meter: nothing to measure
                const baseline = cowTraits(ctx, d.farmIndex, v.cow! - 1).conductivityMsCm
                assert.ok(v.conductivity_ms_cm! >= baseline * 1.2, `${at}: conductivity ${v.conductivity_ms_cm} < 1.2 × ${baseline}`)
                changed++
                break
              }
              case 'yieldDrop':
                assert.ok(v.yield_kg! <= base.yield_kg! * (1 - eff.magnitude) + 0.02, `${at}: yield ${v.yield_kg} vs ${base.yield_kg}`)
                if (v.yield_kg! < base.yield_kg!) changed++
                break
              case 'chillerFailure':
                assert.ok(v.milk_temp_c! > NOISY.chiller.maxStoredC && r.values.compressor_on === false, `${at}: ${v.milk_temp_c} °C`)
                changed++
                break
              case 'stuck': {
                const field = STUCK_FIELD[kind]
                // the value it measured when it stuck (no anomaly that changes this field overlaps a stuck window)
                assert.equal(v[field], generateReading(calm, d, eff.fromSeq).values[field], `${at}: ${field} moved`)
                if (v[field] !== base[field]) changed++
                break
              }
              case 'clockSkew':
                assert.equal(r.ts - nominalTime(ctx, seq), eff.magnitude * 1000, `${at}: ts`)
                changed++
                break
              case 'offline':
                changed++
                break // values unchanged; the simulator buffers them (see the worker)
            }
          }
          if (changed > 0) seen.set(w.kind, (seen.get(w.kind) ?? 0) + 1)
        }
      }
      for (const a of ANOMALIES[kind]) assert.ok((seen.get(a) ?? 0) > 0, `no visible ${a} window was exercised`)
    })
  }

  test('a milk meter’s milkings: cows in turn, yield grows to the milking’s total, then the cow leaves', () => {
    const d = devicesOf(fleet).find((x) => x.kind === 'milk')!
    let last = 0
    let lastCow = 0
    let finals = 0
    for (let seq = 0; seq < SEQS_PER_DAY; seq++) {
      const v = generateReading(calm, d, seq).values as Record<string, number>
      const mk = milkingAt(calm, d, nominalTime(calm, seq))
      if (v.cow !== lastCow) {
        if (last > 0) finals++
        last = 0
        lastCow = v.cow!
      }
      if (v.cow === 0 || !mk) continue
      assert.equal(v.cow, mk.cowOrdinal + 1)
      assert.ok(v.yield_kg! >= last, 'cumulative yield never falls within a milking')
      assert.ok(v.yield_kg! <= mk.yieldKg + 0.01)
      last = v.yield_kg!
    }
    assert.equal(finals, Math.ceil(fleet.cowsPerFarm / fleet.stallsPerFarm) * 2, 'every cow of the stall milked twice')
  })
})

describe('deepMerge', () => {
  test('objects merge, arrays and scalars replace', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), { a: { b: 1, c: [3] }, d: 1, e: 2 })
  })
})
