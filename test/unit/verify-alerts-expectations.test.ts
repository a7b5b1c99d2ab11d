/**
 * expectationsOf, what P5 expects of one (device, rule) before any alert is read: the generator's
 * anomaly windows (the ground truth, pinned below for one seed) merged into episodes, each episode's
 * end and first visible seq, the alsoFrom windows, and a plain condition's raises. The values come
 * from a hand-made oracle, so every expected seq is worked out by hand from the windows and the rule.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AlertRule, AlertRules } from '../../src/alerts/rules.js'
import { deviceAt } from '../../src/fleet.js'
import { anomalyWindows } from '../../src/sim/anomalies.js'
import { loadSensorModels } from '../../src/sim/models.js'
import { contextOf, type Oracle } from '../../src/sim/oracle.js'
import { AlertChecker, type AlertSpec, type DeviceExpectations, type StoredAlert } from '../../src/verify/alerts.js'

const FLEET = { farms: 1, cowsPerFarm: 1, stallsPerFarm: 0, tanksPerFarm: 0 }
const DEVICE = deviceAt(FLEET, 0)
const quiet = { perDay: 0 }
const MODELS = loadSensorModels({
  collar: {
    anomalies: {
      fever: { perDay: 3, minutes: [10, 20] },
      heat: { perDay: 2, minutes: [10, 20] },
      ruminationDrop: quiet,
      stuck: quiet,
      offline: quiet,
      clockSkew: quiet,
    },
  },
})
const SPEC: AlertSpec = {
  seed: 9,
  simStartMs: Date.UTC(2026, 3, 1),
  fleet: FLEET,
  models: MODELS,
  startHour: 0,
  outages: [],
  perDevice: 605,
}
// The ground truth of seed 9 (the last fever window is cut at perDevice). The fever windows
// [558, 575) and [599, 605) are 24 readings apart; the heat window lies between them.
const WINDOWS = [
  ['fever', 43, 54],
  ['fever', 558, 575],
  ['heat', 573, 584],
  ['fever', 599, 605],
]

/** An oracle whose `x` is 10 on the given [from, to) ranges and 0 elsewhere. */
const oracleOf = (...high: ReadonlyArray<readonly [number, number]>): Oracle => ({
  expected: (device, seq) => ({ device, seq, ts: seq, values: { x: high.some(([f, t]) => f <= seq && seq < t) ? 10 : 0 } }),
})
// Fever values: from one reading before the first window (a warm-up reading), from the third reading
// of the second; never in the last.
const FEVER_VALUES = oracleOf([42, 54], [560, 575])

const fever = (extra: Partial<AlertRule> = {}): AlertRule =>
  ({
    type: 'threshold',
    anomaly: 'fever',
    field: 'x',
    op: '>=',
    value: 5,
    forReadings: 2,
    clear: { op: '<', value: 2 },
    maxDelayReadings: 3,
    ...extra,
  }) as AlertRule
const plain = (): AlertRule => ({ ...fever(), anomaly: null }) as AlertRule
const rulesOf = (...rules: ReadonlyArray<readonly [string, AlertRule]>): AlertRules => ({
  collar: rules.map(([name, rule]) => ({ name, kind: 'collar', rule })),
  milk: [],
  chiller: [],
})
const expect = (rules: AlertRules, oracle: Oracle, full = false): DeviceExpectations =>
  new AlertChecker(SPEC, rules, oracle).expectationsOf(DEVICE, full)

