/**
 * P5's checker, property-tested (principle 9). For arbitrary small fleets with frequent anomalies, the
 * alerts an ideal pipeline raises come from the ingest's streaming engine over the generator's
 * readings; the verifier's AlertChecker (which never imports the engine) must find nothing wrong with
 * them. Then fast-check drops, delays and invents alerts, and the checker must report exactly those:
 * missed, late and spurious, naming the device and rule. The expected counts come from the injected
 * faults and the ground-truth windows alone.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { AlertEngine } from '../../src/alerts/engine.js'
import { alertRulesOf, lookback, type AlertRules } from '../../src/alerts/rules.js'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import { anomalyWindows } from '../../src/sim/anomalies.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { loadSensorModels, type SensorModels } from '../../src/sim/models.js'
import { AlertChecker, type StoredAlert } from '../../src/verify/alerts.js'
import type { RunManifest } from '../../src/verify/types.js'

const NUM_RUNS = Number(process.env.IOTBENCH_PROPERTY_RUNS ?? 60)

const often = (perDay: number): Record<string, unknown> => ({
  collar: {
    anomalies: {
      fever: { perDay },
      ruminationDrop: { perDay },
      heat: { perDay },
      stuck: { perDay: perDay / 2 },
      offline: { perDay: 0 },
      clockSkew: { perDay: 1 },
    },
    battery: { startPct: [19, 40], drainPctPerDay: [20, 90] },
  },
  milk: {
    anomalies: {
      mastitis: { perDay },
      yieldDrop: { perDay },
      stuck: { perDay: perDay / 2 },
      offline: { perDay: 0 },
      clockSkew: { perDay: 1 },
    },
  },
  chiller: { anomalies: { chillerFailure: { perDay: 3 }, stuck: { perDay: 2 }, offline: { perDay: 0 }, clockSkew: { perDay: 1 } } },
})
const MODELS: SensorModels = loadSensorModels(often(12))
const RULES: AlertRules = alertRulesOf(MODELS)

type Fault = { readonly type: 'drop' | 'late' | 'spurious'; readonly pick: number; readonly at: number }
const faultArb: fc.Arbitrary<Fault> = fc.record({
  type: fc.constantFrom<'drop' | 'late' | 'spurious'>('drop', 'late', 'spurious'),
  pick: fc.nat(),
  at: fc.nat(),
})

interface Scenario {
  readonly fleet: FleetShape
  readonly perDevice: number
  readonly seed: number
  readonly startHour: number
  readonly faults: readonly Fault[]
}
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  fleet: fc.record({
    farms: fc.constant(1),
    cowsPerFarm: fc.integer({ min: 1, max: 4 }),
    stallsPerFarm: fc.integer({ min: 0, max: 1 }),
    tanksPerFarm: fc.constant(1),
  }),
  perDevice: fc.integer({ min: 30, max: 400 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  startHour: fc.constantFrom(0, 4.5, 6, 15.5),
  faults: fc.array(faultArb, { maxLength: 6 }),
})

function manifestOf(s: Scenario): RunManifest {
  return {
    seed: s.seed,
    simStartMs: Date.UTC(2026, 3, 1),
    fleet: s.fleet,
    perDevice: s.perDevice,
    unacked: [],
    published: 0,
    models: MODELS,
    startHour: s.startHour,
    outages: [],
  }
}

/** What an ideal pipeline stores: the engine over every device's readings, in seq order. */
function idealAlerts(m: RunManifest): StoredAlert[] {
  const ctx: GeneratorContext = {
    seed: m.seed,
    simStartMs: m.simStartMs,
    fleet: m.fleet,
    models: MODELS,
    startHour: m.startHour ?? 0,
    outages: [],
  }
  const engine = new AlertEngine(RULES, () => 0)
  const out: StoredAlert[] = []
  for (let i = 0; i < fleetSize(m.fleet); i++) {
    const d = deviceAt(m.fleet, i)
    for (let seq = 0; seq < m.perDevice; seq++) {
      const r = generateReading(ctx, d, seq)
      const values = KINDS[d.kind].fields.map((f) => r.values[f.name]!)
      for (const e of engine.evaluate({ kind: d.kind, device: d.id, seq, ts: r.ts, sent: 0, values })) {
        if (e.event === 'raise') out.push({ id: out.length + 1, device: d.id, rule: e.rule, seq: e.seq, sentMs: 0, raisedMs: 0 })
      }
    }
  }
  return out
}

