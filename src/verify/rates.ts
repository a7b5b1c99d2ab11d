import { offeredBy, type Spike } from '../sim/schedule.js'
import type { LatencySummary } from '../util/histogram.js'

/** One sample a second during a run: seconds since the load's t0, cumulative readings sent and committed. */
export interface RateSample {
  readonly t: number
  readonly sent: number
  readonly ingested: number
}

/** What P6 needs, stored with the run (runs.rates) so `iotbench verify` judges it again. */
export interface RateRecord {
  readonly rate: number
  readonly spikes: readonly Spike[]
  /** Readings the schedule offers in the whole run, and the seconds it takes to offer them. */
  readonly offered: number
  readonly plannedSeconds: number
  readonly samples: readonly RateSample[]
}

/**
 * The resolution of the sent counts: the simulators post progress every 250 ms and the main thread
 * samples once a second, so a count read at time t may be up to 1.25 s old. (With 0.5 s, 2-second runs
 * on a busy machine failed with 95 % "sent by the end" although every reading went out on time.)
 */
const PROGRESS_SLACK_S = 1.25

export interface RateVerdict {
  readonly pass: boolean
  readonly summary: string
  readonly evidence: Record<string, unknown>
}

/**
 * P6 throughput. Pass rule (tolerance from the profile's slo.rateTolerance):
 *  - send: by the end of the planned load (plus slo.maxScheduleLagMs and the half second the
 *    simulators take to report progress), the simulators sent ≥ offered × tolerance;
 *  - ingest: by the end of the load plus the latency SLO (slo.p99Ms), the ingest committed
 *    ≥ offered × tolerance (a pipeline that keeps up commits each reading within its latency budget);
 *  - back-pressure is never silent: the simulators' schedule lag p99 ≤ slo.maxScheduleLagMs (an
 *    open-loop publisher that falls behind shows it here and in P4, never as a lower offered rate).
 * The timeline (offered, sent and committed readings per second) is the evidence.
 */
export function checkRates(
  r: RateRecord,
  scheduleLag: LatencySummary,
  tolerance: number,
  maxScheduleLagMs: number,
  latencyBudgetMs: number,
): RateVerdict {
  const s = r.samples
  const offeredRate = r.offered / Math.max(1e-9, r.plannedSeconds)
  // Cumulative sent at the end of the planned load (interpolated between the samples around it).
  const at = (t: number, k: 'sent' | 'ingested'): number => {
    let prev = { t: 0, sent: 0, ingested: 0 }
    for (const x of s) {
      if (x.t >= t) return prev[k] + ((x[k] - prev[k]) * (t - prev.t)) / Math.max(1e-9, x.t - prev.t)
      prev = x
    }
    return prev[k]
  }
  const sentAt = (t: number): number => at(t, 'sent')
  const sentByEnd = Math.round(sentAt(r.plannedSeconds + maxScheduleLagMs / 1000 + PROGRESS_SLACK_S))
  const sendRatio = r.offered > 0 ? sentByEnd / r.offered : 1
  const ingestSeconds = r.plannedSeconds + latencyBudgetMs / 1000
  const ingestedInTime = Math.round(at(ingestSeconds, 'ingested'))
  const ingestRatio = r.offered > 0 ? ingestedInTime / r.offered : 1
  const ingestRate = ingestedInTime / Math.max(1e-9, ingestSeconds)
  const timeline = s.map((x, i) => {
    const p = i > 0 ? s[i - 1] : { t: 0, sent: 0, ingested: 0 }
    const dt = Math.max(1e-9, x.t - p.t)
    const offered =
      offeredBy(r.rate, Math.min(x.t, r.plannedSeconds), r.spikes) - offeredBy(r.rate, Math.min(p.t, r.plannedSeconds), r.spikes)
    return {
      t: Math.round(x.t * 10) / 10,
      offeredPerS: Math.round(offered / dt),
      sentPerS: Math.round((x.sent - p.sent) / dt),
      ingestedPerS: Math.round((x.ingested - p.ingested) / dt),
    }
  })
  const lagOk = scheduleLag.count === 0 || scheduleLag.p99Ms <= maxScheduleLagMs
  const pass = s.length > 0 && sendRatio >= tolerance && ingestRatio >= tolerance && lagOk
  const why: string[] = []
  if (s.length === 0) why.push('no rate samples were recorded')
  if (sendRatio < tolerance)
    why.push(
      `sent ${sentByEnd} of ${r.offered} offered by the end of the load (${(sendRatio * 100).toFixed(1)} % < ${tolerance * 100} %): the generator was the limit`,
    )
  if (ingestRatio < tolerance)
    why.push(
      `ingest kept up with ${(ingestRatio * 100).toFixed(1)} % of the offered load (${ingestedInTime} of ${r.offered} committed within ${latencyBudgetMs} ms of the load's end) < ${tolerance * 100} %`,
    )
  if (!lagOk) why.push(`back-pressure: the simulators fell behind their schedule, lag p99 ${scheduleLag.p99Ms} ms > ${maxScheduleLagMs} ms`)
  return {
    pass,
    summary: pass
      ? `offered ${Math.round(offeredRate)}/s; sent ${(sendRatio * 100).toFixed(1)} % on schedule, committed ${(ingestRatio * 100).toFixed(1)} % within the latency budget (${Math.round(ingestRate)}/s), schedule lag p99 ${scheduleLag.p99Ms} ms`
      : why.join('; '),
    evidence: {
      tolerance,
      maxScheduleLagMs,
      offeredPerS: Math.round(offeredRate),
      offered: r.offered,
      plannedSeconds: r.plannedSeconds,
      sentByEndOfLoad: sentByEnd,
      sendRatio: Math.round(sendRatio * 1000) / 1000,
      ingestedInTime,
      ingestedPerS: Math.round(ingestRate),
      ingestSeconds: Math.round(ingestSeconds * 10) / 10,
      ingestRatio: Math.round(ingestRatio * 1000) / 1000,
      scheduleLag,
      timeline,
      rule: 'sent by the end of the load (+ maxScheduleLagMs + 1.25 s of progress sampling) ≥ offered × tolerance; committed by the end of the load + slo.p99Ms ≥ offered × tolerance; schedule lag p99 ≤ maxScheduleLagMs',
    },
  }
}
