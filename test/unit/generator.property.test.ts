/**
 * The generator is the oracle the verifier regenerates from (DESIGN.md, "Determinism is the backbone"):
 * a reading must be a pure function of (seed, run constants, device, seq), whatever order or thread
 * generates it, and its values must stay inside what a real sensor reports. Anomalies are allowed out
 * of the healthy bands only inside their ground-truth windows (what the alert checks rely on).
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { deviceAt, fleetSize, type Device, type FleetShape } from '../../src/fleet.js'
import { KINDS, type FieldValue } from '../../src/kinds.js'
import { anomaliesAt } from '../../src/sim/anomalies.js'
import type { GeneratorContext } from '../../src/sim/context.js'
import { encodePayload, generateReading } from '../../src/sim/generator.js'
import { ANOMALIES, loadSensorModels, type SensorModels } from '../../src/sim/models.js'
import { splitRange } from '../../src/util/shares.js'

/** The shipped sensor models with every anomaly rate set to `perDay`. */
function withAnomalies(perDay: number): SensorModels {
  const rates = (kind: keyof typeof ANOMALIES): Record<string, { perDay: number }> =>
    Object.fromEntries(ANOMALIES[kind].map((a) => [a, { perDay }]))
  return loadSensorModels({
    collar: { anomalies: rates('collar') },
    milk: { anomalies: rates('milk') },
    chiller: { anomalies: rates('chiller') },
  })
}
const HEALTHY = withAnomalies(0)
const FREQUENT = withAnomalies(4) // a few of each anomaly per device-day, so a day's stream meets them

const DAY_SEQS = (24 * 3600) / KINDS.collar.intervalSeconds
const interval = (d: Device): number => KINDS[d.kind].intervalSeconds * 1000

const fleetArb: fc.Arbitrary<FleetShape> = fc.record({
  farms: fc.integer({ min: 1, max: 3 }),
  cowsPerFarm: fc.integer({ min: 1, max: 6 }),
  stallsPerFarm: fc.integer({ min: 0, max: 3 }),
  tanksPerFarm: fc.integer({ min: 1, max: 2 }),
})
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 })
/** Simulated midnight (UTC) of the run's first day. */
const midnightArb = fc.integer({ min: 0, max: 100 * 365 }).map((d) => Date.UTC(2000, 0, 1) + d * 86_400_000)
const modelsArb = fc.constantFrom<SensorModels | undefined>(undefined, HEALTHY, FREQUENT)
const ctxArb: fc.Arbitrary<GeneratorContext> = fc
  .record({
    seed: seedArb,
    simStartMs: midnightArb,
    fleet: fleetArb,
    models: modelsArb,
    startHour: fc.constantFrom(0, 4.75, 15.5),
    outages: fc.constantFrom([], [{ fromSeq: 2, toSeq: 7, share: 0.5 }]),
  })
  .map(({ models, ...rest }) => (models ? { ...rest, models } : rest))

/** The intended send time is not part of the reading; any function of (device, seq) will do. */
const sentOf = (d: Device, seq: number): number => 1_700_000_000_000 + d.index * 1000 + seq
const payload = (ctx: GeneratorContext, d: Device, seq: number): Buffer =>
  Buffer.from(encodePayload(generateReading(ctx, d, seq), sentOf(d, seq)), 'utf8')

