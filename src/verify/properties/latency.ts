import type { LatencyEvidence, Slo } from '../slo.js'
import type { PropertyResult } from '../types.js'
import type { Property } from './types.js'

export function checkLatency(latency: LatencyEvidence, slo: Slo): PropertyResult {
  const e = latency.endToEnd
  const p4Pass = e.count > 0 && e.p99Ms <= slo.p99Ms
  return {
    id: 'P4',
    name: 'latency',
    pass: p4Pass,
    summary: e.count === 0 ? 'no latency was recorded' : `end-to-end p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms (SLO ≤ ${slo.p99Ms} ms), max ${e.maxMs} ms; broker hop p99 ${latency.brokerHop.p99Ms} ms`,
    evidence: { sloP99Ms: slo.p99Ms, endToEnd: e, brokerHop: latency.brokerHop, scheduleLag: latency.scheduleLag, measuredFrom: 'intended send time (open-loop schedule)', measuredTo: 'commit of the batch holding the reading' },
  }
}

/** P4 latency: end-to-end p99 from the intended send time to the commit, against the SLO. */
export const latency: Property = { id: 'P4', name: 'latency', lane: 'main', check: async (ctx) => Promise.resolve(checkLatency(ctx.latency, ctx.slo)) }
