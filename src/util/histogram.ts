import * as hdr from 'hdr-histogram-js'

/** Latencies are recorded in microseconds; reports speak milliseconds. */
let wasmReady: Promise<void> | undefined
/** Each thread must initialise WebAssembly itself before building a histogram. */
export const initHistograms = (): Promise<void> => (wasmReady ??= hdr.initWebAssembly())

export const newHistogram = (): hdr.Histogram =>
  hdr.build({ useWebAssembly: true, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000 })

export const recordMs = (h: hdr.Histogram, ms: number): void => h.recordValue(Math.max(0, Math.round(ms * 1000)))

export const encodeHistogram = (h: hdr.Histogram): string => hdr.encodeIntoCompressedBase64(h)

/** Merges encoded histograms exactly (never averages percentiles). */
export function mergeEncoded(encoded: readonly string[]): hdr.Histogram {
  const total = newHistogram()
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 32, true)
    total.add(h)
    h.destroy()
  }
  return total
}

export interface LatencySummary {
  readonly count: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

const ms = (us: number): number => Math.round(us) / 1000
export function summarize(h: hdr.Histogram): LatencySummary {
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: Math.round(h.mean) / 1000,
  }
}

export const summarizeEncoded = (encoded: readonly string[]): LatencySummary => {
  const h = mergeEncoded(encoded)
  const s = summarize(h)
  h.destroy()
  return s
}

export type { Histogram } from 'hdr-histogram-js'
