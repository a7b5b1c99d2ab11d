/**
 * P5's matching rules at their boundaries, on both sides of each: the allowed delay (maxDelayReadings
 * from the first reading that meets the rule), an episode's first and last seq (its look-back
 * included), an `alsoFrom` window plus its look-back, and a plain condition's delay. The expectations
 * are handed to the checker as stored with a run (`expectations`), so each case is one alert at one
 * seq and nothing else moves; the property test (verify-alerts.property.test.ts) covers the generator.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AlertRules } from '../../src/alerts/rules.js'
import { AlertChecker, percentiles, type DeviceExpectations, type RuleCounts, type StoredAlert } from '../../src/verify/alerts.js'

const DEVICE = 'farm01-collar-0001'
const MAX_DELAY = 3
const FOR_READINGS = 2 // the look-back of the rule below
const RULES: AlertRules = {
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
        forReadings: FOR_READINGS,
        clear: { op: '<', value: 39.3 },
        maxDelayReadings: MAX_DELAY,
        alsoFrom: ['heat'],
      },
    },
    {
      name: 'lowBattery',
      kind: 'collar',
      rule: {
        type: 'threshold',
        anomaly: null,
        field: 'battery_pct',
        op: '<',
        value: 20,
        forReadings: 1,
        clear: { op: '>=', value: 25 },
        maxDelayReadings: 2,
      },
    },
  ],
  milk: [],
  chiller: [],
}
// One fever episode: anomaly [10, 20), look-back to 22, the values first meet the rule at 12; a heat
// window [40, 50) that explains fever alerts up to 50 + look-back; the battery rule met at 60.
const EPISODE = { from: 10, to: 20, end: 20 + FOR_READINGS, first: 12 }
const HEAT = { from: 40, to: 50 }
const BATTERY_AT = 60
const expectations = (
  episodes: ReadonlyArray<readonly [number, number, number, number]> = [[EPISODE.from, EPISODE.to, EPISODE.end, EPISODE.first]],
): Map<string, DeviceExpectations> =>
  new Map([[DEVICE, { fever: { episodes, explains: [[HEAT.from, HEAT.to]] }, lowBattery: { raises: [BATTERY_AT] } }]])

const SPEC = {
  seed: 1,
  simStartMs: Date.UTC(2026, 3, 1),
  fleet: { farms: 1, cowsPerFarm: 1, stallsPerFarm: 0, tanksPerFarm: 0 },
  perDevice: 100,
}

let nextId = 1
const alert = (rule: string, seq: number, device = DEVICE): StoredAlert => ({
  id: nextId++,
  device,
  rule,
  seq,
  sentMs: 1000,
  raisedMs: 1000 + seq,
})
/** The checker's counts for the given alerts; the battery alert is on time unless a case moves it. */
function check(alerts: readonly StoredAlert[], withBattery = true, episodes?: Parameters<typeof expectations>[0]) {
  const all = withBattery ? [...alerts, alert('lowBattery', BATTERY_AT)] : alerts
  return new AlertChecker(SPEC, RULES, undefined, expectations(episodes)).check(all)
}
const pick = (c: RuleCounts, keys: ReadonlyArray<keyof RuleCounts>): Partial<RuleCounts> => Object.fromEntries(keys.map((k) => [k, c[k]]))