describe('expectationsOf', () => {
  test('the ground truth this file is worked out from', () => {
    assert.deepEqual(
      anomalyWindows(contextOf(SPEC), DEVICE, SPEC.perDevice).map((w) => [w.kind, w.fromSeq, w.toSeq]),
      WINDOWS,
    )
  })

  test('episodes: one per window of the rule’s anomaly; each ends its look-back after the window, cut at the run’s end', () => {
    // First visible seq: [43, 54) with the warm-up reading 42 raises at 43; [558, 575) at 561 (560, 561);
    // [599, 605) never (-1). Ends: 54 + 2, 575 + 2, and 605 (not 607: the run has 605 readings).
    assert.deepEqual(expect(rulesOf(['fever', fever()]), FEVER_VALUES)['fever'], {
      episodes: [
        [43, 54, 56, 43],
        [558, 575, 577, 561],
        [599, 605, 605, -1],
      ],
      explains: [],
    })
  })

  test('windows closer than the look-back plus resetAfterReadings are one episode, on both sides of that boundary', () => {
    // 599 ≤ 575 + 2 + 22: merged, the episode runs to the later window's end.
    assert.deepEqual(expect(rulesOf(['fever', fever({ resetAfterReadings: 22 })]), FEVER_VALUES)['fever']!.episodes, [
      [43, 54, 56, 43],
      [558, 605, 605, 561],
    ])
    assert.deepEqual(expect(rulesOf(['fever', fever({ resetAfterReadings: 21 })]), FEVER_VALUES)['fever']!.episodes, [
      [43, 54, 56, 43],
      [558, 575, 577, 561],
      [599, 605, 605, -1],
    ])
    assert.deepEqual(
      expect(rulesOf(['fever', fever({ forReadings: 24 })]), oracleOf())['fever']!.episodes,
      [
        [43, 54, 78, -1],
        [558, 605, 605, -1],
      ],
      'the look-back alone',
    )
  })

  test('an episode’s first visible seq: the rule evaluated from its look-back before the episode, raises inside it only', () => {
    // Values from 41: the raise at 42 comes before the episode, and the alert is still open inside it.
    assert.deepEqual(expect(rulesOf(['fever', fever()]), oracleOf([41, 54]))['fever']!.episodes![0], [43, 54, 56, -1])
    // Values only in the look-back after the window (54, 55): visible at 55, still the episode's.
    assert.deepEqual(expect(rulesOf(['fever', fever()]), oracleOf([54, 56]))['fever']!.episodes![0], [43, 54, 56, 55])
    assert.deepEqual(
      expect(rulesOf(['fever', fever()]), oracleOf([55, 57]))['fever']!.episodes![0],
      [43, 54, 56, -1],
      'from seq 56 on: outside',
    )
    // From scratch at the look-back: an alert raised at seq 11 that never clears does not hide the episode.
    const sticky = fever({ clear: { op: '<', value: -100 } })
    assert.deepEqual(expect(rulesOf(['fever', sticky]), oracleOf([10, 12], [42, 54]))['fever']!.episodes![0], [43, 54, 56, 43])
  })

  test('explains: the windows of the anomalies the rule lists in alsoFrom, and no others', () => {
    assert.deepEqual(expect(rulesOf(['fever', fever({ alsoFrom: ['heat'] })]), FEVER_VALUES)['fever']!.explains, [[573, 584]])
    assert.deepEqual(expect(rulesOf(['fever', fever({ alsoFrom: ['stuck'] })]), FEVER_VALUES)['fever']!.explains, [])
  })

  test('a plain condition: its raises when the last readings meet it (or `full`); nothing to walk otherwise', () => {
    const rules = rulesOf(['battery', plain()])
    assert.deepEqual(expect(rules, oracleOf([100, 110], [603, 605]))['battery'], { raises: [101, 604] }, 'the last two readings meet it')
    assert.deepEqual(expect(rules, oracleOf([100, 110], [604, 605]))['battery'], {}, 'the last reading alone cannot raise a 2-reading rule')
    assert.deepEqual(expect(rules, oracleOf([100, 110]), true)['battery'], { raises: [101] })
    assert.deepEqual(expect(rules, oracleOf([100, 110]))['battery'], {})
  })
})

describe('check() with expectations it computes itself', () => {
  let id = 0
  const alert = (rule: string, seq: number): StoredAlert => ({ id: ++id, device: DEVICE.id, rule, seq, sentMs: 0, raisedMs: 0 })
  const rules = rulesOf(['fever', fever()], ['battery', plain()])

  test('a plain condition not met at the end is walked only when the run raised it', () => {
    const oracle = oracleOf([42, 54], [560, 575], [100, 110])
    const quietRun = new AlertChecker(SPEC, rules, oracle).check([alert('fever', 43), alert('fever', 561)])
    assert.deepEqual(
      [quietRun.byRule['battery']!.episodes, quietRun.byRule['battery']!.missed],
      [0, 0],
      'no alert: the oracle is not walked, nothing is missed',
    )
    const raised = new AlertChecker(SPEC, rules, oracle).check([alert('fever', 43), alert('fever', 561), alert('battery', 102)])
    assert.deepEqual([raised.byRule['battery']!.ok, raised.byRule['battery']!.spurious, raised.delaysReadings], [1, 0, [0, 3, 1]])
  })

  test('stored expectations are used only when they cover every rule of the kind', () => {
    const oracle = oracleOf([42, 54], [560, 575])
    const partial = new Map([[DEVICE.id, { fever: { episodes: [], explains: [] } } as DeviceExpectations]])
    const recomputed = new AlertChecker(SPEC, rules, oracle, partial).check([])
    assert.deepEqual(
      [recomputed.byRule['fever']!.episodes, recomputed.byRule['fever']!.missed, recomputed.byRule['fever']!.undetectable],
      [3, 2, 1],
    )
    const complete = new Map([[DEVICE.id, { fever: { episodes: [], explains: [] }, battery: { raises: [] } } as DeviceExpectations]])
    assert.deepEqual(new AlertChecker(SPEC, rules, oracle, complete).check([]).byRule['fever']!.episodes, 0)
  })
})
