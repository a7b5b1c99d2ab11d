import { deviceAt, fleetSize, type Device } from '../fleet.js'
import { lookback, type AlertRules, type NamedRule } from '../alerts/rules.js'
import { anomalyWindows } from '../sim/anomalies.js'
import { contextOf, oracleFor, type Oracle, type OracleSpec } from '../sim/oracle.js'
import { raisesOf } from './alert-raises.js'

export { raisesOf } from './alert-raises.js'

/**
 * P5 alerts, checked against the ground truth: the generator's anomaly windows plus the rules as data.
 * This module never imports the ingest's rule engine: it evaluates each rule's condition itself, on
 * the oracle's values, to learn where an injected anomaly first became visible to the rule.
 *
 * For a rule that maps to an anomaly kind, each episode (windows of that kind merged when closer than
 * the rule's look-back) is:
 *   ok            its first alert came within maxDelayReadings of the first reading meeting the rule
 *   late          its first alert came later than that
 *   missed        the oracle's values met the rule in the episode, and no alert came
 *   undetectable  the values never met the rule (e.g. a heat while the cow rests): not required
 * Extra alerts inside an episode are `repeated` (they map to it); an alert outside every episode
 * (its look-back included) is `spurious`, unless it sits in a window of an anomaly the rule lists in
 * `alsoFrom` (a probe stuck at a warm value trips the excursion rule): `explained`, and mapped. A rule with no anomaly (low battery) is checked against its
 * own condition on the oracle's values: every raise must sit where the oracle met the condition.
 */
export interface StoredAlert {
  readonly id: number
  readonly device: string
  readonly rule: string
  readonly seq: number
  /** Intended send time of the triggering reading, and when the rule fired (epoch ms). */
  readonly sentMs: number
  readonly raisedMs: number
}

export interface AlertSample {
  readonly device: string
  readonly rule: string
  readonly seq: number
  readonly detail: string
  readonly alertId?: number
}

export interface RuleCounts {
  episodes: number
  detectable: number
  ok: number
  late: number
  missed: number
  undetectable: number
  raised: number
  mapped: number
  repeated: number
  explained: number
  spurious: number
}

export interface AlertReport {
  readonly counts: RuleCounts
  readonly byRule: Record<string, RuleCounts>
  readonly missed: AlertSample[]
  readonly late: AlertSample[]
  readonly spurious: AlertSample[]
  readonly undetectable: AlertSample[]
  /** Readings from the episode's start to its first alert, per detected episode. */
  readonly delaysReadings: number[]
  /** Intended send time of the triggering reading → rule fired, ms, per raise. */
  readonly delaysMs: number[]
}

const SAMPLES = 20
const zero = (): RuleCounts => ({
  episodes: 0,
  detectable: 0,
  ok: 0,
  late: 0,
  missed: 0,
  undetectable: 0,
  raised: 0,
  mapped: 0,
  repeated: 0,
  explained: 0,
  spurious: 0,
})

interface Episode {
  from: number
  to: number
  end: number
  first?: number
}

/** The run constants the checker needs: the oracle's, and how many readings each device sent. */
export interface AlertSpec extends OracleSpec {
  readonly perDevice: number
}

/**
 * What the oracle expects of one (device, rule), from the seed and the rules alone — no stored alert
 * takes part, so it can be computed while the run's load is under way and stored with the run
 * (src/verify/oracle-digests.ts), leaving P5 only the matching of the run's alerts.
 *   episodes  [from, to, end, first] per episode of the rule's anomaly; first −1: the values never met the rule
 *   explains  [from, to) of windows of the anomalies the rule's alsoFrom lists
 *   raises    for a plain condition, the seqs where the oracle's values raise it; absent when not
 *             walked (the last reading does not meet the rule, so it never did; walked on demand if
 *             the run raised it anyway)
 */
export interface RuleExpectation {
  readonly episodes?: ReadonlyArray<readonly [number, number, number, number]>
  readonly explains?: ReadonlyArray<readonly [number, number]>
  readonly raises?: readonly number[]
}
/** A device's expectations, by rule name. */
export type DeviceExpectations = Readonly<Record<string, RuleExpectation>>

export class AlertChecker {
  private oracleCache: Oracle | undefined
  readonly report: AlertReport = {
    counts: zero(),
    byRule: {},
    missed: [],
    late: [],
    spurious: [],
    undetectable: [],
    delaysReadings: [],
    delaysMs: [],
  }