interface Injected {
  alerts: StoredAlert[]
  missed: Array<{ device: string; rule: string }>
  late: Array<{ device: string; rule: string }>
  spurious: Array<{ device: string; rule: string; seq: number }>
}

function inject(m: RunManifest, clean: readonly StoredAlert[], faults: readonly Fault[]): Injected {
  const ctx: GeneratorContext = {
    seed: m.seed,
    simStartMs: m.simStartMs,
    fleet: m.fleet,
    models: MODELS,
    startHour: m.startHour ?? 0,
    outages: [],
  }
  const devices = Array.from({ length: fleetSize(m.fleet) }, (_, i) => deviceAt(m.fleet, i))
  const ruleOf = (device: string, rule: string) => RULES[devices.find((d) => d.id === device)!.kind].find((r) => r.name === rule)!.rule
  const groups = new Map<string, StoredAlert[]>()
  for (const a of clean) groups.set(`${a.device}/${a.rule}`, [...(groups.get(`${a.device}/${a.rule}`) ?? []), a])
  /** Alerts alone in their (device, rule): dropping or delaying one touches exactly one episode. */
  const inOwnWindow = (a: StoredAlert): boolean => {
    const rule = ruleOf(a.device, a.rule)
    if (rule.anomaly === null) return true
    const d = devices.find((x) => x.id === a.device)!
    return anomalyWindows(ctx, d, m.perDevice).some(
      (w) => w.kind === rule.anomaly && w.fromSeq <= a.seq && a.seq < w.toSeq + lookback(rule),
    )
  }
  // (an alert explained by another anomaly, rule.alsoFrom, is not one an episode needs)
  const lone = clean.filter((a) => groups.get(`${a.device}/${a.rule}`)!.length === 1 && inOwnWindow(a))
  const used = new Set<number>()
  let alerts = [...clean]
  const out: Injected = { alerts, missed: [], late: [], spurious: [] }
  let nextId = 10_000
  for (const f of faults) {
    if (f.type === 'spurious') {
      const d = devices[f.pick % devices.length]!
      const rules = RULES[d.kind].filter((r) => r.rule.anomaly !== null)
      const r = rules[f.at % rules.length]!
      // An alert explained by an anomaly: inside a window of the rule's kind (or alsoFrom), or in the
      // look-back after it, or close enough to the next one that the two are one episode (reset).
      const back = lookback(r.rule)
      const reset = r.rule.resetAfterReadings ?? 0
      const related = anomalyWindows(ctx, d, m.perDevice).filter((w) => w.kind === r.rule.anomaly || r.rule.alsoFrom?.includes(w.kind))
      // half of them just past the end of an isolated window (plus the look-back): where off-by-ones live
      const isolated = related.filter(
        (w) =>
          w.kind === r.rule.anomaly &&
          related.every((o) => o === w || o.fromSeq > w.toSeq + back + reset || o.toSeq + back + reset <= w.fromSeq),
      )
      const edgeOf = isolated.length > 0 && f.pick % 2 === 0 ? isolated[(f.pick >> 1) % isolated.length] : undefined
      const seq = edgeOf ? edgeOf.toSeq + back + (f.at % 3) : (f.pick >> 3) % m.perDevice
      if (seq >= m.perDevice) continue
      const covered = related.some((w) => w.fromSeq <= seq && seq < w.toSeq + back + (w === edgeOf ? 0 : reset))
      if (covered) continue
      alerts.push({ id: nextId++, device: d.id, rule: r.name, seq, sentMs: 0, raisedMs: 0 })
      out.spurious.push({ device: d.id, rule: r.name, seq })
      continue
    }
    const candidates = lone.filter((a) => !used.has(a.id) && (f.type === 'drop' || ruleOf(a.device, a.rule).anomaly !== null))
    if (candidates.length === 0) continue
    const a = candidates[f.pick % candidates.length]!
    if (f.type === 'drop') {
      used.add(a.id)
      alerts = alerts.filter((x) => x.id !== a.id)
      out.missed.push({ device: a.device, rule: a.rule })
      continue
    }
    const rule = ruleOf(a.device, a.rule)
    const moved = a.seq + rule.maxDelayReadings + 1
    const d = devices.find((x) => x.id === a.device)!
    const inWindow = anomalyWindows(ctx, d, m.perDevice).some(
      (w) => w.kind === rule.anomaly && w.fromSeq <= a.seq && a.seq < w.toSeq && moved < Math.min(w.toSeq, m.perDevice),
    )
    if (!inWindow) continue
    used.add(a.id)
    alerts = alerts.map((x) => (x.id === a.id ? { ...x, seq: moved } : x))
    out.late.push({ device: a.device, rule: a.rule })
  }
  out.alerts = alerts
  return out
}

