import type pg from 'pg'
import { copyRows } from '../db/copy-rows.js'
import { deviceAt, fleetSize, type FleetShape } from '../fleet.js'
import { KINDS, KIND_NAMES } from '../kinds.js'
import type { TimelinePoint } from '../report/timeline.js'
import type { UnackedRange } from '../sim/messages.js'
import { intendedMs, type Schedule } from '../sim/schedule.js'
import type { FaultRecord } from './injector.js'

/** Readings missing from the database whose intended send time falls in one fault window (or none). */
export interface WindowLoss {
  readonly label: string
  /** The window the readings were attributed to, seconds since the load started (the fault ± grace). */
  readonly fromS: number
  readonly toS: number
  /** Missing readings the broker had acknowledged (QoS 1), or that were sent (QoS 0): P1's "lost". */
  lost: number
  /** Missing readings never acknowledged (published, no PUBACK): allowed by P1. */
  neverAcknowledged: number
  /** Missing because a full device queue dropped them (the overflow policy): counted, never published. */
  queueOverflow: number
  /** The first few, as "device/seq". */
  readonly samples: string[]
}

/** How long latency took to come back after a fault ended. */
export interface FaultRecovery {
  readonly label: string
  readonly endS: number
  /** The pre-fault band's top (see preFaultBand); null if there is no undisturbed second to measure it on. */
  readonly preFaultP99Ms: number | null
  /** The worst one-second p99 from the fault's start until it recovered. */
  readonly peakP99Ms: number
  /** Seconds from the fault's end until the one-second p99 stayed ≤ 1.5 × the pre-fault band for 3 s; null: not within the run. */
  readonly recoveredToBandS: number | null
  /** Seconds from the fault's end until the one-second p99 stayed ≤ the SLO for 3 s; null: not within the run. */
  readonly recoveredUnderSloS: number | null
}

export interface FaultReport {
  readonly schedule: readonly FaultRecord[]
  readonly loss: {
    /** Seconds before a fault's start and after its end still attributed to it. */
    readonly graceBeforeS: number
    readonly graceAfterS: number
    readonly windows: WindowLoss[]
    /** Missing readings outside every fault window. */
    readonly outside: WindowLoss
  }
  readonly recovery: FaultRecovery[]
}

export const GRACE_BEFORE_S = 1
export const GRACE_AFTER_S = 2
const SAMPLES = 10
const HOLD_SECONDS = 3
const BAND_FACTOR = 1.5

class RangeIndex {
  private readonly byDevice = new Map<number, Array<readonly [number, number]>>()
  constructor(ranges: readonly UnackedRange[]) {
    for (const [d, from, to] of ranges) this.byDevice.set(d, [...(this.byDevice.get(d) ?? []), [from, to]])
  }
  has(d: number, seq: number): boolean {
    return this.byDevice.get(d)?.some(([from, to]) => seq >= from && seq < to) ?? false
  }
}

export interface LossInput {
  readonly dbRunId: number
  readonly fleet: FleetShape
  readonly perDevice: number
  readonly schedule: Schedule
  readonly unacked: readonly UnackedRange[]
  readonly overflow: readonly UnackedRange[]
  /** The timeline's origin (epoch ms): fault windows and intended send times are compared in its seconds. */
  readonly originMs: number
}

/**
 * Attributes every missing reading of the run to the fault window its intended send time falls in,
 * by class (lost, never acknowledged, dropped by a device queue). Reads only (device, seq) from the
 * database; the expected set and the send times come from the schedule, as the verifier's do.
 */