  /**
   * `expectations`: precomputed per device id (`expectationsOf(device, true)` of the same spec and
   * rules); a device without them has them computed here, from the oracle.
   */
  constructor(
    private readonly manifest: AlertSpec,
    private readonly rules: AlertRules,
    oracle?: Oracle,
    private readonly expectations?: ReadonlyMap<string, DeviceExpectations>,
  ) {
    this.oracleCache = oracle
  }

  private get oracle(): Oracle {
    return (this.oracleCache ??= oracleFor(this.manifest))
  }

  private counts(rule: string): RuleCounts {
    return (this.report.byRule[rule] ??= zero())
  }

  private add(c: RuleCounts, k: keyof RuleCounts, n = 1): void {
    c[k] += n
    this.report.counts[k] += n
  }

  private sample(list: AlertSample[], s: AlertSample): void {
    if (list.length < SAMPLES) list.push(s)
  }

  /**
   * The oracle's expectations of every rule of the device's kind. `full` also walks a plain
   * condition whose last reading does not meet it (what a stored expectation needs: it cannot know
   * whether the run will raise it).
   */
  expectationsOf(device: Device, full = false): DeviceExpectations {
    const out: Record<string, RuleExpectation> = {}
    const perDevice = this.manifest.perDevice
    let windows: ReturnType<typeof anomalyWindows> | undefined
    for (const named of this.rules[device.kind]) {
      const rule = named.rule
      if (rule.anomaly === null) {
        const lastMeets = raisesOf(rule, device, this.oracle, Math.max(0, perDevice - lookback(rule)), perDevice).length > 0
        out[named.name] = lastMeets || full ? { raises: raisesOf(rule, device, this.oracle, 0, perDevice) } : {}
        continue
      }
      windows ??= anomalyWindows(contextOf(this.manifest), device, perDevice)
      const back = lookback(rule)
      const episodes: Episode[] = []
      for (const w of windows) {
        if (w.kind !== rule.anomaly) continue
        const last = episodes[episodes.length - 1]
        // An alert raised in the previous episode may still be open (it clears at the latest
        // resetAfterReadings after the condition last held): closer episodes are one.
        if (last && w.fromSeq <= last.to + back + (rule.resetAfterReadings ?? 0)) last.to = Math.max(last.to, w.toSeq)
        else episodes.push({ from: w.fromSeq, to: w.toSeq, end: 0 })
      }
      for (const e of episodes) {
        e.end = Math.min(perDevice, e.to + back)
        e.first = raisesOf(rule, device, this.oracle, Math.max(0, e.from - back), e.end, e.from).find((x) => x >= e.from)
      }
      out[named.name] = {
        episodes: episodes.map((e) => [e.from, e.to, e.end, e.first ?? -1] as const),
        explains: windows.filter((w) => rule.alsoFrom?.includes(w.kind)).map((w) => [w.fromSeq, w.toSeq] as const),
      }
    }
    return out
  }

  /** Checks every device of the fleet; `alerts` are the run's raises (any order). */
  check(alerts: readonly StoredAlert[]): AlertReport {
    const byDeviceRule = new Map<string, StoredAlert[]>()
    for (const a of alerts) {
      const key = `${a.device}\u0000${a.rule}`
      const list = byDeviceRule.get(key) ?? []
      list.push(a)
      byDeviceRule.set(key, list)
    }
    const seen = new Set<string>()
    for (let i = 0; i < fleetSize(this.manifest.fleet); i++) {
      const device = deviceAt(this.manifest.fleet, i)
      const stored = this.expectations?.get(device.id)
      const expect = stored && this.rules[device.kind].every((r) => stored[r.name]) ? stored : this.expectationsOf(device)
      for (const named of this.rules[device.kind]) {
        const key = `${device.id}\u0000${named.name}`
        seen.add(key)
        const list = (byDeviceRule.get(key) ?? []).sort((a, b) => a.seq - b.seq || a.id - b.id)
        if (named.rule.anomaly === null) this.checkCondition(device, named, list, expect[named.name])
        else this.checkEpisodes(device, named, list, expect[named.name])
      }
    }
    for (const [key, list] of byDeviceRule) {
      if (seen.has(key)) continue
      for (const a of list) {
        const c = this.counts(a.rule)
        this.add(c, 'raised')
        this.add(c, 'spurious')
        this.sample(this.report.spurious, {
          device: a.device,
          rule: a.rule,
          seq: a.seq,
          alertId: a.id,
          detail: 'no such device or rule in this run',
        })
      }
    }
    for (const a of alerts) this.report.delaysMs.push(Math.max(0, a.raisedMs - a.sentMs))
    return this.report
  }