/** Small seeded PRNG for the test's own shuffles, so a counterexample replays. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items]
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe('generateReading is a pure function of (seed, run constants, device, seq)', () => {
  test('forward, shuffled and split across worker shares give byte-identical payloads', () => {
    fc.assert(
      fc.property(
        ctxArb,
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 3 * DAY_SEQS }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(),
        seedArb,
        (ctx, perDevice, firstSeq, parts, shuffleSeed, otherSeed) => {
          const { fleet } = ctx
          const n = fleetSize(fleet)
          const key = (index: number, seq: number): string => `${index}:${seq}`
          const seqs = Array.from({ length: perDevice }, (_, k) => firstSeq + k)

          // Forward: device-major, seq-minor, one context object.
          const forward = new Map<string, Buffer>()
          for (let i = 0; i < n; i++) for (const seq of seqs) forward.set(key(i, seq), payload(ctx, deviceAt(fleet, i), seq))

          // Shuffled, from a structured clone of the context (as a worker thread receives it), with readings
          // of another run in between.
          const cells = Array.from({ length: n * perDevice }, (_, c) => [Math.floor(c / perDevice), seqs[c % perDevice]!] as const)
          const other: GeneratorContext = { ...ctx, seed: otherSeed, fleet: { ...fleet, cowsPerFarm: fleet.cowsPerFarm + 1 } }
          const clone = structuredClone(ctx)
          for (const [i, seq] of shuffled(cells, shuffleSeed)) {
            payload(other, deviceAt(other.fleet, i), seq)
            const got = payload(clone, deviceAt(fleet, i), seq)
            assert.ok(got.equals(forward.get(key(i, seq))!), `device ${i} seq ${seq}: shuffled order changed the payload`)
          }

          // Worker shares, as the sim pool splits the fleet: each share walks its own devices in its own
          // context; the shares take turns one reading at a time, last share first.
          const shares = splitRange(n, parts).reverse()
          const contexts = shares.map(() => structuredClone(ctx))
          const cursors = shares.map(([from]) => ({ device: from, k: 0 }))
          let seen = 0
          for (let busy = true; busy;) {
            busy = false
            shares.forEach(([, to], s) => {
              const c = cursors[s]!
              if (c.device >= to) return
              busy = true
              const seq = seqs[c.k]!
              const got = payload(contexts[s]!, deviceAt(fleet, c.device), seq)
              assert.ok(got.equals(forward.get(key(c.device, seq))!), `share ${s}, device ${c.device} seq ${seq} differs`)
              seen++
              if (++c.k === perDevice) Object.assign(c, { device: c.device + 1, k: 0 })
            })
          }
          assert.equal(seen, n * perDevice, 'the shares generated every reading once')
        },
      ),
      { numRuns: 60, includeErrorInReport: true },
    )
  })

  test('the wire payload carries the reading and nothing else', () => {
    fc.assert(
      fc.property(
        ctxArb,
        fc.nat(),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 7_258_118_400_000 }),
        (ctx, pick, seq, sent) => {
          const d = deviceAt(ctx.fleet, pick % fleetSize(ctx.fleet))
          const r = generateReading(ctx, d, seq)
          assert.deepEqual(generateReading(ctx, d, seq), r, 'the same reading twice')
          assert.equal(r.seq, seq)
          assert.equal(r.device.id, d.id)
          const wire = JSON.parse(encodePayload(r, sent)) as Record<string, unknown>
          assert.deepEqual(wire, { device: d.id, kind: d.kind, seq, ts: r.ts, sent, values: r.values })
        },
      ),
      { numRuns: 300 },
    )
  })

  test('different seeds give different streams', () => {
    fc.assert(
      fc.property(ctxArb, fc.uniqueArray(seedArb, { minLength: 2, maxLength: 2 }), fc.nat(), (ctx, [s1, s2], pick) => {
        const d = deviceAt(ctx.fleet, pick % fleetSize(ctx.fleet))
        const stream = (seed: number): string[] =>
          Array.from({ length: 48 }, (_, seq) => JSON.stringify(generateReading({ ...ctx, seed }, d, seq).values))
        const a = stream(s1!)
        const b = stream(s2!)
        assert.ok(
          a.some((v, i) => v !== b[i]),
          `seeds ${s1} and ${s2} gave ${d.id} the same 48 readings`,
        )
      }),
      { numRuns: 100 },
    )
  })
})

describe('generated values are plausible sensor values', () => {
  const within = (what: string, x: number, lo: number, hi: number): void =>
    assert.ok(x >= lo && x <= hi, `${what} = ${x}, outside ${lo}..${hi}`)
  const TWO_DECIMALS = /^-?\d+(\.\d{1,2})?$/

  /** Types: floats with at most two decimals, int4 whole numbers in range, booleans. */
  function checkTypes(d: Device, values: Readonly<Record<string, FieldValue>>, at: string): void {
    const spec = KINDS[d.kind]
    assert.deepEqual(Object.keys(values).sort(), spec.fields.map((f) => f.name).sort(), `${at}: exactly the kind's fields`)
    for (const f of spec.fields) {
      const x = values[f.name]
      if (f.type === 'bool') {
        assert.equal(typeof x, 'boolean', `${at} ${f.name}`)
        continue
      }
      assert.ok(typeof x === 'number' && Number.isFinite(x), `${at} ${f.name} = ${String(x)} is not a finite number`)
      if (f.type === 'int4') {
        assert.ok(Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31, `${at} ${f.name} = ${x} is not an int4`)
      } else {
        // At most two decimals: on the wire (JSON writes numbers as String does) and numerically.
        assert.match(String(x), TWO_DECIMALS, `${at} ${f.name} = ${x} has more than two decimals`)
        assert.ok(Math.abs(x * 100 - Math.round(x * 100)) <= 1e-9, `${at} ${f.name} = ${x}: x·100 is not whole`)
      }
    }
  }

  /**
   * One simulated day of one device, from midnight, so every milking in it is whole. Checks what holds
   * with and without anomalies, and returns the readings for the caller's own checks.
   */
  function checkDay(
    ctx: GeneratorContext,
    d: Device,
    day: number,
  ): Array<{ seq: number; ts: number; v: Record<string, number | boolean> }> {
    const out: Array<{ seq: number; ts: number; v: Record<string, number | boolean> }> = []
    let milking: { cow: number; yieldKg: number } | undefined
    const endMilking = (at: string): void => {
      if (milking) within(`${at}: milking of cow ${milking.cow}, total yield_kg`, milking.yieldKg, 2, 25)
      milking = undefined
    }
    for (let seq = day * DAY_SEQS; seq < (day + 1) * DAY_SEQS; seq++) {
      const r = generateReading(ctx, d, seq)
      const at = `${d.id} seq ${seq}`
      checkTypes(d, r.values, at)
      const v = r.values as Record<string, number | boolean>
      switch (d.kind) {
        case 'collar':
          within(`${at} battery_pct`, v.battery_pct as number, 0, 100)
          break
        case 'chiller':
          assert.ok((v.milk_temp_c as number) >= 2.5, `${at} milk_temp_c = ${String(v.milk_temp_c)} below 2.5 °C`)
          break
        case 'milk': {
          // Every minute the meter reports the cow in the stall (0: empty) and its milking so far; the
          // last reading of a milking is its summary, so a milking's yield is its largest yield_kg.
          const cow = v.cow as number
          within(`${at} cow`, cow, 0, ctx.fleet.cowsPerFarm)
          within(`${at} yield_kg`, v.yield_kg as number, 0, 25)
          if (milking && cow !== milking.cow) endMilking(at)
          if (cow > 0 && (v.duration_s as number) > 0) milking = { cow, yieldKg: Math.max(milking?.yieldKg ?? 0, v.yield_kg as number) }
          break
        }
      }
      out.push({ seq, ts: r.ts, v })
    }
    endMilking(`${d.id} end of day ${day}`)
    return out
  }

  const dayArb = fc.record({
    seed: seedArb,
    simStartMs: midnightArb,
    fleet: fleetArb,
    pick: fc.nat(),
    day: fc.integer({ min: 0, max: 400 }),
  })

  test('healthy sensors: physiological bands, exact sensor time, over a whole simulated day (fast-check)', () => {
    fc.assert(
      fc.property(dayArb, ({ seed, simStartMs, fleet, pick, day }) => {
        const ctx: GeneratorContext = { seed, simStartMs, fleet, models: HEALTHY }
        const d = deviceAt(fleet, pick % fleetSize(fleet))
        for (const { seq, ts, v } of checkDay(ctx, d, day)) {
          assert.equal(ts, simStartMs + seq * interval(d), `${d.id} seq ${seq}: without clock skew, sensor time is start + seq × interval`)
          // 37.5–39.6 °C is the plausible band; the collar model documents 38.0–39.0 °C as healthy.
          if (d.kind === 'collar') within(`${d.id} seq ${seq} neck_temp_c`, v.neck_temp_c as number, 38.0, 39.0)
        }
      }),
      { numRuns: 40, includeErrorInReport: true },
    )
  })

  test('with anomalies: values out of the healthy band and shifted clocks happen only inside their windows (fast-check)', () => {
    fc.assert(
      fc.property(dayArb, fc.boolean(), ({ seed, simStartMs, fleet, pick, day }, frequent) => {
        const ctx: GeneratorContext = frequent ? { seed, simStartMs, fleet, models: FREQUENT } : { seed, simStartMs, fleet }
        const d = deviceAt(fleet, pick % fleetSize(fleet))
        for (const { seq, ts, v } of checkDay(ctx, d, day)) {
          const active = anomaliesAt(ctx, d, seq).map((w) => w.kind)
          const at = `${d.id} seq ${seq} (anomalies: ${active.join(', ') || 'none'})`
          const skew = ts - (simStartMs + seq * interval(d))
          if (skew !== 0) {
            assert.ok(active.includes('clockSkew'), `${at}: sensor time off by ${skew} ms outside a clockSkew window`)
            assert.ok(
              skew % 1000 === 0 && Math.abs(skew) <= 300_000,
              `${at}: skew ${skew} ms is not whole seconds within the model's 300 s`,
            )
          }
          if (d.kind === 'collar') {
            const neck = v.neck_temp_c as number
            within(`${at} neck_temp_c`, neck, 37.5, 41)
            if (neck > 39.0) assert.ok(active.includes('fever'), `${at}: neck ${neck} °C without a fever window`)
          }
        }
      }),
      { numRuns: 30, includeErrorInReport: true },
    )
  })

  test('a collar battery drains over a long run and never goes below 0', () => {
    const fleet: FleetShape = { farms: 1, cowsPerFarm: 1, stallsPerFarm: 0, tanksPerFarm: 1 }
    const ctx: GeneratorContext = { seed: 9, simStartMs: Date.UTC(2026, 0, 1), fleet, models: HEALTHY }
    const collar = deviceAt(fleet, 0)
    const battery = (seq: number): number => generateReading(ctx, collar, seq).values.battery_pct as number
    within('battery at seq 0', battery(0), 0, 100)
    assert.ok(battery(7 * DAY_SEQS) < battery(0), `battery ${battery(7 * DAY_SEQS)} after a week, ${battery(0)} at the start`)
    assert.ok(battery(8 * DAY_SEQS) <= battery(7 * DAY_SEQS))
    assert.equal(battery(100_000 * DAY_SEQS), 0, 'flat after ~270 years, not negative')
  })
})
