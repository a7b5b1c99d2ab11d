import type { LatencySummary } from '../util/histogram.js'

export interface Slo {
  readonly p99Ms: number
  readonly maxLost: number
  readonly alertRecall: number
  readonly alertPrecision: number
  readonly detectionP99Ms: number
  readonly rateTolerance: number
  readonly maxScheduleLagMs: number
}

/** The SLOs of a resolved config, or of a stored run's config (defaults for options it predates). */
export const sloOf = (c: Readonly<Record<string, unknown>>): Slo => {
  const n = (k: string, d: number): number => (c[k] === undefined || c[k] === null ? d : Number(c[k]))
  return {
    p99Ms: n('sloP99Ms', 2000),
    maxLost: n('sloMaxLost', 0),
    alertRecall: n('sloAlertRecall', 1),
    alertPrecision: n('sloAlertPrecision', 1),
    detectionP99Ms: n('sloDetectionP99Ms', n('sloP99Ms', 2000)),
    rateTolerance: n('sloRateTolerance', 0.9),
    maxScheduleLagMs: n('sloMaxScheduleLagMs', n('sloP99Ms', 2000)),
  }
}

export interface LatencyEvidence {
  readonly endToEnd: LatencySummary
  readonly brokerHop: LatencySummary
  readonly scheduleLag: LatencySummary
}