  private checkEpisodes(device: Device, named: NamedRule, alerts: readonly StoredAlert[], expect: RuleExpectation): void {
    const rule = named.rule
    const c = this.counts(named.name)
    const back = lookback(rule)
    const episodes: Episode[] = (expect.episodes ?? []).map(([from, to, end, first]) => ({ from, to, end, ...(first >= 0 && { first }) }))
    const explains = expect.explains ?? []
    let k = 0
    const hits = new Map<Episode, StoredAlert[]>()
    for (const a of alerts) {
      this.add(c, 'raised')
      while (k < episodes.length && episodes[k].end <= a.seq) k++
      const e = episodes[k]
      if (e && e.from <= a.seq && a.seq < e.end) {
        this.add(c, 'mapped')
        const h = hits.get(e) ?? []
        h.push(a)
        hits.set(e, h)
      } else if (explains.some(([from, to]) => from <= a.seq && a.seq < to + back)) {
        this.add(c, 'mapped')
        this.add(c, 'explained')
      } else {
        this.add(c, 'spurious')
        this.sample(this.report.spurious, {
          device: device.id,
          rule: named.name,
          seq: a.seq,
          alertId: a.id,
          detail: `no ${rule.anomaly} injected at this seq`,
        })
      }
    }
    for (const e of episodes) {
      this.add(c, 'episodes')
      const h = hits.get(e) ?? []
      if (h.length > 1) this.add(c, 'repeated', h.length - 1)
      const where = `${rule.anomaly} [${e.from}, ${e.to})`
      if (e.first === undefined) {
        this.add(c, 'undetectable')
        this.sample(this.report.undetectable, {
          device: device.id,
          rule: named.name,
          seq: e.from,
          detail: `${where}: the values never met the rule`,
        })
        continue
      }
      this.add(c, 'detectable')
      const a = h[0]
      if (!a) {
        this.add(c, 'missed')
        this.sample(this.report.missed, {
          device: device.id,
          rule: named.name,
          seq: e.first,
          detail: `${where}: visible to the rule from seq ${e.first}, no alert`,
        })
        continue
      }
      this.report.delaysReadings.push(a.seq - e.from)
      if (a.seq - e.first > rule.maxDelayReadings) {
        this.add(c, 'late')
        this.sample(this.report.late, {
          device: device.id,
          rule: named.name,
          seq: a.seq,
          alertId: a.id,
          detail: `${where}: visible from seq ${e.first}, alert at seq ${a.seq} (allowed ${rule.maxDelayReadings} readings)`,
        })
      } else this.add(c, 'ok')
    }
  }

  /**
   * A plain condition (no injected anomaly). The battery only drains in the sensor model, so a device
   * whose last reading does not meet the rule never met it: the oracle is walked only for the others,
   * and for any device the run raised it on.
   */
  private checkCondition(device: Device, named: NamedRule, alerts: readonly StoredAlert[], expect: RuleExpectation): void {
    const rule = named.rule
    const c = this.counts(named.name)
    const expected = expect.raises ?? (alerts.length > 0 ? raisesOf(rule, device, this.oracle, 0, this.manifest.perDevice) : [])
    let j = 0
    for (const s of expected) {
      this.add(c, 'episodes')
      this.add(c, 'detectable')
      while (j < alerts.length && alerts[j].seq < s) {
        this.spuriousCondition(c, device, named, alerts[j])
        j++
      }
      const a = alerts[j]
      if (a && a.seq - s <= rule.maxDelayReadings) {
        this.add(c, 'raised')
        this.add(c, 'mapped')
        this.add(c, 'ok')
        this.report.delaysReadings.push(a.seq - s)
        j++
      } else {
        this.add(c, 'missed')
        this.sample(this.report.missed, { device: device.id, rule: named.name, seq: s, detail: 'the oracle met the rule here, no alert' })
      }
    }
    for (; j < alerts.length; j++) this.spuriousCondition(c, device, named, alerts[j])
  }

  private spuriousCondition(c: RuleCounts, device: Device, named: NamedRule, a: StoredAlert): void {
    this.add(c, 'raised')
    this.add(c, 'spurious')
    this.sample(this.report.spurious, {
      device: device.id,
      rule: named.name,
      seq: a.seq,
      alertId: a.id,
      detail: 'the oracle’s values do not meet the rule here',
    })
  }
}

/** Exact percentiles of a small list (alerts are few): nearest rank. */
export function percentiles(xs: readonly number[]): { count: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b)
  const at = (p: number): number => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0)
  return { count: s.length, p50: at(50), p90: at(90), p99: at(99), max: s.length ? s[s.length - 1] : 0 }
}
