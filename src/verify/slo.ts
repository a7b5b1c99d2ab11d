import type { LatencySummary } from '../util/histogram.js'
import { DEFAULTS } from '../config/options.js'

export interface Slo {
  readonly p99Ms: number
  readonly maxLost: number
  readonly alertRecall: number
  readonly alertPrecision: number
  readonly detectionP99Ms: number
  readonly rateTolerance: number
  readonly maxScheduleLagMs: number
}

type SloKey =
  'sloP99Ms' | 'sloMaxLost' | 'sloAlertRecall' | 'sloAlertPrecision' | 'sloDetectionP99Ms' | 'sloRateTolerance' | 'sloMaxScheduleLagMs'
/** The SLO options of a resolved config, or of a stored run's config (JSON: any of them may be missing). */
export type SloSettings = { readonly [K in SloKey]?: unknown }

/** The SLOs of a resolved config, or of a stored run's config (the option table's defaults for options it predates). */
export const sloOf = (c: SloSettings): Slo => {
  const n = (k: SloKey, d: number): number => (c[k] === undefined || c[k] === null ? d : Number(c[k]))
  const p99Ms = n('sloP99Ms', DEFAULTS.sloP99Ms)
  return {
    p99Ms,
    maxLost: n('sloMaxLost', DEFAULTS.sloMaxLost),
    alertRecall: n('sloAlertRecall', DEFAULTS.sloAlertRecall),
    alertPrecision: n('sloAlertPrecision', DEFAULTS.sloAlertPrecision),
    detectionP99Ms: n('sloDetectionP99Ms', p99Ms),
    rateTolerance: n('sloRateTolerance', DEFAULTS.sloRateTolerance),
    maxScheduleLagMs: n('sloMaxScheduleLagMs', p99Ms),
  }
}

export interface LatencyEvidence {
  readonly endToEnd: LatencySummary
  readonly brokerHop: LatencySummary
  readonly scheduleLag: LatencySummary
}
