import { mergeEncoded } from '../util/histogram.js'
import type { LatencyDistribution } from './timeline.js'

/** Percentiles of the spectrum: dense towards the tail, where latency problems live. */
export const SPECTRUM = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100] as const

/** The merged histogram's value (ms) at each percentile of SPECTRUM; empty when nothing was recorded. */
export function percentileSpectrum(encoded: readonly string[]): Array<{ percentile: number; ms: number }> {
  const h = mergeEncoded(encoded)
  try {
    if (h.totalCount === 0) return []
    return SPECTRUM.map((p) => ({ percentile: p, ms: Math.round(p === 100 ? h.maxValue : h.getValueAtPercentile(p)) / 1000 }))
  } finally {
    h.destroy()
  }
}

export const latencyDistribution = (h: {
  readonly endToEnd: readonly string[]
  readonly brokerHop: readonly string[]
}): LatencyDistribution => ({
  endToEnd: percentileSpectrum(h.endToEnd),
  brokerHop: percentileSpectrum(h.brokerHop),
})
