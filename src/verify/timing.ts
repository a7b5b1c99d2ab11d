import type { HostLoad } from '../metrics/host.js'
import type { PropertyResult } from './types.js'
import { holds } from './properties/types.js'

type Evidence = Record<string, unknown>
const count = (e: Evidence, k: string): number => {
  const v = e[k]
  return Array.isArray(v) ? v.length : typeof v === 'number' ? v : 0
}

/**
 * Whether a failed property failed on timing alone, so a saturated host can explain it: P4 (latency)
 * and P6 (throughput) are timing; P5 only when no anomaly was missed or alerted late (in readings, which
 * a slow host cannot change) and no alert was spurious, i.e. the wall-clock detection delay failed; P9
 * only when every client got every reading and alert once, in order, i.e. its latency failed.
 * Everything else — P1–P3, P7, P8 and the correctness halves of P5 and P9 — is never excused.
 */
export function failedOnTimingOnly(p: PropertyResult): boolean {
  if (p.pass) return false
  const e = (p.evidence ?? {}) as Evidence
  switch (p.id) {
    case 'P4':
    case 'P6':
      return true
    case 'P5': {
      const c = (e['counts'] ?? {}) as Evidence
      return count(c, 'missed') === 0 && count(c, 'late') === 0 && count(c, 'spurious') === 0
    }
    case 'P9':
      return ['missing', 'duplicated', 'unexpected', 'alertMismatches', 'failedClients'].every((k) => count(e, k) === 0)
    default:
      return false
  }
}

/** The verdict's word on a failure that only timing made, on a saturated host (undefined otherwise). */
export interface TimingOnSaturatedHost {
  readonly ids: readonly string[]
  readonly summary: string
}

export function timingOnSaturatedHost(
  properties: readonly PropertyResult[],
  host: HostLoad | undefined,
): TimingOnSaturatedHost | undefined {
  const failed = properties.filter((p) => !holds(p))
  if (!host?.saturated || failed.length === 0 || !failed.every(failedOnTimingOnly)) return undefined
  const ids = failed.map((p) => p.id)
  return {
    ids,
    summary: `${ids.join(', ')} failed on timing alone while the host was saturated (${host.why.join('; ')}); every correctness property held — rerun on a quieter host`,
  }
}