export async function attributeLoss(client: pg.Client, input: LossInput, records: readonly FaultRecord[]): Promise<FaultReport['loss']> {
  const n = fleetSize(input.fleet)
  const idOf = new Map<string, number>()
  for (let i = 0; i < n; i++) idOf.set(deviceAt(input.fleet, i).id, i)
  const stored = new Uint8Array(n * input.perDevice)
  for (const kind of KIND_NAMES) {
    const q = `SELECT device, seq FROM ${KINDS[kind].table} WHERE run_id = ${Number(input.dbRunId)}`
    for await (const [device, seq] of copyRows(client, q)) {
      const d = idOf.get(device ?? '')
      const s = Number(seq)
      if (d !== undefined && s >= 0 && s < input.perDevice) stored[d * input.perDevice + s] = 1
    }
  }
  const empty = (label: string, fromS: number, toS: number): WindowLoss => ({
    label,
    fromS,
    toS,
    lost: 0,
    neverAcknowledged: 0,
    queueOverflow: 0,
    samples: [],
  })
  const windows = records.map((r) => empty(r.label, Math.max(0, r.startS - GRACE_BEFORE_S), r.endS + GRACE_AFTER_S))
  const outside = empty('outside every fault window', 0, Infinity)
  const unacked = new RangeIndex(input.unacked)
  const overflow = new RangeIndex(input.overflow)
  for (let d = 0; d < n; d++) {
    for (let seq = 0; seq < input.perDevice; seq++) {
      if (stored[d * input.perDevice + seq]) continue
      const t = (intendedMs(input.schedule, d, seq) - input.originMs) / 1000
      const w = windows.find((x) => t >= x.fromS && t <= x.toS) ?? outside
      if (overflow.has(d, seq)) w.queueOverflow++
      else if (unacked.has(d, seq)) w.neverAcknowledged++
      else w.lost++
      if (w.samples.length < SAMPLES) w.samples.push(`${deviceAt(input.fleet, d).id}/${seq}`)
    }
  }
  return { graceBeforeS: GRACE_BEFORE_S, graceAfterS: GRACE_AFTER_S, windows, outside: { ...outside, toS: -1 } }
}

/**
 * The pre-fault band's top: the worst one-second p99 of the last 10 seconds with data before the first
 * fault (the undisturbed baseline); when the schedule starts too early for 3 such seconds, the last 10
 * seconds before this fault that no fault (nor its first 5 s after) disturbed.
 */
function preFaultBand(points: readonly TimelinePoint[], records: readonly FaultRecord[], r: FaultRecord): number | null {
  const first = Math.min(...records.map((o) => o.startS))
  let before = points.filter((p) => p.t < first && p.latencyCount > 0).slice(-10)
  if (before.length < 3) {
    const disturbed = (t: number): boolean => records.some((o) => t > o.startS && t <= o.endS + 5)
    before = points.filter((p) => p.t < r.startS && p.latencyCount > 0 && !disturbed(p.t)).slice(-10)
  }
  return before.length ? Math.max(...before.map((p) => p.p99Ms)) : null
}

/**
 * Recovery time per fault from the one-second timeline: from the fault's end, the first second from
 * which the p99 of the readings committed in each second stayed within the bound for 3 seconds with
 * data. A second with nothing committed is not a recovered second.
 */
export function recoveryTimes(points: readonly TimelinePoint[], records: readonly FaultRecord[], sloP99Ms: number): FaultRecovery[] {
  return records.map((r) => {
    const pre = preFaultBand(points, records, r)
    const after = points.filter((p) => p.t >= r.endS)
    const settle = (bound: number): number | null => {
      let run = 0
      for (let i = 0; i < after.length; i++) {
        const p = after[i]
        run = p.latencyCount > 0 && p.p99Ms <= bound ? run + 1 : 0
        if (run === HOLD_SECONDS) return Math.max(0, Math.round((after[i - HOLD_SECONDS + 1].t - 1 - r.endS) * 1000) / 1000)
      }
      return null
    }
    const recoveredToBandS = pre === null ? null : settle(pre * BAND_FACTOR)
    const recoveredUnderSloS = settle(sloP99Ms)
    const until = r.endS + Math.max(recoveredToBandS ?? 0, recoveredUnderSloS ?? 0) + HOLD_SECONDS
    const during = points.filter((p) => p.t >= r.startS && p.t <= until && p.latencyCount > 0)
    return {
      label: r.label,
      endS: r.endS,
      preFaultP99Ms: pre,
      peakP99Ms: during.length ? Math.max(...during.map((p) => p.p99Ms)) : 0,
      recoveredToBandS,
      recoveredUnderSloS,
    }
  })
}
