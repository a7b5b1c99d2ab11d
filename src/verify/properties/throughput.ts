import type { LatencySummary } from '../../util/histogram.js'
import { checkRates, type RateRecord } from '../rates.js'
import type { Slo } from '../slo.js'
import type { PropertyResult } from '../types.js'
import { notApplicable, type Property } from './types.js'

export function checkThroughput(rates: RateRecord | undefined, scheduleLag: LatencySummary, slo: Slo): PropertyResult {
  // Only a run stored before P6 existed has no timeline (a run records one even when its load fails).
  if (!rates) return notApplicable({ id: 'P6', name: 'throughput' }, 'this run predates the rate timeline (runs.rates)')
  const v = checkRates(rates, scheduleLag, slo.rateTolerance, slo.maxScheduleLagMs, slo.p99Ms)
  return { id: 'P6', name: 'throughput', pass: v.pass, summary: v.summary, evidence: v.evidence }
}

/** P6 throughput: achieved against offered over the run's timeline, back-pressure never silent. */
export const throughput: Property = {
  id: 'P6',
  name: 'throughput',
  lane: 'main',
  check: async (ctx) => Promise.resolve(checkThroughput(ctx.rates, ctx.latency.scheduleLag, ctx.slo)),
}
