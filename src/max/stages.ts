import type { MetricsHub } from '../metrics/hub.js'

/** Where the ingest's time went in a run, from the metrics every run records (src/metrics/*). */
export interface StageTimes {
  /** Seconds the ingest threads spent writing batches (COPY per kind, dead letters, COMMIT), all threads. */
  readonly copySeconds: number
  readonly batches: number
  readonly meanCopyMs: number
  readonly meanBatchRows: number
  /** copySeconds / (ingest threads × seconds from the schedule's start to the ingest's stop): 1 = always writing. */
  readonly copyShare: number
  readonly ingestThreads: number
  readonly seconds: number
}

export function stageTimes(hub: MetricsHub, ingestThreads: number, seconds: number): StageTimes {
  const sum = (id: 'copySeconds' | 'batchRows'): { sum: number; count: number } => {
    let s = 0
    let c = 0
    for (const h of hub.histogramTotal(id).values()) {
      s += h.sum
      c += h.count
    }
    return { sum: s, count: c }
  }
  const copy = sum('copySeconds')
  const rows = sum('batchRows')
  const r3 = (x: number): number => Math.round(x * 1000) / 1000
  return {
    copySeconds: r3(copy.sum),
    batches: copy.count,
    meanCopyMs: copy.count ? r3((copy.sum / copy.count) * 1000) : 0,
    meanBatchRows: rows.count ? Math.round(rows.sum / rows.count) : 0,
    copyShare: seconds > 0 && ingestThreads > 0 ? r3(copy.sum / (ingestThreads * seconds)) : 0,
    ingestThreads,
    seconds: r3(seconds),
  }
}