const key = (x: { device: string; rule: string }): string => `${x.device}/${x.rule}`

describe('P5 AlertChecker', () => {
  test('finds nothing wrong with what the engine raises, and exactly the dropped, delayed and invented alerts', () => {
    const injected = { missed: 0, late: 0, spurious: 0 }
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const m = manifestOf(s)
        const clean = idealAlerts(m)
        const ok = new AlertChecker(m, RULES).check(clean)
        assert.deepEqual(
          [ok.counts.missed, ok.counts.late, ok.counts.spurious],
          [0, 0, 0],
          `clean alerts judged wrong: ${JSON.stringify({ missed: ok.missed, late: ok.late, spurious: ok.spurious })}`,
        )
        assert.equal(ok.counts.mapped, ok.counts.raised)
        const inj = inject(m, clean, s.faults)
        injected.missed += inj.missed.length
        injected.late += inj.late.length
        injected.spurious += inj.spurious.length
        const r = new AlertChecker(m, RULES).check(inj.alerts)
        assert.equal(r.counts.missed, inj.missed.length, `missed: ${JSON.stringify(r.missed)} vs injected ${JSON.stringify(inj.missed)}`)
        assert.equal(r.counts.late, inj.late.length, `late: ${JSON.stringify(r.late)} vs injected ${JSON.stringify(inj.late)}`)
        assert.equal(
          r.counts.spurious,
          inj.spurious.length,
          `spurious: ${JSON.stringify(r.spurious)} vs injected ${JSON.stringify(inj.spurious)}`,
        )
        assert.deepEqual(r.missed.map(key).sort(), inj.missed.map(key).sort())
        assert.deepEqual(r.late.map(key).sort(), inj.late.map(key).sort())
        assert.deepEqual(r.spurious.map((x) => `${key(x)}@${x.seq}`).sort(), inj.spurious.map((x) => `${key(x)}@${x.seq}`).sort())
        assert.equal(r.counts.ok, ok.counts.ok - inj.missed.length - inj.late.length)
        // The same verdict from expectations computed beforehand and stored (as JSON) with the run.
        const devices = Array.from({ length: fleetSize(m.fleet) }, (_, i) => deviceAt(m.fleet, i))
        const stored = new Map(devices.map((d) => [d.id, JSON.parse(JSON.stringify(new AlertChecker(m, RULES).expectationsOf(d, true)))]))
        assert.deepEqual(new AlertChecker(m, RULES, undefined, stored).check(inj.alerts), r, 'stored expectations give another verdict')
      }),
      { numRuns: NUM_RUNS },
    )
    // the faults were really injected, not all skipped
    for (const [k, n] of Object.entries(injected)) assert.ok(n >= NUM_RUNS / 20, `only ${n} ${k} faults injected in ${NUM_RUNS} runs`)
  })

  test('the scenarios exercise every rule', () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(scenarioArb, (s) => {
        for (const a of idealAlerts(manifestOf({ ...s, perDevice: 400 }))) seen.add(a.rule)
      }),
      { numRuns: 30, seed: 7 },
    )
    for (const kind of ['collar', 'milk', 'chiller'] as const)
      for (const r of RULES[kind]) assert.ok(seen.has(r.name), `no ${kind} ${r.name} alert in 30 scenarios`)
  })
})