describe('P5 boundaries (alerts.ts)', () => {
  test('an alert exactly maxDelayReadings after the first visible reading is in time; one more is late', () => {
    const onTime = check([alert('fever', EPISODE.first + MAX_DELAY)])
    assert.deepEqual(pick(onTime.byRule['fever']!, ['ok', 'late', 'missed', 'spurious']), { ok: 1, late: 0, missed: 0, spurious: 0 })
    assert.deepEqual(onTime.delaysReadings, [EPISODE.first + MAX_DELAY - EPISODE.from, 0])
    const late = check([alert('fever', EPISODE.first + MAX_DELAY + 1)])
    assert.deepEqual(pick(late.byRule['fever']!, ['ok', 'late', 'missed', 'spurious']), { ok: 0, late: 1, missed: 0, spurious: 0 })
    assert.equal(late.late[0]?.seq, EPISODE.first + MAX_DELAY + 1)
    assert.match(late.late[0]!.detail, /visible from seq 12, alert at seq 16 \(allowed 3 readings\)/)
  })

  test('an alert before the values meet the rule, inside the episode, is in time', () => {
    const r = check([alert('fever', EPISODE.from)])
    assert.deepEqual(pick(r.byRule['fever']!, ['ok', 'late', 'mapped', 'spurious']), { ok: 1, late: 0, mapped: 1, spurious: 0 })
  })

  test('the episode runs from its first seq to the end of its look-back: one seq outside either side is spurious', () => {
    const before = check([alert('fever', EPISODE.from - 1)])
    assert.deepEqual(pick(before.byRule['fever']!, ['mapped', 'spurious', 'missed']), { mapped: 0, spurious: 1, missed: 1 })
    const lastIn = check([alert('fever', EPISODE.end - 1)])
    assert.deepEqual(pick(lastIn.byRule['fever']!, ['mapped', 'spurious', 'late']), { mapped: 1, spurious: 0, late: 1 })
    const after = check([alert('fever', EPISODE.end)])
    assert.deepEqual(pick(after.byRule['fever']!, ['mapped', 'spurious', 'missed']), { mapped: 0, spurious: 1, missed: 1 })
    assert.equal(after.spurious[0]?.seq, EPISODE.end)
  })

  test('an alsoFrom window explains alerts from its first seq to its end plus the look-back, not one seq more', () => {
    const at = (seq: number) =>
      pick(check([alert('fever', EPISODE.first), alert('fever', seq)]).byRule['fever']!, ['explained', 'spurious', 'mapped', 'raised'])
    assert.deepEqual(at(HEAT.from - 1), { explained: 0, spurious: 1, mapped: 1, raised: 2 })
    assert.deepEqual(at(HEAT.from), { explained: 1, spurious: 0, mapped: 2, raised: 2 })
    assert.deepEqual(at(HEAT.to + FOR_READINGS - 1), { explained: 1, spurious: 0, mapped: 2, raised: 2 })
    assert.deepEqual(at(HEAT.to + FOR_READINGS), { explained: 0, spurious: 1, mapped: 1, raised: 2 })
  })

  test('a second alert in an episode is repeated, not spurious; an episode the values never met is undetectable', () => {
    const r = check([alert('fever', EPISODE.first), alert('fever', EPISODE.first + 1)])
    assert.deepEqual(pick(r.byRule['fever']!, ['ok', 'repeated', 'mapped', 'spurious']), { ok: 1, repeated: 1, mapped: 2, spurious: 0 })
    const u = check([], true, [[EPISODE.from, EPISODE.to, EPISODE.end, -1]])
    assert.deepEqual(pick(u.byRule['fever']!, ['episodes', 'detectable', 'undetectable', 'missed']), {
      episodes: 1,
      detectable: 0,
      undetectable: 1,
      missed: 0,
    })
    assert.equal(u.undetectable[0]?.seq, EPISODE.from)
    const m = check([])
    assert.deepEqual(pick(m.byRule['fever']!, ['detectable', 'missed', 'repeated']), { detectable: 1, missed: 1, repeated: 0 })
    assert.equal(m.missed[0]?.seq, EPISODE.first, 'a missed episode is named by its first visible seq')
  })

  test('an episode visible from seq 0 is detectable; stored expectations without episodes expect none', () => {
    const r = check([alert('fever', 0)], true, [[0, 5, 7, 0]])
    assert.deepEqual(pick(r.byRule['fever']!, ['episodes', 'detectable', 'ok', 'undetectable']), {
      episodes: 1,
      detectable: 1,
      ok: 1,
      undetectable: 0,
    })
    const bare = new AlertChecker(SPEC, RULES, undefined, new Map([[DEVICE, { fever: {}, lowBattery: { raises: [] } }]])).check([
      alert('fever', 3),
    ])
    assert.deepEqual(pick(bare.byRule['fever']!, ['episodes', 'undetectable', 'spurious']), { episodes: 0, undetectable: 0, spurious: 1 })
  })

  test('a plain condition: maxDelayReadings after the oracle met it is in time, one more is missed and spurious, earlier is spurious', () => {
    const battery = (seq: number) =>
      pick(check([alert('lowBattery', seq), alert('fever', EPISODE.first)], false).byRule['lowBattery']!, [
        'episodes',
        'detectable',
        'ok',
        'missed',
        'spurious',
        'mapped',
        'raised',
      ])
    assert.deepEqual(battery(BATTERY_AT), { episodes: 1, detectable: 1, ok: 1, missed: 0, spurious: 0, mapped: 1, raised: 1 })
    assert.deepEqual(battery(BATTERY_AT + 2), { episodes: 1, detectable: 1, ok: 1, missed: 0, spurious: 0, mapped: 1, raised: 1 })
    assert.deepEqual(battery(BATTERY_AT + 3), { episodes: 1, detectable: 1, ok: 0, missed: 1, spurious: 1, mapped: 0, raised: 1 })
    assert.deepEqual(battery(BATTERY_AT - 1), { episodes: 1, detectable: 1, ok: 0, missed: 1, spurious: 1, mapped: 0, raised: 1 })
  })

  test("the samples a person reads: each names the device, rule, seq and alert, with the verdict's words", () => {
    const late = check([alert('fever', 16)]).late
    assert.deepEqual(late, [
      {
        device: DEVICE,
        rule: 'fever',
        seq: 16,
        alertId: late[0]!.alertId,
        detail: 'fever [10, 20): visible from seq 12, alert at seq 16 (allowed 3 readings)',
      },
    ])
    assert.deepEqual(check([]).missed, [
      { device: DEVICE, rule: 'fever', seq: 12, detail: 'fever [10, 20): visible to the rule from seq 12, no alert' },
    ])
    assert.deepEqual(check([], true, [[10, 20, 22, -1]]).undetectable, [
      { device: DEVICE, rule: 'fever', seq: 10, detail: 'fever [10, 20): the values never met the rule' },
    ])
    const spurious = alert('fever', 30)
    assert.deepEqual(check([alert('fever', 12), spurious]).spurious, [
      { device: DEVICE, rule: 'fever', seq: 30, alertId: spurious.id, detail: 'no fever injected at this seq' },
    ])
    const early = alert('lowBattery', 50)
    const battery = check([alert('fever', 12), early], false)
    assert.deepEqual(battery.spurious, [
      { device: DEVICE, rule: 'lowBattery', seq: 50, alertId: early.id, detail: 'the oracle’s values do not meet the rule here' },
    ])
    assert.deepEqual(battery.missed, [
      { device: DEVICE, rule: 'lowBattery', seq: BATTERY_AT, detail: 'the oracle met the rule here, no alert' },
    ])
    const stranger = alert('nosuchrule', 3)
    assert.deepEqual(check([alert('fever', 12), stranger]).spurious, [
      { device: DEVICE, rule: 'nosuchrule', seq: 3, alertId: stranger.id, detail: 'no such device or rule in this run' },
    ])
  })

  test('each sample list keeps the first 20 (in seq order per rule); the counts keep every one', () => {
    const many = Array.from({ length: 25 }, (_, i) => alert('fever', 100 + 24 - i))
    const r = check([alert('fever', 12), ...many])
    assert.equal(r.counts.spurious, 25)
    assert.deepEqual(
      r.spurious.map((s) => s.seq),
      Array.from({ length: 20 }, (_, i) => 100 + i),
    )
    const strangers = check([alert('fever', 12), ...Array.from({ length: 21 }, (_, i) => alert('fever', i, 'farm02-collar-0001'))])
    assert.deepEqual([strangers.counts.spurious, strangers.spurious.length], [21, 20])
    const batteries = check([alert('fever', 12), ...Array.from({ length: 21 }, (_, i) => alert('lowBattery', i))], false)
    assert.deepEqual([batteries.byRule['lowBattery']!.spurious, batteries.spurious.length], [21, 20])
  })

  test('alerts of one (device, rule) are matched in seq order, then by id: the first of an episode decides', () => {
    // Given latest first: the alert at seq 12 is the episode's first, so it is ok and the one at 16 repeated.
    const r = check([alert('fever', 16), alert('fever', 12)])
    assert.deepEqual(pick(r.byRule['fever']!, ['ok', 'late', 'repeated']), { ok: 1, late: 0, repeated: 1 })
    // Two late alerts at one seq: the sample names the lower id.
    const first = alert('fever', 17)
    const second = alert('fever', 17)
    assert.equal(check([first, second]).late[0]?.alertId, first.id)
    assert.equal(check([second, first]).late[0]?.alertId, first.id)
    // A plain condition too: an early (spurious) alert given after the on-time one.
    const b = check([alert('fever', 12), alert('lowBattery', BATTERY_AT), alert('lowBattery', BATTERY_AT - 5)], false).byRule['lowBattery']!
    assert.deepEqual(pick(b, ['ok', 'spurious', 'missed']), { ok: 1, spurious: 1, missed: 0 })
  })

  test('an alert of a device or rule the run does not have is spurious; delays come from the alert times', () => {
    const r = check([alert('fever', EPISODE.first), alert('fever', 3, 'farm09-collar-0001'), alert('nosuchrule', 3)])
    assert.deepEqual(pick(r.counts, ['raised', 'spurious', 'mapped']), { raised: 4, spurious: 2, mapped: 2 })
    assert.deepEqual(
      r.spurious.map((s) => s.detail),
      ['no such device or rule in this run', 'no such device or rule in this run'],
    )
    assert.deepEqual(
      r.delaysMs.sort((a, b) => a - b),
      [3, 3, EPISODE.first, BATTERY_AT],
    )
    const early: StoredAlert = { ...alert('fever', EPISODE.first + 1), sentMs: 2000, raisedMs: 1990 }
    assert.deepEqual(
      check([alert('fever', EPISODE.first), early]).delaysMs,
      [EPISODE.first, 0, BATTERY_AT],
      'raised before its reading was due (clocks apart): 0, not negative',
    )
    assert.deepEqual(percentiles([5, 1, 4, 2, 3]), { count: 5, p50: 3, p90: 5, p99: 5, max: 5 })
    assert.deepEqual(percentiles([]), { count: 0, p50: 0, p90: 0, p99: 0, max: 0 })
  })
})
