import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { AlertEngine, type AlertEvent } from '../../src/alerts/engine.js'
import { alertRulesOf, type AlertRules } from '../../src/alerts/rules.js'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { defaultSensorModels, loadSensorModels } from '../../src/sim/models.js'
import { ConfigError } from '../../src/errors.js'

const MODELS = loadSensorModels({
  collar: { anomalies: { fever: { perDay: 10 }, heat: { perDay: 10 }, ruminationDrop: { perDay: 10 }, stuck: { perDay: 5 } } },
  milk: { anomalies: { mastitis: { perDay: 10 }, yieldDrop: { perDay: 10 }, stuck: { perDay: 5 } } },
  chiller: { anomalies: { chillerFailure: { perDay: 5 }, stuck: { perDay: 5 } } },
})
const RULES: AlertRules = alertRulesOf(MODELS)
const fleet: FleetShape = { farms: 1, cowsPerFarm: 3, stallsPerFarm: 1, tanksPerFarm: 1 }

function stream(seed: number, perDevice: number) {
  const ctx: GeneratorContext = { seed, simStartMs: Date.UTC(2026, 0, 1), fleet, models: MODELS, startHour: 4.5 }
  const out = []
  for (let seq = 0; seq < perDevice; seq++) {
    for (let i = 0; i < fleetSize(fleet); i++) {
      const d = deviceAt(fleet, i)
      const r = generateReading(ctx, d, seq)
      out.push({ kind: d.kind, device: d.id, seq, ts: r.ts, sent: 0, values: KINDS[d.kind].fields.map((f) => r.values[f.name]!) })
    }
  }
  return out
}

describe('alert rules as data', () => {
  test('the shipped sensor models declare the eight rules', () => {
    const rules = alertRulesOf(defaultSensorModels())
    const names = new Set(
      Object.values(rules)
        .flat()
        .map((r) => r.name),
    )
    for (const n of ['fever', 'ruminationDrop', 'heat', 'mastitis', 'yieldDrop', 'chillerExcursion', 'stuck', 'lowBattery'])
      assert.ok(names.has(n), n)
  })

  test('a rule on a field the kind does not have is a config error', () => {
    assert.throws(
      () =>
        loadSensorModels({
          chiller: {
            alerts: {
              warm: {
                type: 'threshold',
                anomaly: null,
                field: 'neck_temp_c',
                op: '>',
                value: 1,
                forReadings: 1,
                clear: { op: '<', value: 1 },
                maxDelayReadings: 1,
              },
            },
          },
        }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => /chiller has no field "neck_temp_c"/.test(p)),
    )
  })

  test('a boolean compared by order (field or value) is a config error, every one named; == is fine', () => {
    const rule = (when: unknown, extra = {}) => ({
      type: 'threshold',
      anomaly: null,
      field: 'milk_temp_c',
      op: '>',
      value: 6,
      forReadings: 1,
      clear: { op: '<', value: 5 },
      maxDelayReadings: 1,
      when,
      ...extra,
    })
    assert.throws(
      () =>
        loadSensorModels({
          chiller: {
            alerts: {
              a: rule([{ field: 'compressor_on', op: '>=', value: 1 }]),
              b: rule([{ field: 'volume_l', op: '>', value: false }]),
              c: rule([], { field: 'agitator_on', op: '<', value: 1, clear: { op: '==', value: 0 } }),
            },
          },
        }),
      (e: unknown) =>
        e instanceof ConfigError &&
        assert.deepEqual(e.problems, [
          'chiller.alerts.a: "compressor_on >= 1" orders a boolean; compare a boolean with == only',
          'chiller.alerts.b: "volume_l > false" orders a boolean; compare a boolean with == only',
          'chiller.alerts.c: "agitator_on < 1" orders a boolean; compare a boolean with == only',
        ]) === undefined,
    )
    assert.doesNotThrow(() => loadSensorModels({ chiller: { alerts: { d: rule([{ field: 'compressor_on', op: '==', value: false }]) } } }))
  })
})

describe('AlertEngine', () => {
  test('a restarted engine restored from the per-batch snapshot raises exactly what an unbroken one does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.array(fc.nat(), { maxLength: 4 }), (seed, cuts) => {
        const readings = stream(seed, 240)
        const strip = (e: AlertEvent) => `${e.device} ${e.rule} ${e.event} ${e.seq}`
        const whole = new AlertEngine(RULES, () => 0)
        const expected = readings.flatMap((r) => whole.evaluate(r)).map(strip)
        // Cut the stream into "batches"; after each cut a new engine resumes from the snapshots.
        const at = new Set(cuts.map((c) => c % readings.length))
        let engine = new AlertEngine(RULES, () => 0)
        const snapshots = new Map<string, string>()
        const got: string[] = []
        readings.forEach((r, i) => {
          if (at.has(i)) {
            engine = new AlertEngine(RULES, () => 0)
            for (const [d, s] of snapshots) engine.restore(d, s)
          }
          got.push(...engine.evaluate(r).map(strip))
          snapshots.set(r.device, engine.snapshot(r.device))
        })
        assert.deepEqual(got, expected)
      }),
      { numRuns: 20 },
    )
  })

  test('hysteresis: one raise per episode, a clear when the value comes back', () => {
    const rules: AlertRules = {
      collar: [
        {
          name: 'fever',
          kind: 'collar',
          rule: {
            type: 'threshold',
            anomaly: 'fever',
            field: 'neck_temp_c',
            op: '>=',
            value: 39.5,
            forReadings: 2,
            clear: { op: '<', value: 39.3 },
            maxDelayReadings: 3,
          },
        },
      ],
      milk: [],
      chiller: [],
    }
    const e = new AlertEngine(rules, () => 0)
    const temps = [38.5, 39.6, 39.7, 39.4, 39.8, 39.2, 39.6, 39.6]
    const events = temps.flatMap((t, seq) =>
      e.evaluate({ kind: 'collar', device: 'farm01-collar-0001', seq, ts: 0, sent: 0, values: [0, 0, 0, t, 100, -70] }),
    )
    assert.deepEqual(
      events.map((x) => [x.event, x.seq]),
      [
        ['raise', 2],
        ['clear', 5],
        ['raise', 7],
      ],
    )
    assert.equal(events[0]!.reading.neck_temp_c, 39.7)
  })
})
